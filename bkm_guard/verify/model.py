"""The records of verification: a held secret, a key pair to verify, and what Binance said.

Raw values live only in `Held` (private slot, masked repr, refuses pickling) and never reach
a `Verification`, which is what every report is made from.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from bkm_guard.masking import fingerprint, mask
from bkm_guard.runtime.signing import KeyType

Status = Literal["live", "rejected", "error", "not-verified"]
Severity = Literal["critical", "high", "medium", "low", "none"]
STATUSES: tuple[Status, ...] = ("live", "rejected", "error", "not-verified")


class Held:
    """A credential value held for signing only: its repr and str show the masked form."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    @property
    def masked(self) -> str:
        return mask(self._value)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self._value)

    def __repr__(self) -> str:
        return f"Held({self.masked}, {self.fingerprint})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a held credential cannot be pickled")


@dataclasses.dataclass(frozen=True)
class KeyPair:
    """An API key with the secret (HMAC) or the private key PEM (Ed25519/RSA) found with it.

    `fingerprints` are those of the values as a scan reports them, so results map back to
    findings; `how` says why these two belong together.
    """

    api_key: Held
    key_type: KeyType
    secret: Held | None = None
    private_key: Held | None = None
    how: str = ""
    line: int = 0
    column: int = 0
    secret_line: int = 0
    fingerprints: frozenset[str] = frozenset()

    @property
    def masked(self) -> str:
        return self.api_key.masked

    @property
    def fingerprint(self) -> str:
        return self.api_key.fingerprint

    @property
    def hex_key(self) -> bool:
        """A 64-hex API key: the futures testnet's kind."""
        value = self.api_key.reveal()
        return len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value)


@dataclasses.dataclass(frozen=True)
class Unpaired:
    """A credential that cannot be verified, and why."""

    fingerprint: str
    masked: str
    line: int
    column: int
    reason: str


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One host tried for one key: what it answered, never the key."""

    environment: str
    host: str
    outcome: Literal["live", "rejected", "error", "skipped"]
    code: int | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Verification:
    """What verification found about one key. No field holds a secret value."""

    masked: str
    fingerprint: str
    status: Status
    reason: str
    key_type: str = ""
    environment: str = ""  # where the key is live (or was last rejected)
    environment_label: str = ""
    host: str = ""
    real_money: bool = False
    code: int | None = None
    permissions: dict[str, bool] = dataclasses.field(default_factory=dict)
    ip_restricted: bool | None = None
    created: str | None = None
    trading_authority_expiration: str | None = None
    attempts: tuple[Attempt, ...] = ()
    severity: Severity = "none"
    security_severity: float | None = None
    next_steps: str = ""
    paired_how: str = ""
    line: int = 0
    column: int = 0
    path: str = ""
    secret_fingerprint: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["attempts"] = [attempt.to_dict() for attempt in self.attempts]
        return data

    @property
    def enabled(self) -> list[str]:
        return [name for name, on in self.permissions.items() if on]
