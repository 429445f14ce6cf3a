"""Credentials: a decrypted key, whose repr and str never show its secrets."""

from __future__ import annotations

import hmac
from typing import Any, NoReturn

from bkm_guard.masking import mask
from bkm_guard.runtime.store.metadata import KeyMetadata, KeyType


class Credentials:
    """A Binance API key with its HMAC secret or its Ed25519/RSA private key (PEM).

    Secrets sit in private slots; repr/str are masked; equality is constant-time; pickling
    and copying are refused, so the secrets are not written anywhere by accident.
    """

    __slots__ = ("_api_key", "_api_secret", "_private_key", "_private_key_password", "metadata")
    _api_key: str
    _api_secret: str | None
    _private_key: str | None
    _private_key_password: str | None
    metadata: KeyMetadata

    def __init__(self, metadata: KeyMetadata, *, api_key: str, api_secret: str | None = None,
                 private_key: str | None = None, private_key_password: str | None = None) -> None:
        if (api_secret is None) == (private_key is None):
            raise ValueError("give an HMAC api_secret or a private_key, not both or neither")
        object.__setattr__(self, "metadata", metadata)
        object.__setattr__(self, "_api_key", api_key)
        object.__setattr__(self, "_api_secret", api_secret)
        object.__setattr__(self, "_private_key", private_key)
        object.__setattr__(self, "_private_key_password", private_key_password)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("Credentials are read-only")

    # -- public, non-secret --
    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def purpose(self) -> str:
        return self.metadata.purpose

    @property
    def key_type(self) -> KeyType:
        return self.metadata.key_type

    @property
    def fingerprint(self) -> str:
        return self.metadata.fingerprint

    @property
    def masked_api_key(self) -> str:
        return self.metadata.masked_api_key

    # -- secret --
    @property
    def api_key(self) -> str:
        return str(self._api_key)

    @property
    def api_secret(self) -> str | None:
        """The HMAC secret; None for an Ed25519 or RSA key."""
        return self._api_secret

    @property
    def private_key(self) -> str | None:
        """The Ed25519/RSA private key as PEM text; None for an HMAC key."""
        return self._private_key

    @property
    def private_key_password(self) -> str | None:
        return self._private_key_password

    def secret_values(self) -> tuple[str, ...]:
        """Every value a log redactor must hide (the API key too: it is half a credential)."""
        values = [self._api_key, self._api_secret, self._private_key, self._private_key_password]
        if self._private_key:
            # a PEM may be logged one line at a time: its base64 lines are secret too
            values += [line for line in str(self._private_key).splitlines()
                       if line and not line.startswith("-----")]
        return tuple(str(v) for v in values if v)

    # -- ready-made arguments for the usual client libraries --
    def for_python_binance(self) -> dict[str, Any]:
        """`binance.Client(**creds.for_python_binance())` (python-binance).

        python-binance reads an Ed25519 key only as an unencrypted PEM of at most 120
        characters (longer text is taken for RSA, and it passes no password to the Ed25519
        reader), so an Ed25519 key is handed over as plain PKCS#8; an RSA key keeps its password.
        """
        if self._api_secret is not None:
            return {"api_key": self.api_key, "api_secret": self._api_secret}
        if self.key_type == "ed25519":
            from bkm_guard.runtime.store.material import pkcs8_pem

            return {"api_key": self.api_key,
                    "private_key": pkcs8_pem(str(self._private_key), self._private_key_password)}
        return {"api_key": self.api_key, "private_key": self._private_key,
                "private_key_pass": self._private_key_password}

    def for_ccxt(self) -> dict[str, Any]:
        """`ccxt.binance(creds.for_ccxt())`: ccxt takes an Ed25519/RSA PEM as `secret`."""
        if self._api_secret is not None:
            return {"apiKey": self.api_key, "secret": self._api_secret}
        from bkm_guard.runtime.store.material import unencrypted_pem

        return {"apiKey": self.api_key,
                "secret": unencrypted_pem(str(self._private_key), self._private_key_password)}

    def for_connector(self) -> dict[str, Any]:
        """`binance.spot.Spot(**creds.for_connector())` (binance-connector)."""
        if self._api_secret is not None:
            return {"api_key": self.api_key, "api_secret": self._api_secret}
        return {"api_key": self.api_key, "private_key": self._private_key,
                "private_key_pass": self._private_key_password}

    def for_futures_connector(self) -> dict[str, Any]:
        """`UMFutures(**creds.for_futures_connector())` / `CMFutures(...)` (binance-futures-connector).

        That library names its arguments `key`/`secret` and signs with HMAC or RSA only."""
        if self._api_secret is not None:
            return {"key": self.api_key, "secret": self._api_secret}
        if self.key_type != "rsa":
            from bkm_guard.errors import InvalidKeyMaterialError

            raise InvalidKeyMaterialError(
                f"binance-futures-connector cannot sign with an {self.key_type} key (HMAC and RSA only): "
                "use binance-sdk-derivatives-trading-usds-futures with creds.for_sdk()")
        return {"key": self.api_key, "private_key": self._private_key,
                "private_key_passphrase": self._private_key_password}

    def for_sdk(self) -> dict[str, Any]:
        """`ConfigurationRestAPI(**creds.for_sdk())` (Binance's binance-sdk-* packages)."""
        if self._api_secret is not None:
            return {"api_key": self.api_key, "api_secret": self._api_secret}
        return {"api_key": self.api_key, "private_key": self._private_key,
                "private_key_passphrase": self._private_key_password}

    # -- safety --
    def __repr__(self) -> str:
        secret = "private_key=" + mask(str(self._private_key)) if self._private_key else (
            "api_secret=" + mask(str(self._api_secret)))
        return (f"Credentials(name={self.name!r}, purpose={self.purpose!r}, "
                f"key_type={self.key_type!r}, api_key={self.masked_api_key}, {secret}, "
                f"fingerprint={self.fingerprint!r})")

    __str__ = __repr__

    def _material(self) -> bytes:
        parts = (self._api_key, self._api_secret, self._private_key, self._private_key_password)
        return "\x00".join("\x01" if p is None else "\x02" + str(p) for p in parts).encode()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return self.name == other.name and hmac.compare_digest(self._material(),
                                                                other._material())

    def __hash__(self) -> int:
        return hash((self.name, self.fingerprint))

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("Credentials cannot be pickled or copied: load them where they are used")

    def __reduce__(self) -> NoReturn:
        raise TypeError("Credentials cannot be pickled or copied: load them where they are used")
