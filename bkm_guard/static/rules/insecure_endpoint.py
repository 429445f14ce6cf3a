"""BKM101: an http:// or ws:// Binance endpoint."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from bkm_guard.static.rules.base import Invalid, Rule, Valid

if TYPE_CHECKING:
    from bkm_guard.static.model import Hit
    from bkm_guard.static.python.context import Context
    from bkm_guard.static.python.strings import StrValue


def _binance_host(ctx: Context, value: StrValue, url: re.Match[str]) -> str | None:
    """The Binance host of an insecure URL in a string, as a label (`api.binance.{}` for a
    template slot), or None. A host that is a run-time part (`f"http://{HOST}/api"`,
    `"ws://" + STREAM_HOST`) is looked up in the constants it comes from."""
    from bkm_guard.hosts import is_binance_host
    from bkm_guard.static.python.strings import GAP

    host = url.group("host").rstrip(".").lower()
    if is_binance_host(host):
        return host.replace(GAP, "{}")  # an f-string slot
    if not host.startswith(GAP):
        return None
    gaps = _gap_expressions(value.node)
    index = value.joined.count(GAP, 0, url.start("host"))
    if gaps is None or index >= len(gaps):
        return None
    found = _host_of(ctx, gaps[index])
    return None if found is None else found + host[1:].replace(GAP, "{}")


def _gap_expressions(node: ast.expr, depth: int = 0) -> list[ast.expr] | None:
    """The expressions behind each GAP of a string expression's joined text, in order (as
    bkm_guard.static.python.strings joins them), or None when the node is no string expression."""
    if isinstance(node, ast.Constant):
        return [] if isinstance(node.value, str | bytes) else None
    if isinstance(node, ast.JoinedStr):
        if not any(isinstance(v, ast.Constant) for v in node.values):
            return None
        return [v.value if isinstance(v, ast.FormattedValue) else v for v in node.values
                if not (isinstance(v, ast.Constant) and isinstance(v.value, str))]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and depth < 50:
        left, right = _gap_expressions(node.left, depth + 1), _gap_expressions(node.right, depth + 1)
        if left is None and right is None:
            return None
        return [*(left if left is not None else [node.left]), *(right if right is not None else [node.right])]
    return None


_HOST_RE = re.compile(r"[A-Za-z0-9.\-\x00]+")


def _host_of(ctx: Context, node: ast.expr, depth: int = 0) -> str | None:
    """The Binance host a run-time part holds: a constant, a name or attribute assigned one."""
    from bkm_guard.hosts import is_binance_host

    if depth > 4:
        return None
    value = ctx.facts.string(node)
    if value is not None:
        match = _HOST_RE.match(value.joined)
        host = match.group().rstrip(".").lower() if match else ""
        return host.replace("\x00", "{}") if "." in host and is_binance_host(host) else None
    candidates: list[ast.expr] = []
    if isinstance(node, ast.Name):
        candidates = list(ctx.facts.values_of(node))
    elif isinstance(node, ast.Attribute):
        candidates = [*ctx.facts.attr_values.get(node.attr, ()), *ctx.facts.name_values.get(node.attr, ())]
    for candidate in candidates:
        found = _host_of(ctx, candidate, depth + 1)
        if found is not None:
            return found
    return None


class InsecureEndpoint(Rule):
    CODE = "BKM101"
    NAME = "insecure-endpoint"
    PREFILTER = "insecure-url"
    MESSAGE = "plaintext Binance endpoint `{url}`; use {secure}"
    FIX = "safe"
    APPLIES = "both"
    WHAT = ("Finds `http://` and `ws://` URLs on Binance hosts (binance.com, binance.vision, "
            "binancefuture.com, binance.us, binanceops.com and their subdomains, also TLD templates such "
            "as `api.binance.{}`) in any string form: plain, f-string, `\"http://\" + host`, `base_url=`, "
            "`stream_url=`, class constants, docstrings and comments, and other text files.")
    WHY = ("Without TLS, anyone on the path (Wi-Fi, proxy, ISP) reads the X-MBX-APIKEY header and the "
           "signed query and can replay or alter orders. Binance serves every endpoint over TLS.")
    EXAMPLE = 'spot = Spot(base_url="{HTTP}://api.binance.com")'
    INSTEAD = 'spot = Spot(base_url="https://api.binance.com")'
    VALID = (
        Valid('BASE = "https://api.binance.com"\nWS = "wss://stream.binance.com:9443/ws"\n'),
        Valid('PHISHING = "{HTTP}://api.binance.com.evil.example/"\nLOCAL = "{WS}://localhost:8765"\n'),
    )
    INVALID = (
        Invalid('BASE_URL = "{HTTP}://api.binance.com"\n', 1,
                fixed='BASE_URL = "https://api.binance.com"\n'),
        Invalid('url = "{HTTP}://" + "fapi.binance.com" + "/fapi/v1/klines"\n', 1,
                fixed='url = "https://" + "fapi.binance.com" + "/fapi/v1/klines"\n'),
        Invalid('def url(s: str) -> str:\n    return f"{WS}://fstream.binance.com/ws/{s}@markPrice"\n', 2,
                fixed='def url(s: str) -> str:\n    return f"wss://fstream.binance.com/ws/{s}@markPrice"\n'),
        Invalid("stream_url = \"{WS}://stream.binance.com:9443/ws\"\n", 1, path="settings.toml",
                fixed="stream_url = \"wss://stream.binance.com:9443/ws\"\n"),
        # python-binance's style: the TLD is a template slot
        Invalid('class Client:\n    API_URL = "{HTTP}://api.binance.{}/api"\n', 2,
                fixed='class Client:\n    API_URL = "https://api.binance.{}/api"\n'),
        # comments are copied into code
        Invalid("# try it: {HTTP}://testnet.binanceops.com/eapi/v1/time\nimport requests\n", 1,
                fixed="# try it: https://testnet.binanceops.com/eapi/v1/time\nimport requests\n"),
    )

    def check(self, ctx: Context) -> Iterable[Hit]:
        from bkm_guard import masking
        from bkm_guard.hosts import INSECURE_URL_RE, SECURE_SCHEME
        from bkm_guard.static.model import Hit, ReplacePiece
        from bkm_guard.static.python.strings import Piece

        for value in ctx.facts.strings:
            joined = value.joined
            if "://" not in joined:
                continue
            urls = [(url, host) for url in INSECURE_URL_RE.finditer(joined)
                    if (host := _binance_host(ctx, value, url)) is not None]
            if not urls:
                continue
            offsets: list[tuple[int, Piece | None]] = []
            position = 0
            for piece in value.pieces:
                offsets.append((position, piece))
                position += 1 if piece is None else len(piece.text)
            for url, host in urls:
                scheme = url.group("scheme").lower()
                label = f"{scheme}://{host}"
                secure = SECURE_SCHEME[scheme]
                piece_start, piece = next(((o, p) for o, p in reversed(offsets) if o <= url.start()),
                                          (0, None))
                if piece is None:
                    continue
                k = url.start() - piece_start
                line, column = ctx.index.position(piece.start)
                fix: tuple[ReplacePiece, ...] = ()
                raw_at = k if piece.raw == piece.text else piece.raw.find(url.group("scheme") + "://")
                if raw_at >= 0 and piece.raw[raw_at:].lower().startswith(scheme + "://"):
                    at = piece.raw_start + raw_at
                    fix = (ReplacePiece(at, at + len(scheme), secure),)
                    line, column = ctx.index.position(at)
                yield Hit(self.CODE, line, column,
                          f"plaintext Binance endpoint `{label}`; use {secure}://",
                          masking.fingerprint("BKM101:" + label), "", line, column + len(url.group()),
                          "high", "safe" if fix else "no", fix, ctx.lines(value.node))
        from bkm_guard.static.python.comments import insecure_urls_in_comments

        for match in insecure_urls_in_comments(ctx.source):
            scheme = match.label.partition("://")[0]
            secure = SECURE_SCHEME[scheme]
            yield Hit(self.CODE, match.line, match.column,
                      f"plaintext Binance endpoint `{match.label}` in a comment; use {secure}://",
                      match.fingerprint, "", match.line, match.column + match.end - match.start, "high",
                      "safe", (ReplacePiece(match.start, match.start + len(scheme), secure),))
