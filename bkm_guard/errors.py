"""Every error bkm-guard raises on purpose: one base class, one small subclass per cause.

Messages are one line, say what to do, and never hold secret material.
"""

from __future__ import annotations


class GuardError(Exception):
    """Base class: bkm-guard refused to go on, and the message says why."""


class ConfigError(GuardError):
    """The configuration ([tool.bkm-guard], a policy file, an argument) is invalid."""


class StoreError(GuardError):
    """The key store cannot be used as it is."""


class KeyNotFoundError(StoreError):
    """No key of that name is in the store."""


class KeyPendingError(StoreError):
    """A generated key waits for its API key from Binance (`bkm-guard keys attach NAME`)."""


class KeyExistsError(StoreError):
    """A key of that name, or the same API key under another name, is already stored."""


class InvalidKeyNameError(StoreError):
    """A key name that is not of the form [a-z0-9][a-z0-9._-]{0,63}."""


class InsecurePermissionsError(StoreError):
    """A key file or the store directory is readable or writable by group or others."""


class DecryptionError(StoreError):
    """Wrong passphrase, or the key file was changed or truncated (the two look the same)."""


class RollbackError(StoreError):
    """A key file is older than the store's authenticated index says (an old copy put back)."""


class PassphraseError(StoreError):
    """No passphrase could be had, or it is not acceptable."""


class InvalidKeyMaterialError(StoreError):
    """The API key, secret or private key given is not of a valid shape."""


class PolicyViolationError(GuardError):
    """The key has more power than its purpose allows, or is too old."""


class KeyExpiredError(PolicyViolationError):
    """The key is past its rotation age."""


class PermissionViolationError(PolicyViolationError):
    """The key's live permissions on Binance break its purpose's policy."""


class BinanceAPIError(GuardError):
    """Binance answered with an error, or could not be reached."""


class BinanceAuthError(BinanceAPIError):
    """Binance rejected the key or its signature (-2015, -2014, -1022, -1002)."""


class BinanceRateLimitError(BinanceAPIError):
    """Binance asked us to back off (429) or banned the IP for a while (418)."""


class BinanceClockError(BinanceAPIError):
    """Binance rejected the request's timestamp (-1021) even after the clock offset was corrected."""


class BinanceMalformedAnswerError(BinanceAPIError):
    """Binance's apiRestrictions answer lacks a flag the policy needs, or has one that is not a boolean."""


class BinanceUnavailableError(BinanceAPIError):
    """Binance could not be reached, timed out, or answered 5xx or invalid JSON."""


class InsecureEndpointError(GuardError):
    """A base URL that is not HTTPS, or not a Binance host where one is required."""
