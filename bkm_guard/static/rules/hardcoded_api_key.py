"""BKM001: a Binance API key written in Python source."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bkm_guard.static.rules.base import Invalid, Rule, Valid

if TYPE_CHECKING:
    from bkm_guard.static.model import Hit
    from bkm_guard.static.python.context import Context


class HardcodedApiKey(Rule):
    CODE = "BKM001"
    NAME = "hardcoded-api-key"
    PREFILTER = "credential"
    MESSAGE = ("hardcoded Binance API key {where} (masked {masked}); "
               "load it from the environment or bkm_guard.load()")
    FIX = "unsafe"
    WHAT = ("Finds a Binance API key written in the code: passed to a Binance client (python-binance, "
            "binance-connector, binance-sdk, ccxt), put in an X-MBX-APIKEY header, assigned to a key-named "
            "variable, attribute, dict entry or default, or left in a comment.")
    WHY = ("Whoever reads the repository, its history, a fork or a CI log can trade with the key. "
           "Deleting the line later does not help: the key stays in git history until it is revoked.")
    EXAMPLE = 'client = Client("{KEY}", api_secret)'
    INSTEAD = ('import bkm_guard\n'
               'creds = bkm_guard.load("spot-bot")\n'
               'client = Client(creds.api_key, creds.api_secret)\n'
               '# or: Client(os.environ["BINANCE_API_KEY"], os.environ["BINANCE_API_SECRET"])')
    VALID = (
        Valid('import os\nfrom binance.client import Client\n'
              'client = Client(os.environ["BINANCE_API_KEY"], os.environ["BINANCE_API_SECRET"])\n'),
        Valid('from binance.client import Client\nclient = Client("your-api-key", "your-api-secret")\n'),
        Valid('checksum = "{HEX}"\n'),
        Valid('api_key_env = "BINANCE_API_KEY"\n'),
    )
    INVALID = (
        Invalid('from binance.client import Client as C\nclient = C("{KEY}", None)\n', 2,
                fixed='import os\nfrom binance.client import Client as C\n'
                      'client = C(os.environ["BINANCE_API_KEY"], None)\n'),
        Invalid('from binance.um_futures import UMFutures\num = UMFutures(key="{HEX}")\n', 2),
        Invalid('import ccxt\nexchange = ccxt.binance({"apiKey": "{KEY}"})\n', 2),
        Invalid('import os\nAPI_KEY = os.getenv("BINANCE_API_KEY", "{KEY}")\n', 2,
                fixed='import os\nAPI_KEY = os.environ["BINANCE_API_KEY"]\n'),
        Invalid('import requests\nrequests.get("https://api.binance.com/api/v3/account",\n'
                '             headers={"X-MBX-APIKEY": "{KEY}"}, timeout=5)\n', 3),
        Invalid('# API_KEY = "{KEY}"\n', 1),
        Invalid('from binance.client import Client\nk = "{KEY}"\nclient = Client(k, None)\n', 2),
    )

    def check(self, ctx: Context) -> Iterable[Hit]:
        return [hit for hit in ctx.credentials if hit.code == self.CODE]
