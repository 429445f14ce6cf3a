"""One traversal of a module's `ast` that records every fact the rules need.

The rules never walk the tree themselves: this pass runs once per file, binds names in their
scopes as it goes (bkm_guard.static.python.names), and the rules read what it found. That is the
batched pass: N rules, one traversal.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any, Literal

from bkm_guard.recognizer import Role, role_of_name
from bkm_guard.static.python import apis
from bkm_guard.static.python.names import Scope, bind_import, full_name, qualified_names
from bkm_guard.static.python.strings import LineIndex, StrValue, string_value

SiteKind = Literal["argument", "keyword", "assignment", "dict", "default", "env-default", "header"]
RemoveKind = Literal["arg", "dict-element", "statement"]
_QUIET_KEYWORDS = frozenset({"file", "sep", "end", "flush", "exc_info", "stack_info", "stacklevel", "extra"})


@dataclasses.dataclass(frozen=True)
class Site:
    """A place a credential goes to: the value expression and what the place says it is."""

    expr: ast.expr
    role: Role
    name: str  # parameter, variable, attribute or dict key name (never a value)
    where: str  # for the message: "passed as `api_key` to binance.client.Client"
    kind: SiteKind


@dataclasses.dataclass(frozen=True)
class TlsOff:
    """`verify=False`, `"verify": False`, `x.verify = False`, `sslopt={"cert_reqs": CERT_NONE}`."""

    report: ast.AST  # the node whose position is reported (a keyword, a dict key, a statement)
    remove: ast.AST  # what a fix removes: a keyword, a dict key (its element) or a statement
    remove_kind: RemoveKind
    snippet: str  # what it is, for the message and the fingerprint
    links: tuple[ast.AST, ...]  # what must lead to Binance for this to count


@dataclasses.dataclass(frozen=True)
class Output:
    """A call that prints, logs or raises: its reported node and the expressions it shows."""

    node: ast.AST
    how: str  # "print", "logger.info", "raise ValueError"
    args: tuple[ast.expr, ...]


def _is_false(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _is_cert_none(node: ast.AST | None) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr == "CERT_NONE"
    return isinstance(node, ast.Name) and node.id == "CERT_NONE"


def _plain(args: list[ast.expr]) -> list[ast.expr]:
    return [a.value if isinstance(a, ast.Starred) else a for a in args]


class Facts:
    def __init__(self, lines: LineIndex, extra_clients: tuple[str, ...] = (),
                 extra_key_names: tuple[str, ...] = ()) -> None:
        self.lines = lines
        self.extra_clients = extra_clients
        self.extra_key_names = {name.lower() for name in extra_key_names}
        self.strings: list[StrValue] = []
        self.sites: list[Site] = []  # in source order (a call's sites are filled in after the pass)
        self._pending: list[tuple[ast.Call, list[Site]]] = []
        self._sequence: list[Site | list[Site]] = []
        self.tls_off: list[TlsOff] = []
        self.outputs: list[Output] = []
        self.name_values: dict[str, list[ast.expr]] = {}
        self.attr_values: dict[str, list[ast.expr]] = {}
        self.linked_roots: set[str] = set()  # names whose requests go to Binance (headers set)
        self.imports_os = False
        self.scope_of: dict[int, Scope] = {}
        self._scope = Scope("module", None)
        self._string_depth = 0
        self._calls: list[ast.Call] = []

    # --- questions the rules ask -----------------------------------------------------------------

    def qualified(self, node: ast.AST) -> set[str]:
        return qualified_names(node, self.scope_of)

    def role(self, name: str) -> Role | None:
        if name.lower() in self.extra_key_names:
            return Role.SECRET if "secret" in name.lower() else Role.KEY
        return role_of_name(name)

    def callee(self, call: ast.Call) -> apis.Callee | None:
        for name in self.qualified(call.func):
            callee = apis.callee_for(name, self.extra_clients)
            if callee is not None:
                return callee
        return None

    def values_of(self, node: ast.Name) -> Iterator[ast.expr]:
        """Values assigned to the name a Name node refers to, through its scope (every value
        assigned to that name anywhere when its own binding has none: a parameter, a loop)."""
        scope = self.scope_of.get(id(node))
        found = scope.resolve(node.id) if scope is not None else None
        values = found.values.get(node.id, []) if found is not None else []
        yield from values or self.name_values.get(node.id, [])

    def string(self, node: ast.AST | None) -> StrValue | None:
        return string_value(node, self.lines)

    # --- the traversal ----------------------------------------------------------------------------

    def collect(self, tree: ast.Module) -> None:
        self._body(tree.body)
        # calls are decided once every name is bound (an import may come after a function)
        for call, slot in self._pending:
            self._decide_call(call, slot)
        self.sites = [site for item in self._sequence
                      for site in (item if isinstance(item, list) else (item,))]

    def _site(self, site: Site) -> None:
        self._sequence.append(site)

    def _body(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self._visit(statement)

    def _children(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            self._visit(child)

    def _visit(self, node: ast.AST) -> None:
        handler = _HANDLERS.get(type(node))
        if handler is None:
            self._children(node)
        else:
            handler(self, node)

    def _visit_name(self, node: ast.Name) -> None:
        self.scope_of[id(node)] = self._scope
        if not isinstance(node.ctx, ast.Load):
            self._scope.bind(node.id)

    def _visit_attribute(self, node: ast.Attribute) -> None:
        self._visit(node.value)

    def _visit_assign(self, node: ast.Assign | ast.AnnAssign) -> None:
        if node.value is not None:
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                self._record_target(target, node.value, node)
        self._children(node)

    def _visit_dict_node(self, node: ast.Dict) -> None:
        self._visit_dict(node)
        self._children(node)

    def _visit_class(self, node: ast.ClassDef) -> None:
        self._scope.bind(node.name)
        for child in (*node.decorator_list, *node.bases, *node.keywords):
            self._visit(child)
        outer, self._scope = self._scope, Scope("class", self._scope)
        self._body(node.body)
        self._scope = outer

    def _visit_comprehension(self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp,
                             ) -> None:
        outer, self._scope = self._scope, Scope("comprehension", self._scope)
        for generator in node.generators:
            self._visit(generator)
        for part in ("elt", "key", "value"):
            child = getattr(node, part, None)
            if child is not None:
                self._visit(child)
        self._scope = outer

    def _visit_import(self, node: ast.Import | ast.ImportFrom) -> None:
        bind_import(self._scope, node)
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname is None and alias.name in ("os", "os.path"):
                    self.imports_os = True

    def _visit_raise(self, node: ast.Raise) -> None:
        exc = node.exc
        if isinstance(exc, ast.Call):
            name = full_name(exc.func) or "exception"
            shown = (*_plain(exc.args), *(k.value for k in exc.keywords))
            self.outputs.append(Output(exc, f"raise {name}", tuple(shown)))
        self._children(node)

    def _visit_handler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._scope.bind(node.name)
        self._children(node)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        args = node.args
        if not isinstance(node, ast.Lambda):
            self._scope.bind(node.name)
            for decorator in node.decorator_list:
                self._visit(decorator)
            if node.returns is not None:
                self._visit(node.returns)
        for given in (*args.defaults, *(d for d in args.kw_defaults if d is not None)):
            self._visit(given)
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if arg is not None and arg.annotation is not None:
                self._visit(arg.annotation)
        inner = Scope("function", self._scope)
        positional = [*args.posonlyargs, *args.args]
        defaults: list[tuple[ast.arg, ast.expr | None]] = [
            *((a, None) for a in positional[: len(positional) - len(args.defaults)]),
            *zip(positional[len(positional) - len(args.defaults):], args.defaults, strict=True),
            *zip(args.kwonlyargs, args.kw_defaults, strict=True),
            *((a, None) for a in (args.vararg, args.kwarg) if a is not None),
        ]
        for parameter, default in defaults:
            arg = parameter
            inner.bind(arg.arg, default)
            if default is not None:
                role = self.role(arg.arg)
                if role is not None:
                    self._site(Site(default, role, arg.arg,
                                    f"as the default of parameter `{arg.arg}`", "default"))
        outer, self._scope = self._scope, inner
        if isinstance(node, ast.Lambda):
            self._visit(node.body)
        else:
            self._body(node.body)
        self._scope = outer

    # --- strings ----------------------------------------------------------------------------------

    def _visit_string(self, node: ast.Constant | ast.JoinedStr | ast.BinOp) -> None:
        """Top-level string expressions are collected; strings inside them are parts of them,
        except inside an f-string's placeholders, where strings are strings of their own."""
        entered = False
        if self._string_depth == 0:
            value = self.string(node)
            if value is not None:
                self.strings.append(value)
                entered = True
        elif not isinstance(node, ast.BinOp) or isinstance(node.op, ast.Add):
            entered = True
        if isinstance(node, ast.BinOp) and not isinstance(node.op, ast.Add):
            entered = False
        if entered:
            self._string_depth += 1
        if isinstance(node, ast.JoinedStr):
            for part in node.values:
                if isinstance(part, ast.FormattedValue):
                    saved, self._string_depth = self._string_depth, 0
                    self._visit(part.value)
                    if part.format_spec is not None:
                        self._visit(part.format_spec)
                    self._string_depth = saved
        elif isinstance(node, ast.BinOp):
            self._visit(node.left)
            self._visit(node.right)
        if entered:
            self._string_depth -= 1

    # --- assignments ------------------------------------------------------------------------------

    def _record_target(self, target: ast.expr, value: ast.expr,
                       statement: ast.Assign | ast.AnnAssign) -> None:
        if isinstance(target, ast.Name):
            self._scope.bind(target.id, value)
            self.name_values.setdefault(target.id, []).append(value)
            role = self.role(target.id)
            if role is not None:
                self._site(Site(value, role, target.id, f"assigned to `{target.id}`", "assignment"))
        elif isinstance(target, ast.Attribute):
            attr = target.attr
            self.attr_values.setdefault(attr, []).append(value)
            role = self.role(attr)
            label = full_name(target) or attr
            if role is not None:
                self._site(Site(value, role, attr, f"assigned to `{label}`", "assignment"))
            if attr == "verify" and _is_false(value):
                self.tls_off.append(TlsOff(statement, statement, "statement", f"{label} = False",
                                           (target.value,)))
        elif isinstance(target, ast.Subscript) and not isinstance(target.slice, ast.Tuple | ast.Slice):
            key = self.string(target.slice)
            if key is not None and key.value is not None:
                role = self.role(key.value)
                if role is not None:
                    self._site(Site(value, role, key.value, f"stored under `{key.value}`",
                                           "header" if "mbx" in key.value.lower() else "dict"))
                if "x-mbx-apikey" in key.value.lower():
                    self._link_root(target.value)
        elif (isinstance(target, ast.Tuple | ast.List) and isinstance(value, ast.Tuple | ast.List)
              and len(target.elts) == len(value.elts)):
            for t, v in zip(target.elts, value.elts, strict=True):
                self._record_target(_plain([t])[0], _plain([v])[0], statement)

    def _link_root(self, node: ast.expr) -> None:
        while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
            node = node.func if isinstance(node, ast.Call) else node.value
        if isinstance(node, ast.Name):
            self.linked_roots.add(node.id)

    # --- dicts ------------------------------------------------------------------------------------

    def _visit_dict(self, node: ast.Dict) -> None:
        for key_node, value in zip(node.keys, node.values, strict=True):
            key = self.string(key_node) if key_node is not None else None
            if key is None or key.value is None or key_node is None:
                continue
            name = key.value
            role = self.role(name)
            if role is not None:
                kind: SiteKind = "header" if "mbx" in name.lower() else "dict"
                self._site(Site(value, role, name, f"stored under `{name}`", kind))
            if name == "verify" and _is_false(value) and self._calls:
                self.tls_off.append(TlsOff(key_node, key_node, "dict-element", '"verify": False',
                                           (self._calls[-1],)))

    # --- calls ------------------------------------------------------------------------------------

    def _visit_call(self, node: ast.Call) -> None:
        self._calls.append(node)
        slot: list[Site] = []
        self._sequence.append(slot)
        self._pending.append((node, slot))
        self._children(node)
        self._calls.pop()

    def _decide_call(self, node: ast.Call, slot: list[Site]) -> None:
        qualified = self.qualified(node.func)
        callee = self.callee(node)
        positional = [arg for arg in node.args if not isinstance(arg, ast.Starred)]
        if callee is not None:
            for index, arg in enumerate(positional):
                if index < len(callee.params):
                    param = callee.params[index]
                    role = callee.roles.get(param)
                    if role is not None:
                        slot.append(Site(arg, role, param, f"passed as `{param}` to {callee.label}",
                                               "argument"))
        for keyword in node.keywords:
            name = keyword.arg
            if name is None:
                continue
            role = callee.roles.get(name) if callee is not None and name in callee.roles else None
            if role is None:
                role = self.role(name)
            if role is not None:
                where = f"passed as `{name}`" + (f" to {callee.label}" if callee else "")
                slot.append(Site(keyword.value, role, name, where, "keyword"))
            if name == "verify" and _is_false(keyword.value):
                self.tls_off.append(TlsOff(keyword, keyword, "arg", "verify=False", (node,)))
            if name == "sslopt" and isinstance(keyword.value, ast.Dict):
                elements = keyword.value
                for key_node, value in zip(elements.keys, elements.values, strict=True):
                    key = self.string(key_node) if key_node is not None else None
                    if _is_cert_none(value) and key is not None and key.value == "cert_reqs" and key_node:
                        only = len(elements.keys) == 1
                        self.tls_off.append(TlsOff(keyword, keyword if only else key_node,
                                                   "arg" if only else "dict-element",
                                                   'sslopt={"cert_reqs": ssl.CERT_NONE}', (node,)))
        if positional and any(apis.is_env_getter(q) for q in qualified):
            env = self.string(positional[0])
            default = positional[1] if len(positional) > 1 else _keyword(node, "default")
            if env is not None and env.value is not None and default is not None:
                role = self.role(env.value)
                if role is not None:
                    getter = sorted(qualified)[0]
                    slot.append(Site(node, role, env.value,
                                           f'as the default of {getter}("{env.value}")', "env-default"))
        # `session.headers.update({"X-MBX-APIKEY": ...})` ties `session` to Binance
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "update" and positional:
            header = positional[0]
            if isinstance(header, ast.Dict) and any(
                (k := self.string(key)) is not None and (k.value or "").lower() == "x-mbx-apikey"
                for key in header.keys if key is not None
            ):
                self._link_root(func.value)
        self._record_output(node, qualified)

    def _record_output(self, node: ast.Call, qualified: set[str]) -> None:
        func = node.func
        args = (*_plain(node.args), *(k.value for k in node.keywords if k.arg not in _QUIET_KEYWORDS))
        if "builtins.print" in qualified:
            self.outputs.append(Output(node, "print", args))
        elif isinstance(func, ast.Attribute) and func.attr in apis.LOG_METHODS:
            receiver = func.value
            receiver_name = (full_name(receiver) or "").rsplit(".", 1)[-1]
            factory = full_name(receiver.func) if isinstance(receiver, ast.Call) else None
            if "log" in receiver_name.lower() or "getLogger" in (factory or ""):
                self.outputs.append(Output(node, full_name(func) or func.attr, args))


_HANDLERS: dict[type[ast.AST], Callable[[Facts, Any], None]] = {
    ast.Name: Facts._visit_name,
    ast.Constant: Facts._visit_string,
    ast.JoinedStr: Facts._visit_string,
    ast.BinOp: Facts._visit_string,
    ast.Call: Facts._visit_call,
    ast.Attribute: Facts._visit_attribute,
    ast.Assign: Facts._visit_assign,
    ast.AnnAssign: Facts._visit_assign,
    ast.Dict: Facts._visit_dict_node,
    ast.FunctionDef: Facts._visit_function,
    ast.AsyncFunctionDef: Facts._visit_function,
    ast.Lambda: Facts._visit_function,
    ast.ClassDef: Facts._visit_class,
    ast.ListComp: Facts._visit_comprehension,
    ast.SetComp: Facts._visit_comprehension,
    ast.DictComp: Facts._visit_comprehension,
    ast.GeneratorExp: Facts._visit_comprehension,
    ast.Import: Facts._visit_import,
    ast.ImportFrom: Facts._visit_import,
    ast.Raise: Facts._visit_raise,
    ast.ExceptHandler: Facts._visit_handler,
}


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def collect(tree: ast.Module, lines: LineIndex, extra_clients: tuple[str, ...] = (),
            extra_key_names: tuple[str, ...] = ()) -> Facts:
    """Run the one traversal over a parsed module."""
    facts = Facts(lines, extra_clients, extra_key_names)
    facts.collect(tree)
    return facts
