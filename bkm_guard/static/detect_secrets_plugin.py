"""bkm-guard's detect-secrets plugin: Binance API keys, secrets and PEM private keys.

All recognition lives in :mod:`bkm_guard.recognizer`; this class only adapts it to
detect-secrets' line-by-line interface. Users load it with
``detect-secrets scan --plugin plugins/binance.py`` or through ``bkm-detect-secrets``.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

from detect_secrets.core.potential_secret import PotentialSecret
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.util.code_snippet import CodeSnippet

from bkm_guard import recognizer

_SECRET_KINDS = frozenset({
    recognizer.Kind.API_KEY,
    recognizer.Kind.API_SECRET,
    recognizer.Kind.CREDENTIAL,
    recognizer.Kind.PRIVATE_KEY,
})


class BinanceDetector(RegexBasedDetector):
    """Binance API keys and secrets (HMAC), and Ed25519/RSA private keys (bkm-guard)."""

    # The plugin's identity in users' baselines: never change it.
    secret_type = "Binance API Credential"  # noqa: S105 (a label, not a secret)

    # detect-secrets' audit uses the denylist to highlight candidates; recognition proper is
    # analyze_line below, which rejects hashes, PEM bodies, placeholders and doc examples.
    denylist = (re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{64}(?![A-Za-z0-9])"),
                re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"))

    def analyze_line(
        self,
        filename: str,
        line: str,
        line_number: int = 0,
        context: CodeSnippet | None = None,
        **kwargs: Any,
    ) -> set[PotentialSecret]:
        """Secrets on this line, judged with the lines around it (PEM and base64 bodies)."""
        if context is not None and context.lines:
            lines = [text.rstrip("\r\n") for text in context.lines]
            target = context.target_index
        else:
            lines, target = [line], 0
        text = "\n".join(lines)
        found: set[PotentialSecret] = set()
        for match in recognizer.find_all(text, whole_file=False):
            if match.kind not in _SECRET_KINDS or match.line != target + 1:
                continue
            # detect-secrets keeps its own (hashed) record of the value in the baseline
            value = text[match.start : match.end] if match.kind is not recognizer.Kind.PRIVATE_KEY \
                else text[match.start : text.find("-----", match.start + 11) + 5]
            found.add(PotentialSecret(type=self.secret_type, filename=filename, secret=value,
                                      line_number=line_number))
        return found

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        """The secret values in one string (detect-secrets' audit and `scan --string`)."""
        for match in recognizer.find_all(string, whole_file=False):
            if match.kind in _SECRET_KINDS:
                yield string[match.start : match.end]
