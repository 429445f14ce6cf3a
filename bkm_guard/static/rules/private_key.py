"""BKM003: a PEM private key that can be a Binance API key (Ed25519, RSA) in source or committed as a file."""

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
    WHAT = ("Finds PEM private keys that can be Binance API keys: Ed25519 or RSA, told from the key's "
            "DER (PKCS#8, PKCS#1, OpenSSH), and encrypted PKCS#8 whose type is hidden. They are found in "
            "string literals, `private_key=` arguments, one-line strings with `\\n` escapes, and "
            "private-key files (.pem, .key, id_rsa, id_ed25519 ...) committed to the tree. EC and DSA "
            "keys are not Binance keys; an inline key in a file that never mentions Binance (a crypto "
            "library's test vectors) is not reported, a committed key file always is.")
    WHY = ("An Ed25519 or RSA API key signs requests exactly like an HMAC secret: whoever has the file "
           "can trade. Public keys and certificates are fine and are not reported.")
    EXAMPLE = 'PRIVATE_KEY = """{PEM}"""'
    INSTEAD = ('with open(os.environ["BINANCE_PRIVATE_KEY_PATH"], "rb") as fh:  # outside the repository\n'
               '    private_key = fh.read()')
    VALID = (
        Valid('PUBLIC = "-----BEGIN PUBLIC KEY-----\\nMCowBQYDK2VwAyEA...\\n-----END PUBLIC KEY-----"\n'),
        Valid('key_path = "~/.ssh/id_ed25519"\n'),
        # inline in a file that is not Binance's (a crypto library's test vectors): not a Binance key
        Valid('def test_load():\n    load_pem_private_key(b"""{PEM}""", None)\n'),
    )
    INVALID = (
        Invalid('# the bot\'s Binance Ed25519 API key\nPRIVATE_KEY_PEM = "{PEM}"\n', 2),
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
