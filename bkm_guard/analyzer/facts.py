"""One traversal of a module that records every fact the rules need.

The rules never walk the tree themselves: this visitor runs once per file (one libcst pass with
PositionProvider, QualifiedNameProvider and ScopeProvider metadata) and the rules read what it
found. That is the batched pass: N rules, one traversal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import Literal

import libcst as cst
from libcst.metadata import (
    Assignment,
    CodeRange,
    PositionProvider,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)

from bkm_guard.analyzer import apis
from bkm_guard.analyzer.strings import StrValue, string_value
from bkm_guard.recognizer import Role, role_of_name

SiteKind = Literal["argument", "keyword", "assignment", "dict", "default", "env-default", "header"]


@dataclasses.dataclass(frozen=True)
class Site:
    """A place a credential goes to: the value expression and what the place says it is."""

    expr: cst.BaseExpression
    role: Role
    name: str  # parameter, variable, attribute or dict key name (never a value)
    where: str  # for the message: "passed as `api_key` to binance.client.Client"
    kind: SiteKind


@dataclasses.dataclass(frozen=True)
class TlsOff:
    """`verify=False`, `"verify": False`, `x.verify = False`, `sslopt={"cert_reqs": CERT_NONE}`."""

    report: cst.CSTNode  # the node whose position is reported
    remove: cst.CSTNode  # the Arg, DictElement or statement a fix removes
    snippet: str  # what it is, for the message and the fingerprint
    links: tuple[cst.CSTNode, ...]  # what must lead to Binance for this to count


@dataclasses.dataclass(frozen=True)
class Output:
    """A call that prints, logs or raises: its reported node and the expressions it shows."""

    node: cst.CSTNode
    how: str  # "print", "logger.info", "raise ValueError"
    args: tuple[cst.BaseExpression, ...]


class Facts(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider, ScopeProvider)

    def __init__(self, extra_clients: tuple[str, ...] = (), extra_key_names: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.extra_clients = extra_clients
        self.extra_key_names = {name.lower() for name in extra_key_names}
        self.strings: list[StrValue] = []
        self.sites: list[Site] = []
        self.tls_off: list[TlsOff] = []
        self.outputs: list[Output] = []
        self.target_values: dict[int, list[cst.BaseExpression]] = {}  # id(Name target) -> values
        self.name_values: dict[str, list[cst.BaseExpression]] = {}
        self.attr_values: dict[str, list[cst.BaseExpression]] = {}
        self.linked_roots: set[str] = set()  # names whose requests go to Binance (headers set)
        self.imports_os = False
        self._string_depth = 0
        self._string_nodes: list[cst.CSTNode] = []
        self._calls: list[cst.Call] = []

    # --- metadata helpers ---------------------------------------------------------------------

    def position(self, node: cst.CSTNode) -> CodeRange:
        return self.get_metadata(PositionProvider, node)

    def qualified(self, node: cst.CSTNode) -> set[str]:
        try:
            names = self.get_metadata(QualifiedNameProvider, node, set())
        except KeyError:
            return set()
        return {q.name for q in names}

    def scope(self, node: cst.CSTNode) -> Scope | None:
        try:
            return self.get_metadata(ScopeProvider, node, None)
        except KeyError:
            return None

    def role(self, name: str) -> Role | None:
        if name.lower() in self.extra_key_names:
            return Role.SECRET if "secret" in name.lower() else Role.KEY
        return role_of_name(name)

    def callee(self, call: cst.Call) -> apis.Callee | None:
        for name in self.qualified(call.func):
            callee = apis.callee_for(name, self.extra_clients)
            if callee is not None:
                return callee
        return None

    def values_of(self, node: cst.Name) -> Iterator[cst.BaseExpression]:
        """Values assigned to the name a Name node refers to, through its scope."""
        scope = self.scope(node)
        found = False
        if scope is not None:
            try:
                assignments = scope[node.value]
            except Exception:
                assignments = set()
            for assignment in assignments:
                if isinstance(assignment, Assignment):
                    for value in self.target_values.get(id(assignment.node), ()):
                        found = True
                        yield value
        if not found:
            yield from self.name_values.get(node.value, ())

    # --- strings ------------------------------------------------------------------------------

    def _enter_string(self, node: cst.BaseExpression) -> None:
        if self._string_depth == 0:
            value = string_value(node)
            if value is None:
                return
            self.strings.append(value)
        self._string_depth += 1
        self._string_nodes.append(node)

    def _leave_string(self, node: cst.CSTNode) -> None:
        if self._string_nodes and self._string_nodes[-1] is node:
            self._string_nodes.pop()
            self._string_depth -= 1

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self._enter_string(node)

    def leave_SimpleString(self, original_node: cst.SimpleString) -> None:
        self._leave_string(original_node)

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        self._enter_string(node)

    def leave_ConcatenatedString(self, original_node: cst.ConcatenatedString) -> None:
        self._leave_string(original_node)

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self._enter_string(node)

    def leave_FormattedString(self, original_node: cst.FormattedString) -> None:
        self._leave_string(original_node)

    def visit_FormattedStringExpression(self, node: cst.FormattedStringExpression) -> None:
        # strings inside a placeholder are strings of their own
        self._string_nodes.append(node)
        self._saved_depth = getattr(self, "_saved_depth", [])
        self._saved_depth.append(self._string_depth)
        self._string_depth = 0

    def leave_FormattedStringExpression(self, original_node: cst.FormattedStringExpression) -> None:
        if self._string_nodes and self._string_nodes[-1] is original_node:
            self._string_nodes.pop()
            self._string_depth = self._saved_depth.pop()

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, cst.Add):
            self._enter_string(node)

    def leave_BinaryOperation(self, original_node: cst.BinaryOperation) -> None:
        self._leave_string(original_node)

    # --- imports ------------------------------------------------------------------------------

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            name = cst.helpers.get_full_name_for_node(alias.name)
            if alias.asname is None and name in ("os", "os.path"):
                self.imports_os = True

    # --- assignments --------------------------------------------------------------------------

    def _record_target(self, target: cst.BaseExpression, value: cst.BaseExpression,
                       statement: cst.CSTNode) -> None:
        if isinstance(target, cst.Name):
            self.target_values.setdefault(id(target), []).append(value)
            self.name_values.setdefault(target.value, []).append(value)
            role = self.role(target.value)
            if role is not None:
                self.sites.append(Site(value, role, target.value, f"assigned to `{target.value}`",
                                       "assignment"))
        elif isinstance(target, cst.Attribute):
            attr = target.attr.value
            self.attr_values.setdefault(attr, []).append(value)
            role = self.role(attr)
            label = cst.helpers.get_full_name_for_node(target) or attr
            if role is not None:
                self.sites.append(Site(value, role, attr, f"assigned to `{label}`", "assignment"))
            if attr == "verify" and isinstance(value, cst.Name) and value.value == "False":
                self.tls_off.append(TlsOff(statement, statement, f"{label} = False", (target.value,)))
        elif isinstance(target, cst.Subscript) and len(target.slice) == 1:
            index = target.slice[0].slice
            if isinstance(index, cst.Index):
                key = string_value(index.value)
                if key is not None and key.value is not None:
                    role = self.role(key.value)
                    if role is not None:
                        self.sites.append(Site(value, role, key.value, f"stored under `{key.value}`",
                                               "header" if "mbx" in key.value.lower() else "dict"))
                    if "x-mbx-apikey" in key.value.lower():
                        self._link_root(target.value)
        elif (isinstance(target, cst.Tuple | cst.List) and isinstance(value, cst.Tuple | cst.List)
              and len(target.elements) == len(value.elements)):
            for t, v in zip(target.elements, value.elements, strict=True):
                self._record_target(t.value, v.value, statement)

    def _link_root(self, node: cst.BaseExpression) -> None:
        while isinstance(node, cst.Attribute | cst.Subscript | cst.Call):
            node = node.func if isinstance(node, cst.Call) else node.value
        if isinstance(node, cst.Name):
            self.linked_roots.add(node.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._record_target(target.target, node.value, self._statement_of(node))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._record_target(node.target, node.value, self._statement_of(node))

    def _statement_of(self, node: cst.CSTNode) -> cst.CSTNode:
        return node  # the small statement itself; the fixer removes its line when alone on it

    def visit_Param(self, node: cst.Param) -> None:
        if node.default is not None:
            name = node.name.value
            self.target_values.setdefault(id(node.name), []).append(node.default)
            role = self.role(name)
            if role is not None:
                self.sites.append(Site(node.default, role, name, f"as the default of parameter `{name}`",
                                       "default"))

    # --- dicts --------------------------------------------------------------------------------

    def visit_Dict(self, node: cst.Dict) -> None:
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                continue
            key = string_value(element.key)
            if key is None or key.value is None:
                continue
            name = key.value
            role = self.role(name)
            if role is not None:
                kind: SiteKind = "header" if "mbx" in name.lower() else "dict"
                self.sites.append(Site(element.value, role, name, f"stored under `{name}`", kind))
            if name == "verify" and _is_false(element.value) and self._calls:
                self.tls_off.append(TlsOff(element, element, '"verify": False', (self._calls[-1],)))
            if name == "cert_reqs" and _is_cert_none(element.value) and self._calls:
                pass  # reported through the sslopt= argument that carries this dict

    # --- calls --------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        self._calls.append(node)
        qualified = self.qualified(node.func)
        callee = self.callee(node)
        positional = [arg for arg in node.args if arg.keyword is None and not arg.star]
        if callee is not None:
            for index, arg in enumerate(positional):
                if index < len(callee.params):
                    param = callee.params[index]
                    role = callee.roles.get(param)
                    if role is not None:
                        self.sites.append(Site(arg.value, role, param,
                                               f"passed as `{param}` to {callee.label}", "argument"))
        for arg in node.args:
            if arg.keyword is None:
                continue
            keyword = arg.keyword.value
            role = callee.roles.get(keyword) if callee is not None and keyword in callee.roles else None
            if role is None:
                role = self.role(keyword)
            if role is not None:
                where = f"passed as `{keyword}`" + (f" to {callee.label}" if callee else "")
                self.sites.append(Site(arg.value, role, keyword, where, "keyword"))
            if keyword == "verify" and _is_false(arg.value):
                self.tls_off.append(TlsOff(arg, arg, "verify=False", (node,)))
            if keyword == "sslopt" and isinstance(arg.value, cst.Dict):
                for element in arg.value.elements:
                    if (isinstance(element, cst.DictElement) and _is_cert_none(element.value)
                            and (k := string_value(element.key)) is not None and k.value == "cert_reqs"):
                        only = len(arg.value.elements) == 1
                        self.tls_off.append(TlsOff(arg, arg if only else element,
                                                   'sslopt={"cert_reqs": ssl.CERT_NONE}', (node,)))
        if any(apis.is_env_getter(q) for q in qualified) and positional:
            name = string_value(positional[0].value)
            default = positional[1].value if len(positional) > 1 else _keyword(node, "default")
            if name is not None and name.value is not None and default is not None:
                role = self.role(name.value)
                if role is not None:
                    getter = sorted(qualified)[0]
                    self.sites.append(Site(node, role, name.value,
                                           f'as the default of {getter}("{name.value}")', "env-default"))
        # `session.headers.update({"X-MBX-APIKEY": ...})` ties `session` to Binance
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "update" and positional:
            header = positional[0].value
            if isinstance(header, cst.Dict) and any(
                isinstance(e, cst.DictElement) and (k := string_value(e.key)) is not None
                and (k.value or "").lower() == "x-mbx-apikey" for e in header.elements
            ):
                self._link_root(node.func.value)
        self._record_output(node, qualified)

    def leave_Call(self, original_node: cst.Call) -> None:
        if self._calls and self._calls[-1] is original_node:
            self._calls.pop()

    def _record_output(self, node: cst.Call, qualified: set[str]) -> None:
        func = node.func
        args = tuple(arg.value for arg in node.args if arg.keyword is None or arg.keyword.value not in
                     ("file", "sep", "end", "flush", "exc_info", "stack_info", "stacklevel", "extra"))
        if "builtins.print" in qualified:
            self.outputs.append(Output(node, "print", args))
        elif isinstance(func, cst.Attribute) and func.attr.value in apis.LOG_METHODS:
            receiver = func.value
            receiver_name = (cst.helpers.get_full_name_for_node(receiver) or "").rsplit(".", 1)[-1]
            factory = None
            if isinstance(receiver, cst.Call):
                factory = cst.helpers.get_full_name_for_node(receiver.func)
            if "log" in receiver_name.lower() or "getLogger" in (factory or ""):
                how = f"{cst.helpers.get_full_name_for_node(func) or func.attr.value}"
                self.outputs.append(Output(node, how, args))

    def visit_Raise(self, node: cst.Raise) -> None:
        exc = node.exc
        if isinstance(exc, cst.Call):
            name = cst.helpers.get_full_name_for_node(exc.func) or "exception"
            self.outputs.append(Output(exc, f"raise {name}", tuple(arg.value for arg in exc.args)))


def _keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def _is_false(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


def _is_cert_none(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Attribute):
        return node.attr.value == "CERT_NONE"
    return isinstance(node, cst.Name) and node.value == "CERT_NONE"


def collect(module: cst.Module, extra_clients: tuple[str, ...] = (),
            extra_key_names: tuple[str, ...] = ()) -> tuple[Facts, Mapping[cst.CSTNode, CodeRange]]:
    """Run the one traversal over a parsed module."""
    from libcst.metadata import MetadataWrapper

    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    facts = Facts(extra_clients, extra_key_names)
    # keep the metadata after the traversal: the rules ask about nodes afterwards
    facts.metadata = wrapper.resolve_many(Facts.get_inherited_dependencies())
    module.visit(facts)
    return facts, facts.metadata[PositionProvider]  # type: ignore[return-value]


def keyword_args(call: cst.Call) -> Sequence[cst.Arg]:
    return [arg for arg in call.args if arg.keyword is not None]
