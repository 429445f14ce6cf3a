"""What the rules see of one Python file: the collected facts and the questions they ask of them
(where does this value come from, does this call go to Binance, is this a credential?)."""

from __future__ import annotations

import ast
import bisect
import dataclasses
import functools
import keyword
import re
from collections.abc import Iterator

from bkm_guard import masking, recognizer
from bkm_guard.hosts import is_binance_host
from bkm_guard.recognizer import Role
from bkm_guard.static.model import Hit, ReplaceWithEnv
from bkm_guard.static.python import apis
from bkm_guard.static.python.facts import Facts, Site
from bkm_guard.static.python.strings import StrValue

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
    replace: ast.expr  # what an unsafe fix replaces
    env_name: str | None  # the variable of an os.getenv(NAME, default) on the way
    via_name: bool  # it came through a variable or attribute


def env_name_for(name: str, role: Role) -> str:
    """`api_key` → BINANCE_API_KEY, `TESTNET_API_SECRET` → BINANCE_TESTNET_API_SECRET."""
    parts = recognizer.name_parts(name)
    if not parts or set(parts) <= _GENERIC_NAME_PARTS:
        return "BINANCE_API_KEY" if role is Role.KEY else "BINANCE_API_SECRET"
    upper = "_".join(part.upper() for part in parts)
    return upper if upper.startswith("BINANCE_") else f"BINANCE_{upper}"


_KEYWORDS_BEFORE_PARENS = frozenset(keyword.kwlist) - {"True", "False", "None"}


def _with_parens(source: str, start: int, end: int) -> tuple[int, int]:
    """The span of an expression with the grouping parentheses around it (`(\n "a"\n "b"\n)`),
    which belong to it as libcst sees it, but not a call's parentheses (`f("a")`)."""
    while True:
        before = source[:start].rstrip()
        after_at = len(source) - len(source[end:].lstrip())
        if not before.endswith("(") or not source.startswith(")", after_at):
            return start, end
        head = before[:-1].rstrip()
        word = re.search(r"[A-Za-z0-9_]+$", head)
        if head.endswith((")", "]")) or (word is not None and word.group() not in _KEYWORDS_BEFORE_PARENS):
            return start, end  # a call's or a subscript's parentheses
        start, end = len(before) - 1, after_at + 1


class Context:
    def __init__(self, source: str, facts: Facts) -> None:
        self.source = source
        self.facts = facts
        self.index = facts.lines
        self._line_starts = self.index.starts

    # --- positions ----------------------------------------------------------------------------

    def start(self, node: ast.AST) -> tuple[int, int]:
        """1-based line and column of a node."""
        return self.index.start(node)

    def end(self, node: ast.AST) -> tuple[int, int]:
        return self.index.end(node)

    def lines(self, node: ast.AST) -> tuple[int, int]:
        return self.index.lines(node)

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.index.span(node)

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self._line_starts, offset)

    # --- data flow ----------------------------------------------------------------------------

    def reach(self, expr: ast.expr, depth: int = 0, *, via: bool = False,
              env: str | None = None, replace: ast.expr | None = None) -> Iterator[Reach]:
        """The literals that can be this expression's value, through getenv defaults, wrappers
        (Field, SecretStr, .encode()), `or`, and variables or attributes of the same module."""
        if depth > _MAX_DEPTH:
            return
        if isinstance(expr, ast.Call):
            qualified = self.facts.qualified(expr.func)
            positional = [a for a in expr.args if not isinstance(a, ast.Starred)]
            keywords = {k.arg: k.value for k in expr.keywords if k.arg is not None}
            if any(apis.is_env_getter(q) for q in qualified):
                default = positional[1] if len(positional) > 1 else keywords.get("default")
                name = self.facts.string(positional[0]) if positional else None
                if default is not None:
                    yield from self.reach(default, depth + 1, via=via,
                                          env=name.value if name is not None else env, replace=expr)
            elif any(apis.is_wrapper(q) for q in qualified) or (
                    isinstance(expr.func, ast.Name) and expr.func.id in apis.VALUE_WRAPPERS):
                inner = keywords.get("default", positional[0] if positional else None)
                if inner is not None:
                    yield from self.reach(inner, depth + 1, via=via, env=env)
            elif isinstance(expr.func, ast.Attribute) and expr.func.attr in _PASS_THROUGH:
                yield from self.reach(expr.func.value, depth + 1, via=via, env=env)
            return
        if isinstance(expr, ast.BoolOp):
            for operand in expr.values:
                yield from self.reach(operand, depth + 1, via=via, env=env)
            return
        if isinstance(expr, ast.IfExp):
            yield from self.reach(expr.body, depth + 1, via=via, env=env)
            yield from self.reach(expr.orelse, depth + 1, via=via, env=env)
            return
        value = self.facts.string(expr)
        if value is not None:
            if value.complete:
                yield Reach(value, replace if replace is not None else expr, env, via)
            return
        if isinstance(expr, ast.Name):
            for assigned in self.facts.values_of(expr):
                yield from self.reach(assigned, depth + 1, via=True, env=env)
        elif isinstance(expr, ast.Attribute):
            for assigned in self.facts.attr_values.get(expr.attr, ()):
                yield from self.reach(assigned, depth + 1, via=True, env=env)

    def linked(self, node: ast.AST, depth: int = 0) -> bool:
        """Does this expression lead to Binance: a Binance URL, a module constant holding one,
        an X-MBX-APIKEY header, a Binance client or its session?"""
        if depth > _MAX_DEPTH:
            return False
        if isinstance(node, ast.Call):
            callee = self.facts.callee(node)
            if callee is not None and callee.binance:
                return True
            if any(self.linked(arg, depth + 1) for arg in (*node.args, *(k.value for k in node.keywords))):
                return True
            func = node.func
            return isinstance(func, ast.Attribute) and self.linked(func.value, depth + 1)
        if isinstance(node, ast.Starred):
            return self.linked(node.value, depth + 1)
        value = self.facts.string(node)
        if value is not None:
            for match in _URL_HOST_RE.finditer(value.joined):
                if is_binance_host(match.group(1)):
                    return True
            if "x-mbx-apikey" in value.joined.lower():
                return True
            bare = _BARE_HOST_RE.fullmatch(value.joined.strip())
            if bare is not None and "." in bare.group(1) and is_binance_host(bare.group(1)):
                return True
            if isinstance(node, ast.JoinedStr):
                return any(self.linked(part.value, depth + 1) for part in node.values
                           if isinstance(part, ast.FormattedValue))
            if isinstance(node, ast.BinOp):
                return self.linked(node.left, depth + 1) or self.linked(node.right, depth + 1)
            return False
        if isinstance(node, ast.Name):
            if node.id in self.facts.linked_roots:
                return True
            return any(self.linked(v, depth + 1) for v in self.facts.values_of(node))
        if isinstance(node, ast.Attribute):
            if self.linked(node.value, depth + 1):
                return True
            # `self.BASE`: set as `self.BASE = …`, or a class constant `BASE = …` in the class body
            values = (*self.facts.attr_values.get(node.attr, ()), *self.facts.name_values.get(node.attr, ()))
            return any(self.linked(v, depth + 1) for v in values)
        if isinstance(node, ast.Subscript):
            return self.linked(node.value, depth + 1)
        if isinstance(node, ast.Dict):
            for key_node, element in zip(node.keys, node.values, strict=True):
                if key_node is None:
                    continue
                key = self.facts.string(key_node)
                if key is not None and "x-mbx-apikey" in key.joined.lower():
                    return True
                if self.linked(element, depth + 1):
                    return True
            return False
        if isinstance(node, ast.JoinedStr):
            return any(self.linked(part.value, depth + 1) for part in node.values
                       if isinstance(part, ast.FormattedValue))
        if isinstance(node, ast.BinOp):  # `URL + METHOD`: names whose values build the URL
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
                       or site.name.lower() in self.facts.extra_key_names
                       ) and not recognizer.names_wallet_key(site.name)
            if not recognizer.is_credential_value(value, key_position=binance):
                continue
            covered.append(self.span(node))
            first = reach.value.first_piece
            if first is not None:
                line, column = self.index.position(first.start)
            else:
                line, column = self.start(node)
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
            end_line, end_column = self.end(node)
            start, end = _with_parens(self.source, *self.span(reach.replace))
            hits.append(Hit(code, line, column, message, fingerprint, masking.mask(value), end_line,
                            end_column, "high", "unsafe",
                            (ReplaceWithEnv(start, end, env, reach.value.is_bytes),),
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
    def _string_spans(self) -> list[tuple[int, int, int, StrValue]]:
        return sorted((s.span[0], s.span[1], i, s) for i, s in enumerate(self.facts.strings))

    def string_at(self, offset: int) -> StrValue | None:
        for start, end, _, value in self._string_spans:
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
