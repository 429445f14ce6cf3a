"""BKM102: TLS certificate verification turned off on a connection to Binance."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bkm_guard.static.rules.base import Invalid, Rule, Valid

if TYPE_CHECKING:
    from bkm_guard.static.model import Hit
    from bkm_guard.static.python.context import Context


class TlsVerificationDisabled(Rule):
    CODE = "BKM102"
    NAME = "tls-verification-disabled"
    PREFILTER = "tls-off"
    MESSAGE = "TLS certificate verification disabled ({snippet}) on a connection to Binance; remove it"
    FIX = "safe"
    WHAT = ("Finds `verify=False`, `\"verify\": False` (python-binance requests_params), "
            "`session.verify = False` and `sslopt={\"cert_reqs\": ssl.CERT_NONE}` on requests or websockets "
            "that go to Binance: a Binance URL, a constant holding one, `base_url=`, an X-MBX-APIKEY "
            "header, or a python-binance client and its session.")
    WHY = ("Without certificate checks, TLS no longer proves the other end is Binance: a proxy or an "
           "attacker on the network reads the API key and signed requests as if there were no TLS.")
    EXAMPLE = 'requests.get("https://api.binance.com/api/v3/time", timeout=5, verify=False)'
    INSTEAD = ('requests.get("https://api.binance.com/api/v3/time", timeout=5)\n'
               '# behind a TLS-intercepting proxy: verify="/path/to/proxy-ca.pem"')
    VALID = (
        Valid('import requests\nrequests.get("https://metrics.internal.example/health", verify=False)\n'),
        Valid('import requests, certifi\n'
              'requests.get("https://api.binance.com/api/v3/ping", timeout=5, verify=certifi.where())\n'),
    )
    INVALID = (
        Invalid('import requests\n'
                'r = requests.get("https://api.binance.com/api/v3/time", timeout=5, verify=False)\n', 2,
                fixed='import requests\n'
                      'r = requests.get("https://api.binance.com/api/v3/time", timeout=5)\n'),
        # the URL built from module constants
        Invalid('import requests\nURL = "https://api.binance.com"\nMETHOD = "/api/v3/depth"\n'
                'r = requests.get(URL + METHOD, timeout=5, verify=False)\n', 4,
                fixed='import requests\nURL = "https://api.binance.com"\nMETHOD = "/api/v3/depth"\n'
                      'r = requests.get(URL + METHOD, timeout=5)\n'),
        Invalid('from binance.client import Client\nclient = Client(None, None)\n'
                'client.session.verify = False\n', 3,
                fixed='from binance.client import Client\nclient = Client(None, None)\n'),
        Invalid('from binance.client import Client\nclient = Client(None, None,\n'
                '                requests_params={"verify": False, "timeout": 20})\n', 3,
                fixed='from binance.client import Client\nclient = Client(None, None,\n'
                      '                requests_params={"timeout": 20})\n'),
        Invalid('import ssl, websocket\nws = websocket.create_connection("wss://stream.binance.com:9443/ws",\n'
                '                                 sslopt={"cert_reqs": ssl.CERT_NONE})\n', 3,
                fixed='import ssl, websocket\nws = websocket.create_connection("wss://stream.binance.com:9443/ws")\n'),
    )

    def check(self, ctx: Context) -> Iterable[Hit]:
        from bkm_guard import masking
        from bkm_guard.static.model import Hit, Remove

        for off in ctx.facts.tls_off:
            if not any(ctx.linked(link) for link in off.links):
                continue
            line, column = ctx.start(off.report)
            source_line = ctx.source.splitlines()[line - 1].strip() if line else ""
            remove_line, remove_column = ctx.start(off.remove)
            remove = Remove(off.remove_kind, remove_line, remove_column, ctx.span(off.remove)[0])
            yield Hit(self.CODE, line, column,
                      f"TLS certificate verification disabled (`{off.snippet}`) on a connection to "
                      f"Binance; remove it (the default verifies)",
                      masking.fingerprint("BKM102:" + source_line), "", line, column, "high", "safe",
                      (remove,))
