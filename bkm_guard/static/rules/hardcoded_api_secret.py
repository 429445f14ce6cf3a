"""BKM002: a Binance API secret written in Python source."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bkm_guard.static.rules.base import Invalid, Rule, Valid

if TYPE_CHECKING:
    from bkm_guard.static.model import Hit
    from bkm_guard.static.python.context import Context


class HardcodedApiSecret(Rule):
    CODE = "BKM002"
    NAME = "hardcoded-api-secret"
    PREFILTER = "credential"
    MESSAGE = ("hardcoded Binance API secret {where} (masked {masked}); "
               "load it from the environment or bkm_guard.load()")
    FIX = "unsafe"
    WHAT = ("Finds a Binance API secret written in the code: the second argument of a Binance client, "
            "`api_secret=`/`secret=`, the key of `hmac.new(...)`, a secret-named variable, attribute, "
            "dict entry or default, an os.getenv default, or a comment.")
    WHY = ("The secret signs orders and withdrawals. Anyone who sees it (repository, fork, CI log, "
           "pastebin) can act on the account until the key is deleted on Binance.")
    EXAMPLE = 'API_SECRET = "{SECRET}"'
    INSTEAD = 'API_SECRET = os.environ["BINANCE_API_SECRET"]  # or bkm_guard.load("spot-bot").api_secret'
    VALID = (
        Valid('import os\nAPI_SECRET = os.environ.get("BINANCE_API_SECRET", "")\n'),
        Valid('EXPECTED_SIGNATURE = "{HEX}"\n'),
        Valid('import hmac\ndef sign(secret: bytes, payload: bytes) -> bytes:\n'
              '    return hmac.new(secret, payload, "sha256").digest()\n'),
    )
    INVALID = (
        Invalid('API_SECRET = "{SECRET}"\n', 1,
                fixed='import os\nAPI_SECRET = os.environ["BINANCE_API_SECRET"]\n'),
        Invalid('import hashlib, hmac\nsig = hmac.new(b"{SECRET}", b"q", hashlib.sha256)\n', 2,
                fixed='import os\nimport hashlib, hmac\n'
                      'sig = hmac.new(os.environ["BINANCE_API_SECRET"].encode(), b"q", hashlib.sha256)\n'),
        Invalid('from binance.spot import Spot\nspot = Spot(None, "{SECRET}")\n', 2),
        Invalid('from dataclasses import dataclass\n@dataclass\nclass Settings:\n'
                '    api_secret: str = "{SECRET}"\n', 4),
        Invalid('# Binance futures testnet\nTESTNET_API_SECRET = "{HEX}"\n', 2),
    )

    def check(self, ctx: Context) -> Iterable[Hit]:
        return [hit for hit in ctx.credentials if hit.code == self.CODE]
