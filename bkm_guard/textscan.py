"""Text files that are not Python: credentials (BKM004), private keys (BKM003) and insecure
Binance URLs (BKM101), all through the recognizer."""

from __future__ import annotations

from bkm_guard import recognizer
from bkm_guard.analyzer.model import Hit, ReplacePieceText
from bkm_guard.masking import shown_name

_WHAT = {recognizer.Kind.API_KEY: "API key", recognizer.Kind.API_SECRET: "API secret"}


def scan_text(text: str) -> list[Hit]:
    """Every BKM003/BKM004/BKM101 hit in a text. BKM101 hits carry their text fix."""
    hits: list[Hit] = []
    lines: list[str] | None = None
    for match in recognizer.find_all(text):
        if match.kind is recognizer.Kind.INSECURE_URL:
            scheme = match.label.partition("://")[0]
            secure = {"http": "https", "ws": "wss"}[scheme]
            hits.append(Hit("BKM101", match.line, match.column,
                            f"plaintext Binance endpoint `{match.label}`; use {secure}://",
                            match.fingerprint, "", match.line, match.column + match.end - match.start,
                            "high", "safe",
                            (ReplacePieceText(match.start, match.start + len(scheme), secure),)))
        elif match.kind is recognizer.Kind.PRIVATE_KEY:
            last = match.line + text.count("\n", match.start, match.end)
            hits.append(Hit("BKM003", match.line, match.column,
                            f"private key ({match.label} PEM, masked {match.masked}) in a committed file; "
                            f"remove it from the repository and rotate the key on Binance",
                            match.fingerprint, match.masked, last, 1, "high", "no", (), (match.line, last)))
        else:
            if lines is None:
                lines = text.splitlines()
            prefix = lines[match.line - 1][: match.column - 1] if match.line <= len(lines) else ""
            name = recognizer.name_before(prefix)
            what = _WHAT.get(match.kind, "credential (key or secret)")
            # the text before a value may itself be a key (`<key>: <secret>`): shown masked then
            where = f" in `{shown_name(name)}`" if name else ""
            hits.append(Hit("BKM004", match.line, match.column,
                            f"Binance {what}{where} in a text file (masked {match.masked}); move it to a "
                            f"secret store or an untracked file",
                            match.fingerprint, match.masked, match.line,
                            match.column + match.end - match.start, match.confidence, "no"))
    if "Secret" in text:
        from bkm_guard.k8s_secret import find_in_secrets

        for entry in find_in_secrets(text):
            what = _WHAT.get(entry.kind, "credential (key or secret)")
            hits.append(Hit("BKM004", entry.line, entry.column,
                            f"Binance {what} in `{shown_name(entry.name)}` (base64 in a Kubernetes Secret) "
                            f"in a text file (masked {entry.masked}); keep the Secret out of the repository "
                            f"(sealed-secrets, an external secret store)",
                            entry.fingerprint, entry.masked, entry.line, entry.column + entry.length,
                            "high", "no"))
    return hits
