"""Could any Python rule fire on this module? Answered with the standard library's `ast`.

libcst costs about 140 ms to import and 10-20 µs per byte to parse and resolve names, while
`ast.parse` is C and takes a millisecond or two for a typical module. Most files a pre-commit
hook sees in a bot repository name Binance and still hold nothing for a rule. This gate walks
the `ast` tree once and says whether libcst has anything to decide. It must never say no
where a rule could report (a superset of what the rules look at; tests/gate_test.py runs every
rule's INVALID examples and the corpus through it), and may say yes too often.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from typing import Final

from bkm_guard import recognizer
from bkm_guard.analyzer.apis import LOG_METHODS
from bkm_guard.hosts import INSECURE_URL_RE, is_binance_host

# an environment variable's name or a mapping key, as opposed to a sentence that says "key"
_IDENTIFIER_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,79}")


def rules_could_fire(tree: ast.AST, extra_key_names: Iterable[str] = ()) -> bool:
    """True when some string, keyword, assignment or output call is a candidate for a rule."""
    extra = {name.lower() for name in extra_key_names}
    tainted = _credential_holders(tree, extra)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
            if _suspicious_text(_text(node.value)):
                return True
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
            joined = "".join(_text(leaf.value) for leaf in _constant_leaves(node))
            if _suspicious_text(joined) or _split_credential(node):
                return True
        elif isinstance(node, ast.JoinedStr):
            joined = "".join(_text(v.value) for v in node.values if isinstance(v, ast.Constant))
            if _suspicious_text(joined):
                return True
        elif _disables_tls(node) or _shows_credential(node, tainted, extra):
            return True
    return False


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else ""


def _suspicious_text(text: str) -> bool:
    """A credential, a PEM private key or an insecure Binance URL in (joined) string text."""
    if len(text) >= recognizer.KEY_LENGTH and recognizer.prefilter(text.encode("utf-8", "replace")):
        return True
    if "://" in text:
        return any(is_binance_host(m.group("host")) for m in INSECURE_URL_RE.finditer(text))
    return False


def _constant_leaves(node: ast.expr) -> Iterator[ast.Constant]:
    if isinstance(node, ast.BinOp):
        yield from _constant_leaves(node.left)
        yield from _constant_leaves(node.right)
    elif isinstance(node, ast.Constant):
        yield node


def _split_credential(node: ast.BinOp) -> bool:
    """`"Gwwo…" + "x8eA…"`: pieces of a key, each too short for the byte prefilter."""
    pieces = [_text(leaf.value) for leaf in _constant_leaves(node)]
    return sum(len(p) for p in pieces if p.isalnum() and p.isascii()) >= recognizer.KEY_LENGTH


def _disables_tls(node: ast.AST) -> bool:
    """verify=False, x.verify = False, {"verify": False}, ssl.CERT_NONE."""
    if isinstance(node, ast.keyword):
        return node.arg == "verify" and _is_false(node.value)
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return node.value is not None and _is_false(node.value) and any(
            isinstance(t, ast.Attribute) and t.attr == "verify" for t in targets)
    if isinstance(node, ast.Dict):
        return any(isinstance(k, ast.Constant) and k.value == "verify" and _is_false(v)
                   for k, v in zip(node.keys, node.values, strict=True))
    if isinstance(node, ast.Attribute):
        return node.attr == "CERT_NONE"
    return isinstance(node, ast.Name) and node.id == "CERT_NONE"


def _is_false(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _is_credential_name(name: str, extra: set[str], *, bare_key: bool = True) -> bool:
    """A name that holds a credential; a variable called just `key` is a loop variable far more
    often than a credential, and the rule skips it too (`bare_key=False`)."""
    if name.lower() in extra:
        return True
    return recognizer.role_of_name(name) is not None and (bare_key or name.lower() != "key")


def _mentions_credential(node: ast.AST, tainted: set[str], extra: set[str]) -> bool:
    """Does an expression name a credential: a key-ish name or attribute, a key-ish identifier
    string (an environment variable's name, a dict key), or a name assigned from one of those?"""
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and (
                child.id in tainted or _is_credential_name(child.id, extra, bare_key=False)):
            return True
        if isinstance(child, ast.Attribute) and _is_credential_name(child.attr, extra, bare_key=False):
            return True
        if (isinstance(child, ast.Constant) and isinstance(child.value, str)
                and _IDENTIFIER_RE.fullmatch(child.value) and _is_credential_name(child.value, extra)):
            return True
    return False


def _credential_holders(tree: ast.AST, extra: set[str]) -> set[str]:
    """Names assigned from something that names a credential (`k = os.environ["..._KEY"]`),
    followed through chains of plain assignments (`k2 = k`)."""
    assignments: list[tuple[list[str], ast.expr]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if names:
                assignments.append((names, node.value))
        elif (isinstance(node, ast.AnnAssign | ast.NamedExpr) and isinstance(node.target, ast.Name)
              and node.value is not None):
            assignments.append(([node.target.id], node.value))
    tainted: set[str] = set()
    changed = True
    while changed:
        changed = False
        for names, value in assignments:
            if set(names) <= tainted or not _mentions_credential(value, tainted, extra):
                continue
            tainted.update(names)
            changed = True
    return tainted


def _output_arguments(node: ast.AST) -> list[ast.expr] | None:
    """The shown arguments of print(...), <logger>.info(...) and the like, raise X(...)."""
    if isinstance(node, ast.Raise):
        if isinstance(node.exc, ast.Call):
            return [*node.exc.args, *(k.value for k in node.exc.keywords)]
        return None
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    is_print = isinstance(func, ast.Name) and func.id == "print"
    if is_print or (isinstance(func, ast.Attribute) and func.attr in LOG_METHODS):
        return [*node.args, *(k.value for k in node.keywords)]
    return None


def _shows_credential(node: ast.AST, tainted: set[str], extra: set[str]) -> bool:
    arguments = _output_arguments(node)
    return arguments is not None and any(_mentions_credential(a, tainted, extra) for a in arguments)
