"""BKM101: an http:// or ws:// Binance endpoint."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bkm_guard.static.rules.base import Invalid, Rule, Valid

if TYPE_CHECKING:
    from bkm_guard.static.model import Hit
    from bkm_guard.static.python.context import Context


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
        from bkm_guard.hosts import INSECURE_URL_RE, SECURE_SCHEME, is_binance_host
        from bkm_guard.static.model import Hit, ReplacePiece
        from bkm_guard.static.python.strings import Piece

        for value in ctx.facts.strings:
            joined = value.joined
            if "://" not in joined:
                continue
            urls = [url for url in INSECURE_URL_RE.finditer(joined)
                    if is_binance_host(url.group("host").rstrip(".").lower())]
            if not urls:
                continue
            offsets: list[tuple[int, Piece | None]] = []
            position = 0
            for piece in value.pieces:
                offsets.append((position, piece))
                position += 1 if piece is None else len(piece.text)
            for url in urls:
                host = url.group("host").rstrip(".").lower().replace("\x00", "{}")  # an f-string slot
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
