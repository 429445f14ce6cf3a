"""What the rules see of one Python file: the collected facts and the questions they ask of them
(where does this value come from, does this call go to Binance, is this a credential?)."""

from __future__ import annotations

import bisect
import dataclasses
import functools
import re
from collections.abc import Iterator, Mapping

import libcst as cst
from libcst.metadata import CodeRange

from bkm_guard import masking, recognizer
from bkm_guard.analyzer import apis
from bkm_guard.analyzer.facts import Facts, Site
from bkm_guard.analyzer.model import Hit, ReplaceWithEnv
from bkm_guard.analyzer.strings import StrValue, string_value
from bkm_guard.hosts import is_binance_host
from bkm_guard.recognizer import Role

_MAX_DEPTH = 6
_PASS_THROUGH = frozenset({"encode", "decode", "strip"})  # methods whose result is still the secret
_URL_HOST_RE = re.compile(r"(?i)\b(?:https?|wss?)://([A-Za-z0-9.\-]+)")
# a host kept on its own and joined into a URL later: `HOST = "fapi.binance.com"`, f"https://{HOST}"
_BARE_HOST_RE = re.compile(r"([A-Za-z0-9.\-]+)(?::\d+)?(?:/\S*)?")
_GENERIC_NAME_PARTS = frozenset({"api", "key", "apikey", "secret", "apisecret", "secretkey", "x", "mbx",
                                 "binance", "sec", "seckey", "k", "s"})


@dataclasses.dataclass(frozen=True)
class Reach:
    """A literal that reaches a credential site, and how."""

    value: StrValue
    replace: cst.BaseExpression  # what an unsafe fix replaces
    env_name: str | None  # the variable of an os.getenv(NAME, default) on the way
    via_name: bool  # it came through a variable or attribute


def env_name_for(name: str, role: Role) -> str:
    """`api_key` → BINANCE_API_KEY, `TESTNET_API_SECRET` → BINANCE_TESTNET_API_SECRET."""
    parts = recognizer.name_parts(name)
    if not parts or set(parts) <= _GENERIC_NAME_PARTS:
        return "BINANCE_API_KEY" if role is Role.KEY else "BINANCE_API_SECRET"
    upper = "_".join(part.upper() for part in parts)
    return upper if upper.startswith("BINANCE_") else f"BINANCE_{upper}"


class Context:
    def __init__(self, source: str, facts: Facts, positions: Mapping[cst.CSTNode, CodeRange]) -> None:
        self.source = source
        self.facts = facts
        self.positions = positions
        self._line_starts = [0, *(m.end() for m in re.finditer("\n", source))]

    # --- positions ----------------------------------------------------------------------------

    def start(self, node: cst.CSTNode) -> tuple[int, int]:
        """1-based line and column of a node."""
        position = self.positions[node].start
        return position.line, position.column + 1

    def lines(self, node: cst.CSTNode) -> tuple[int, int]:
        code_range = self.positions[node]
        return code_range.start.line, code_range.end.line

    def offset(self, line: int, column0: int) -> int:
        return self._line_starts[line - 1] + column0 if 0 < line <= len(self._line_starts) else 0

    def span(self, node: cst.CSTNode) -> tuple[int, int]:
        code_range = self.positions[node]
        return (self.offset(code_range.start.line, code_range.start.column),
                self.offset(code_range.end.line, code_range.end.column))

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self._line_starts, offset)

    # --- data flow ----------------------------------------------------------------------------

    def reach(self, expr: cst.BaseExpression, depth: int = 0, *, via: bool = False,
              env: str | None = None, replace: cst.BaseExpression | None = None) -> Iterator[Reach]:
        """The literals that can be this expression's value, through getenv defaults, wrappers
        (Field, SecretStr, .encode()), `or`, and variables or attributes of the same module."""
        if depth > _MAX_DEPTH:
            return
        if isinstance(expr, cst.Call):
            qualified = self.facts.qualified(expr.func)
            positional = [a.value for a in expr.args if a.keyword is None and not a.star]
            keywords = {a.keyword.value: a.value for a in expr.args if a.keyword is not None}
            if any(apis.is_env_getter(q) for q in qualified):
                default = positional[1] if len(positional) > 1 else keywords.get("default")
                name = string_value(positional[0]) if positional else None
                if default is not None:
                    yield from self.reach(default, depth + 1, via=via,
                                          env=name.value if name is not None else env, replace=expr)
            elif any(apis.is_wrapper(q) for q in qualified) or (
                    isinstance(expr.func, cst.Name) and expr.func.value in apis.VALUE_WRAPPERS):
                inner = keywords.get("default", positional[0] if positional else None)
                if inner is not None:
                    yield from self.reach(inner, depth + 1, via=via, env=env)
            elif isinstance(expr.func, cst.Attribute) and expr.func.attr.value in _PASS_THROUGH:
                yield from self.reach(expr.func.value, depth + 1, via=via, env=env)
            return
        if isinstance(expr, cst.BooleanOperation):
            yield from self.reach(expr.left, depth + 1, via=via, env=env)
            yield from self.reach(expr.right, depth + 1, via=via, env=env)
            return
        if isinstance(expr, cst.IfExp):
            yield from self.reach(expr.body, depth + 1, via=via, env=env)
            yield from self.reach(expr.orelse, depth + 1, via=via, env=env)
            return
        value = string_value(expr)
        if value is not None:
            if value.complete:
                yield Reach(value, replace if replace is not None else expr, env, via)
            return
        if isinstance(expr, cst.Name):
            for assigned in self.facts.values_of(expr):
                yield from self.reach(assigned, depth + 1, via=True, env=env)
        elif isinstance(expr, cst.Attribute):
            for assigned in self.facts.attr_values.get(expr.attr.value, ()):
                yield from self.reach(assigned, depth + 1, via=True, env=env)

    def linked(self, node: cst.CSTNode, depth: int = 0) -> bool:
        """Does this expression lead to Binance: a Binance URL, a module constant holding one,
        an X-MBX-APIKEY header, a Binance client or its session?"""
        if depth > _MAX_DEPTH:
            return False
        if isinstance(node, cst.Call):
            callee = self.facts.callee(node)
            if callee is not None and callee.binance:
                return True
            if any(self.linked(arg.value, depth + 1) for arg in node.args):
                return True
            func = node.func
            return isinstance(func, cst.Attribute) and self.linked(func.value, depth + 1)
        if isinstance(node, cst.Arg):
            return self.linked(node.value, depth + 1)
        value = string_value(node) if isinstance(node, cst.BaseExpression) else None
        if value is not None:
            for match in _URL_HOST_RE.finditer(value.joined):
                if is_binance_host(match.group(1)):
                    return True
            if "x-mbx-apikey" in value.joined.lower():
                return True
            bare = _BARE_HOST_RE.fullmatch(value.joined.strip())
            if bare is not None and "." in bare.group(1) and is_binance_host(bare.group(1)):
                return True
            if isinstance(node, cst.FormattedString):
                return any(self.linked(part.expression, depth + 1) for part in node.parts
                           if isinstance(part, cst.FormattedStringExpression))
            if isinstance(node, cst.BinaryOperation):
                return self.linked(node.left, depth + 1) or self.linked(node.right, depth + 1)
            return False
        if isinstance(node, cst.Name):
            if node.value in self.facts.linked_roots:
                return True
            return any(self.linked(v, depth + 1) for v in self.facts.values_of(node))
        if isinstance(node, cst.Attribute):
            if self.linked(node.value, depth + 1):
                return True
            # `self.BASE`: set as `self.BASE = …`, or a class constant `BASE = …` in the class body
            attr = node.attr.value
            values = (*self.facts.attr_values.get(attr, ()), *self.facts.name_values.get(attr, ()))
            return any(self.linked(v, depth + 1) for v in values)
        if isinstance(node, cst.Subscript):
            return self.linked(node.value, depth + 1)
        if isinstance(node, cst.Dict):
            for element in node.elements:
                if isinstance(element, cst.DictElement):
                    key = string_value(element.key)
                    if key is not None and "x-mbx-apikey" in key.joined.lower():
                        return True
                    if self.linked(element.value, depth + 1):
                        return True
            return False
        if isinstance(node, cst.FormattedString):
            return any(self.linked(part.expression, depth + 1) for part in node.parts
                       if isinstance(part, cst.FormattedStringExpression))
        if isinstance(node, cst.BinaryOperation):  # `URL + METHOD`: names whose values build the URL
            return self.linked(node.left, depth + 1) or self.linked(node.right, depth + 1)
        return False

    # --- credentials --------------------------------------------------------------------------

    @functools.cached_property
    def credentials(self) -> list[Hit]:
        """BKM001/BKM002 hits: literals reaching key or secret sites, then key-shaped text
        anywhere else in the source (inside longer strings, in comments)."""
        pairs: list[tuple[Site, Reach]] = []
        for site in self.facts.sites:
            pairs.extend((site, reach) for reach in self.reach(site.expr))
        pairs.sort(key=lambda pair: pair[1].via_name)  # a value's own name decides before a flow
        decided: set[int] = set()
        hits: list[Hit] = []
        covered: list[tuple[int, int]] = []
        env_names: dict[str, str] = {}  # env name -> fingerprint it stands for
        for site, reach in pairs:
            node = reach.value.node
            if id(node) in decided:
                continue
            decided.add(id(node))
            value = (reach.value.value or "").strip()
            # 64 hex digits are a key only in Binance context (not an Ethereum key, a test vector):
            # a Binance file, an argument of a Binance client, a name the user declared a key name
            binance = (self._binance_file or site.kind == "argument" or recognizer.names_api_key(site.name)
                       or site.name.lower() in self.facts.extra_key_names)
            if not recognizer.is_credential_value(value, key_position=binance):
                continue
            covered.append(self.span(node))
            first = reach.value.first_piece
            line, column = self.start(first.node if first is not None else node)
            what = "API key" if site.role is Role.KEY else "API secret"
            code = "BKM001" if site.role is Role.KEY else "BKM002"
            fingerprint = masking.fingerprint(value)
            env = reach.env_name or env_name_for(site.name, site.role)
            if env_names.setdefault(env, fingerprint) != fingerprint:
                suffix = 2
                while env_names.setdefault(f"{env}_{suffix}", fingerprint) != fingerprint:
                    suffix += 1
                env = f"{env}_{suffix}"
            via = " (through a variable)" if reach.via_name and site.kind != "assignment" else ""
            message = (f"hardcoded Binance {what} {site.where}{via} (masked {masking.mask(value)}); "
                       f"load it from the environment or bkm_guard.load()")
            end_line, end_column = self.positions[node].end.line, self.positions[node].end.column + 1
            hits.append(Hit(code, line, column, message, fingerprint, masking.mask(value), end_line,
                            end_column, "high", "unsafe",
                            (ReplaceWithEnv(reach.replace, env, reach.value.is_bytes),),
                            self.lines(node)))
        covered.sort()
        for match in recognizer.find_credentials(self.source):
            if any(start <= match.start < end for start, end in covered):
                continue
            code = "BKM002" if match.kind is recognizer.Kind.API_SECRET else "BKM001"
            line_text = self.source[self._line_starts[match.line - 1]:match.start]
            name = recognizer.name_before(line_text)
            what = {recognizer.Kind.API_KEY: "API key", recognizer.Kind.API_SECRET: "API secret"}.get(
                match.kind, "credential (key or secret)")
            where = f" in `{masking.shown_name(name)}`" if name else ""  # the name may be a key
            place = " in a comment" if self._in_comment(match.start) else " in a string"
            message = (f"hardcoded Binance {what}{where}{place} (masked {match.masked}); "
                       f"load it from the environment or bkm_guard.load()")
            hits.append(Hit(code, match.line, match.column, message, match.fingerprint, match.masked,
                            match.line, match.column + (match.end - match.start), match.confidence, "no",
                            (), self._string_lines_at(match.start)))
        return hits

    @functools.cached_property
    def _binance_file(self) -> bool:
        return recognizer.binance_context(self.source)

    def _in_comment(self, offset: int) -> bool:
        line_start = self._line_starts[self.line_of(offset) - 1]
        prefix = self.source[line_start:offset]
        return prefix.lstrip().startswith("#")

    @functools.cached_property
    def _string_spans(self) -> list[tuple[int, int, StrValue]]:
        return sorted((*self.span(s.node), s) for s in self.facts.strings)

    def string_at(self, offset: int) -> StrValue | None:
        for start, end, value in self._string_spans:
            if start <= offset < end:
                return value
            if start > offset:
                break
        return None

    def _string_lines_at(self, offset: int) -> tuple[int, int] | None:
        value = self.string_at(offset)
        return None if value is None else self.lines(value.node)

    @functools.cached_property
    def private_keys(self) -> list[recognizer.Match]:
        return recognizer.find_private_keys(self.source) if "PRIVATE KEY" in self.source else []
