"""BKM003: a PEM private key (Ed25519, RSA, EC, OpenSSH) in source or committed as a file."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bkm_guard.static.rules.base import Invalid, Rule, Valid

if TYPE_CHECKING:
    from bkm_guard.static.model import Hit
    from bkm_guard.static.python.context import Context


class PrivateKey(Rule):
    CODE = "BKM003"
    NAME = "private-key"
    PREFILTER = "private-key"
    MESSAGE = "hardcoded private key ({label} PEM, masked {masked}); keep it out of the repository"
    APPLIES = "both"
    WHAT = ("Finds PEM private keys (PKCS#8 plain or encrypted, PKCS#1 RSA, EC, OpenSSH), in string "
            "literals, `private_key=` arguments, one-line strings with `\\n` escapes, and private-key "
            "files (.pem, .key, id_rsa, id_ed25519 ...) committed to the tree.")
    WHY = ("An Ed25519 or RSA API key signs requests exactly like an HMAC secret: whoever has the file "
           "can trade. Public keys and certificates are fine and are not reported.")
    EXAMPLE = 'PRIVATE_KEY = """{PEM}"""'
    INSTEAD = ('with open(os.environ["BINANCE_PRIVATE_KEY_PATH"], "rb") as fh:  # outside the repository\n'
               '    private_key = fh.read()')
    VALID = (
        Valid('PUBLIC = "-----BEGIN PUBLIC KEY-----\\nMCowBQYDK2VwAyEA...\\n-----END PUBLIC KEY-----"\n'),
        Valid('key_path = "~/.ssh/id_ed25519"\n'),
    )
    INVALID = (
        Invalid('PRIVATE_KEY_PEM = "{PEM}"\n', 1),
        Invalid('from binance.spot import Spot\nclient = Spot(api_key=None,\n'
                '              private_key="{PEM}")\n', 3),
        Invalid('{PEM}', 1, path="keys/trading.pem"),
    )

    def check(self, ctx: Context) -> Iterable[Hit]:
        from bkm_guard.static.model import Hit

        for match in ctx.private_keys:
            line_end = ctx.line_of(match.end)
            yield Hit(self.CODE, match.line, match.column,
                      f"hardcoded private key ({match.label} PEM, masked {match.masked}); keep it in a "
                      f"file outside the repository or in the bkm-guard key store",
                      match.fingerprint, match.masked, line_end, 1, "high", "no", (),
                      (match.line, max(line_end, match.line)))
