"""Scopes and qualified names over the standard library's `ast`.

`from binance.client import Client as C` makes `C` mean `binance.client.Client`; `import binance`
makes `binance.spot.Spot` mean itself; a name bound nowhere is a builtin. A name is looked up as
Python does: its own function (or class body, or comprehension), then the enclosing functions,
then the module, skipping class bodies from inside their methods.
"""

from __future__ import annotations

import ast
import builtins
from typing import Final, Literal

ScopeKind = Literal["module", "function", "class", "comprehension"]
_BUILTINS: Final = frozenset(dir(builtins))


class Scope:
    __slots__ = ("kind", "parent", "qualified", "values")

    def __init__(self, kind: ScopeKind, parent: Scope | None) -> None:
        self.kind = kind
        self.parent = parent
        self.values: dict[str, list[ast.expr]] = {}  # every bound name -> values assigned to it
        self.qualified: dict[str, set[str]] = {}  # every bound name -> what it can stand for

    def bind(self, name: str, value: ast.expr | None = None, qualified: str | None = None) -> None:
        values = self.values.setdefault(name, [])
        if value is not None:
            values.append(value)
        self.qualified.setdefault(name, set()).add(qualified if qualified is not None else name)

    def resolve(self, name: str) -> Scope | None:
        """The scope whose binding of `name` a use in this scope sees."""
        scope: Scope | None = self
        first = True
        while scope is not None:
            if (first or scope.kind != "class") and name in scope.values:
                return scope
            first = False
            scope = scope.parent
        return None


def bind_import(scope: Scope, node: ast.Import | ast.ImportFrom) -> None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                scope.bind(alias.asname, qualified=alias.name)
            else:
                top = alias.name.split(".", 1)[0]
                scope.bind(top, qualified=top)
        return
    module = "." * node.level + (node.module or "")
    for alias in node.names:
        if alias.name == "*":
            continue
        full = f"{module}.{alias.name}" if module and not module.endswith(".") else f"{module}{alias.name}"
        scope.bind(alias.asname or alias.name, qualified=full)


def qualified_names(node: ast.AST, scope_of: dict[int, Scope]) -> set[str]:
    """Every dotted name an expression can stand for (`{"binance.client.Client"}`), or {}."""
    if isinstance(node, ast.Name):
        scope = scope_of.get(id(node))
        found = scope.resolve(node.id) if scope is not None else None
        if found is not None:
            return set(found.qualified.get(node.id, ()))
        return {f"builtins.{node.id}"} if node.id in _BUILTINS else set()
    if isinstance(node, ast.Attribute):
        return {f"{base}.{node.attr}" for base in qualified_names(node.value, scope_of)}
    return set()


def full_name(node: ast.AST) -> str | None:
    """The dotted name as written: `a.b.c`, the callee of a call, the base of a subscript."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = full_name(node.value)
        return f"{base}.{node.attr}" if base is not None else None
    if isinstance(node, ast.Call):
        return full_name(node.func)
    if isinstance(node, ast.Subscript):
        return full_name(node.value)
    return None
