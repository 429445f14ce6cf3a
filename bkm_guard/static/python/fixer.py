"""Apply the fixes the rules offered to one Python source, losslessly.

Replacements (`http` → `https`, a literal → `os.environ["NAME"]`) are edits of the text at the
offsets the analysis found. Removals (`verify=False`, `"verify": False`, `session.verify = False`)
need the commas and lines around them to come out right: only they, and adding `import os`, go
through libcst, whose round trip keeps every other byte of the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from bkm_guard.static.model import FixAction, Remove, ReplacePiece, ReplaceWithEnv

# a call argument or a dict element: both carry their own trailing comma
_Listed = TypeVar("_Listed", cst.Arg, cst.BaseDictElement)


class _Remover(cst.CSTTransformer):
    """Drops the arguments, dict elements and small statements that start where the rules said."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, removals: Sequence[Remove]) -> None:
        super().__init__()
        self.wanted = {(r.kind, r.line, r.column) for r in removals}
        self.removals: set[int] = set()

    def _mark(self, kind: str, node: cst.CSTNode) -> None:
        position = self.get_metadata(PositionProvider, node).start
        if (kind, position.line, position.column + 1) in self.wanted:
            self.removals.add(id(node))

    def visit_Arg(self, node: cst.Arg) -> None:
        self._mark("arg", node)

    def visit_DictElement(self, node: cst.DictElement) -> None:
        self._mark("dict-element", node)

    def visit_Assign(self, node: cst.Assign) -> None:
        self._mark("statement", node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._mark("statement", node)

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


def apply_fixes(source: str, actions: Sequence[FixAction], *, imports_os: bool) -> str:
    """The fixed source of a module."""
    edits = sorted({(a.start, a.end, _replacement(a)) for a in actions
                    if isinstance(a, ReplacePiece | ReplaceWithEnv)}, reverse=True)
    removals = [a for a in actions if isinstance(a, Remove)]
    text = source
    last = len(text) + 1
    for start, end, replacement in edits:
        if end > last:  # overlapping edits: the outer one was applied already
            continue
        text = text[:start] + replacement + text[end:]
        last = start
    replaced = any(isinstance(a, ReplaceWithEnv) for a in actions)
    if not removals and (imports_os or not replaced):
        return text
    # positions of removals move with the edits made before them on their line
    moved: list[Remove] = []
    for removal in removals:
        shift = sum(len(r) - (e - s) for s, e, r in edits if e <= removal.offset)
        offset = removal.offset + shift
        line, column = _LineStarts(text).position(offset) if shift else (removal.line, removal.column)
        moved.append(Remove(removal.kind, line, column, offset))
    module = cst.parse_module(text)
    if moved:
        module = MetadataWrapper(module, unsafe_skip_copy=True).visit(_Remover(moved))
    if replaced and not imports_os:
        module = _add_import_os(module)
    return module.code


def _replacement(action: ReplacePiece | ReplaceWithEnv) -> str:
    if isinstance(action, ReplacePiece):
        return action.text
    return f'os.environ["{action.env_name}"]' + (".encode()" if action.is_bytes else "")


class _LineStarts:
    def __init__(self, text: str) -> None:
        import re

        self.starts = [0, *(m.end() for m in re.finditer("\n", text))]

    def position(self, offset: int) -> tuple[int, int]:
        import bisect

        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1
