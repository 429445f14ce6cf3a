"""The environment `bkm-guard run` gives a bot: its credentials in the bot's own convention.

Each style names the variables one bot reads (from the bots' documentation):

- `generic`: BINANCE_API_KEY, and BINANCE_API_SECRET (HMAC) or BINANCE_PRIVATE_KEY_FILE (the
  path of a 0600 PEM file, for an Ed25519/RSA key).
- `freqtrade`: FREQTRADE__EXCHANGE__KEY / FREQTRADE__EXCHANGE__SECRET (freqtrade maps
  FREQTRADE__SECTION__KEY to its configuration). For an RSA or Ed25519 key freqtrade's docs
  put the PEM text itself in FREQTRADE__EXCHANGE__SECRET (ccxt signs with it); there is no
  file option, so that is what this style does.
- `ccxt`: BINANCE_APIKEY / BINANCE_SECRET, the EXCHANGEID_CREDENTIAL names ccxt's own CLI and
  tests read; ccxt takes a PEM as the secret (unencrypted: no password goes along), and tells
  RSA (PEM text over 120 characters) from Ed25519 (a PKCS#8 Ed25519 PEM is 119) by length.
- `chrisleekr` / `chrisleekr-test`: BINANCE_LIVE_API_KEY / BINANCE_LIVE_SECRET_KEY (or the
  BINANCE_TEST_* pair) of chrisleekr/binance-trading-bot (config/custom-environment-variables.json).
  Its configuration has an API key and a secret key only: HMAC keys only.
- `none`: no credentials at all; the checks still gate the start. For hummingbot, which has no
  environment convention for exchange keys (`connect binance` stores them encrypted in
  conf/connectors/binance.yml under its own password).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from bkm_guard.errors import ConfigError

if TYPE_CHECKING:
    from bkm_guard.runtime.store import Credentials


@dataclasses.dataclass(frozen=True)
class EnvStyle:
    """One bot's variable names. `secret` takes the HMAC secret; a private key goes to
    `private_key_file` (a path) if the style has one, else its PEM text to `secret`."""

    name: str
    api_key: str | None
    secret: str | None
    private_key_file: str | None = None
    hmac_only: bool = False
    doc: str = ""

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(v for v in (self.api_key, self.secret, self.private_key_file) if v)


STYLES: Final[Mapping[str, EnvStyle]] = {
    style.name: style for style in (
        EnvStyle("generic", "BINANCE_API_KEY", "BINANCE_API_SECRET", "BINANCE_PRIVATE_KEY_FILE",
                 doc="BINANCE_API_KEY + BINANCE_API_SECRET (HMAC) or BINANCE_PRIVATE_KEY_FILE"),
        EnvStyle("freqtrade", "FREQTRADE__EXCHANGE__KEY", "FREQTRADE__EXCHANGE__SECRET",
                 doc="FREQTRADE__EXCHANGE__KEY + FREQTRADE__EXCHANGE__SECRET (a PEM as text)"),
        EnvStyle("ccxt", "BINANCE_APIKEY", "BINANCE_SECRET",
                 doc="BINANCE_APIKEY + BINANCE_SECRET (a PEM as text), ccxt's names"),
        EnvStyle("chrisleekr", "BINANCE_LIVE_API_KEY", "BINANCE_LIVE_SECRET_KEY", hmac_only=True,
                 doc="chrisleekr/binance-trading-bot live: BINANCE_LIVE_API_KEY + "
                     "BINANCE_LIVE_SECRET_KEY (HMAC only)"),
        EnvStyle("chrisleekr-test", "BINANCE_TEST_API_KEY", "BINANCE_TEST_SECRET_KEY",
                 hmac_only=True,
                 doc="chrisleekr/binance-trading-bot testnet: BINANCE_TEST_API_KEY + "
                     "BINANCE_TEST_SECRET_KEY (HMAC only)"),
        EnvStyle("none", None, None,
                 doc="no credentials: the checks only gate the start (hummingbot keeps its own)"),
    )
}

#: Every credential variable of every style: none is inherited by the child from our own
#: environment, so a stale key from the shell never rides along with the checked one.
CREDENTIAL_VARIABLES: Final = frozenset(v for style in STYLES.values() for v in style.variables)
#: The guard's own secrets: the child never sees the store's passphrase.
GUARD_SECRET_PREFIXES: Final = ("BKM_GUARD_PASSPHRASE", "BKM_GUARD_NEW_PASSPHRASE")


def style(name: str) -> EnvStyle:
    try:
        return STYLES[name]
    except KeyError:
        raise ConfigError(f"unknown --env style {name!r}: use one of {', '.join(STYLES)}") from None


def child_environment(base: Mapping[str, str], env_style: EnvStyle, creds: Credentials,
                      private_key_path: str | None) -> dict[str, str]:
    """`base` without the guard's secrets and any credential variable, plus the style's."""
    env = {name: value for name, value in base.items()
           if name not in CREDENTIAL_VARIABLES and not name.startswith(GUARD_SECRET_PREFIXES)}
    if env_style.api_key is None:
        return env
    env[env_style.api_key] = creds.api_key
    if creds.api_secret is not None:
        env[env_style.secret or env_style.api_key + "_SECRET"] = creds.api_secret
    elif env_style.private_key_file is not None:
        if private_key_path is None:
            raise ValueError("this style needs the private key file")
        env[env_style.private_key_file] = private_key_path
    else:
        env[env_style.secret or env_style.api_key + "_SECRET"] = unencrypted_private_key(creds)
    return env


def needs_key_file(env_style: EnvStyle, creds: Credentials) -> bool:
    return creds.private_key is not None and env_style.private_key_file is not None


def refuse_unsupported(env_style: EnvStyle, creds: Credentials) -> None:
    if env_style.hmac_only and creds.api_secret is None:
        raise ConfigError(
            f"--env {env_style.name}: that bot's configuration takes an API key and an HMAC secret "
            f"only, and key {creds.name!r} is {creds.key_type}: use an HMAC key for it, or "
            "--env generic if the bot can read a private key file")


def unencrypted_private_key(creds: Credentials) -> str:
    """The PEM without its password: what a child takes (the store is the encryption)."""
    from bkm_guard.runtime.store.material import unencrypted_pem

    return unencrypted_pem(str(creds.private_key), creds.private_key_password)


def write_private_key(directory: str, creds: Credentials) -> str:
    """The private key in a new 0600 file in `directory` (itself 0700); returns its path."""
    path = os.path.join(directory, "private-key.pem")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        data = unencrypted_private_key(creds).encode("ascii")
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)
    return path
