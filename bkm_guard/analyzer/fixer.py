"""Apply the fixes the rules offered, as edits of the same syntax tree (formatting is kept)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import libcst as cst

from bkm_guard.analyzer.model import FixAction, Remove, ReplacePiece, ReplaceWithEnv

# a call argument or a dict element: both carry their own trailing comma
_Listed = TypeVar("_Listed", cst.Arg, cst.BaseDictElement)


class _Fixer(cst.CSTTransformer):
    def __init__(self, actions: Sequence[FixAction]) -> None:
        super().__init__()
        self.piece_edits: dict[int, list[tuple[int, int, str]]] = {}
        self.removals: set[int] = set()
        self.replacements: dict[int, ReplaceWithEnv] = {}
        for action in actions:
            if isinstance(action, ReplacePiece):
                edit = (action.start, action.end, action.text)
                self.piece_edits.setdefault(id(action.node), []).append(edit)
            elif isinstance(action, Remove):
                self.removals.add(id(action.node))
            elif isinstance(action, ReplaceWithEnv):
                self.replacements[id(action.node)] = action
        self.replaced = 0

    @staticmethod
    def _edit(raw: str, edits: list[tuple[int, int, str]]) -> str:
        for start, end, text in sorted(set(edits), reverse=True):
            raw = raw[:start] + text + raw[end:]
        return raw

    def leave_SimpleString(self, original_node: cst.SimpleString,
                           updated_node: cst.SimpleString) -> cst.BaseExpression:
        edits = self.piece_edits.get(id(original_node))
        if not edits:
            return updated_node
        head = len(original_node.prefix) + len(original_node.quote)
        value = original_node.value
        raw = value[head : len(value) - len(original_node.quote)]
        tail = value[len(value) - len(original_node.quote) :]
        return updated_node.with_changes(value=value[:head] + self._edit(raw, edits) + tail)

    def leave_FormattedStringText(self, original_node: cst.FormattedStringText,
                                  updated_node: cst.FormattedStringText) -> cst.FormattedStringText:
        edits = self.piece_edits.get(id(original_node))
        if not edits:
            return updated_node
        return updated_node.with_changes(value=self._edit(original_node.value, edits))

    def on_leave(  # type: ignore[override]
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode:
        result = super().on_leave(original_node, updated_node)
        action = self.replacements.get(id(original_node))
        if action is not None and isinstance(result, cst.BaseExpression):
            self.replaced += 1
            suffix = ".encode()" if action.is_bytes else ""
            return cst.parse_expression(f'os.environ["{action.env_name}"]{suffix}')
        return result  # type: ignore[return-value]

    def _kept(self, originals: Sequence[_Listed], updated: Sequence[_Listed]) -> list[_Listed]:
        """The updated items minus the removed ones; the last kept item takes the trailing
        comma of a removed last item, so `f(a, verify=False)` becomes `f(a)`."""
        kept: list[_Listed] = []
        last_removed_comma: cst.Comma | cst.MaybeSentinel = cst.MaybeSentinel.DEFAULT
        for original, item in zip(originals, updated, strict=True):
            if id(original) in self.removals:
                last_removed_comma = item.comma
                continue
            kept.append(item)
        if kept and id(originals[-1]) in self.removals:
            kept[-1] = kept[-1].with_changes(comma=last_removed_comma)
        return kept

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if not any(id(arg) in self.removals for arg in original_node.args):
            return updated_node
        return updated_node.with_changes(args=self._kept(original_node.args, updated_node.args))

    def leave_Dict(self, original_node: cst.Dict, updated_node: cst.Dict) -> cst.BaseExpression:
        if not any(id(element) in self.removals for element in original_node.elements):
            return updated_node
        return updated_node.with_changes(
            elements=self._kept(original_node.elements, updated_node.elements))

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        if not any(id(small) in self.removals for small in original_node.body):
            return updated_node
        kept = [updated for original, updated in zip(original_node.body, updated_node.body, strict=True)
                if id(original) not in self.removals]
        if not kept:
            return cst.RemoveFromParent()
        kept[-1] = kept[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(body=kept)

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock,
                            updated_node: cst.IndentedBlock) -> cst.IndentedBlock:
        if not updated_node.body:
            return updated_node.with_changes(body=[cst.SimpleStatementLine(body=[cst.Pass()])])
        return updated_node


def _add_import_os(module: cst.Module) -> cst.Module:
    """`import os` after the docstring and `from __future__` imports, keeping comments in place."""
    body = list(module.body)
    index = 0
    if body and isinstance(body[0], cst.SimpleStatementLine) and isinstance(body[0].body[0], cst.Expr) \
            and isinstance(body[0].body[0].value, cst.SimpleString | cst.ConcatenatedString):
        index = 1
    while index < len(body) and _is_future_import(body[index]):
        index += 1
    new = cst.SimpleStatementLine(body=[cst.Import(names=[cst.ImportAlias(name=cst.Name("os"))])])
    if index < len(body):
        following = body[index]
        new = new.with_changes(leading_lines=following.leading_lines)
        body[index] = following.with_changes(leading_lines=())
    body.insert(index, new)
    return module.with_changes(body=body)


def _is_future_import(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(small, cst.ImportFrom) and isinstance(small.module, cst.Name)
        and small.module.value == "__future__" for small in statement.body
    )


def apply_fixes(module: cst.Module, actions: Sequence[FixAction], *, imports_os: bool) -> str:
    """The fixed source of a module."""
    fixer = _Fixer(actions)
    fixed = module.visit(fixer)
    if fixer.replaced and not imports_os:
        fixed = _add_import_os(fixed)
    return fixed.code
