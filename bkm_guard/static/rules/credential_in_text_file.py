"""BKM004: a Binance-shaped credential in a file that is not Python."""

from __future__ import annotations

from bkm_guard.static.rules.base import Invalid, Rule, Valid


class CredentialInTextFile(Rule):
    CODE = "BKM004"
    NAME = "credential-in-text-file"
    PREFILTER = "credential"
    MESSAGE = "Binance API {what} in `{name}` in a text file (masked {masked}); move it to a secret store"
    APPLIES = "text"
    WHAT = ("Finds Binance API keys and secrets in every other text file: .env, JSON, YAML, TOML, INI, "
            "shell, Dockerfile, systemd units, JS/TS, Markdown/RST and notebooks (a notebook's code cells "
            "also go through the Python rules). 64-hex values count only under a key or secret name.")
    WHY = ("Config files, compose files and notebooks are committed, copied into images and pasted into "
           "issues. A key in them is as public as the repository.")
    EXAMPLE = "# .env (committed)\nBINANCE_API_KEY={KEY}"
    INSTEAD = ("# .env.example (committed)\nBINANCE_API_KEY=\n"
               "# and the real .env listed in .gitignore, or `bkm-guard keys add`")
    VALID = (
        Valid("BINANCE_API_KEY=${BINANCE_API_KEY}\n", path=".env"),
        Valid('{"apiKey": "BINANCE_API_KEY", "sha": "{HEX}"}\n', path="config.json"),
        Valid("requests==2.32.3 --hash=sha256:{HEX}\n", path="requirements.txt"),
        # 64 hex count only in a Binance file: here an Ethereum dev-chain account
        Valid('[{"key": "{HEX}", "address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}]\n',
              path="accounts.json"),
        # a user-data-stream listenKey is Binance's own token, not a credential
        Valid('{"binance": {"listenKey": "{KEY}"}}\n', path="stream.json"),
    )
    INVALID = (
        Invalid("BINANCE_API_KEY={KEY}\nBINANCE_API_SECRET={SECRET}\n", 1, path=".env"),
        Invalid("binance:\n  key: {HEX}\n", 2, path="config.yaml"),
        Invalid("const client = new Spot('{KEY}', secret)\n", 1, path="bot.js"),
        # a map from each API key to its secret: the key is no name to print
        Invalid("binance_accounts:\n  {KEY}: {SECRET}\n", 2, path="accounts.yaml"),
    )
