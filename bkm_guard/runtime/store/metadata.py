"""KeyMetadata: the non-secret header of a key file, readable without the passphrase."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any, Literal

from bkm_guard.runtime.policy import Policy
from bkm_guard.runtime.store.audit import format_time, parse_time

KeyType = Literal["hmac", "ed25519", "rsa"]
KEY_TYPES: tuple[KeyType, ...] = ("hmac", "ed25519", "rsa")
#: `keys audit` warns this many days before a key's rotation is due.
ROTATION_WARNING_DAYS = 10


@dataclasses.dataclass(frozen=True)
class KeyMetadata:
    """What the store knows about a key besides its secrets.

    Read by `list`/`metadata` without the passphrase, so unauthenticated there; `get` checks
    it (it is the AEAD's associated data) before returning credentials.
    """

    name: str
    purpose: str
    policy: Policy
    key_type: KeyType
    masked_api_key: str
    fingerprint: str
    created: dt.datetime
    rotated: dt.datetime | None
    previous_fingerprints: tuple[str, ...]
    format_version: int
    path: Path
    passphrase_id: str = ""
    #: counts every add and rotate of this name; the store's index holds the current one
    generation: int = 0

    @property
    def changed(self) -> dt.datetime:
        """When the key material was last set: the last rotation, else the creation."""
        return self.rotated or self.created

    def age_days(self, now: dt.datetime | None = None) -> float:
        now = now or dt.datetime.now(dt.timezone.utc)
        return (now - self.changed).total_seconds() / 86400

    @property
    def rotation_due_at(self) -> dt.datetime:
        return self.changed + dt.timedelta(days=self.policy.max_age_days)

    def days_until_rotation(self, now: dt.datetime | None = None) -> float:
        return self.policy.max_age_days - self.age_days(now)

    def rotation_due(self, now: dt.datetime | None = None) -> bool:
        """True once the key is as old as its policy's max_age_days."""
        return self.days_until_rotation(now) <= 0

    def rotation_soon(self, now: dt.datetime | None = None,
                      within_days: float = ROTATION_WARNING_DAYS) -> bool:
        return 0 < self.days_until_rotation(now) <= within_days

    def to_header(self) -> dict[str, Any]:
        return {
            "kind": "key",
            "name": self.name,
            "purpose": self.purpose,
            "policy": self.policy.to_dict(),
            "key_type": self.key_type,
            "masked_api_key": self.masked_api_key,
            "fingerprint": self.fingerprint,
            "created": format_time(self.created),
            "rotated": format_time(self.rotated) if self.rotated else None,
            "previous_fingerprints": list(self.previous_fingerprints),
            "passphrase_id": self.passphrase_id,
            "generation": self.generation,
        }

    @classmethod
    def from_header(cls, header: dict[str, Any], path: Path, version: int) -> KeyMetadata:
        """Raises KeyError/TypeError/ValueError on a malformed header (the caller words it)."""
        if header["kind"] != "key" or header["key_type"] not in KEY_TYPES:
            raise ValueError("not a key header")
        rotated = header["rotated"]
        previous = header["previous_fingerprints"]
        if not isinstance(previous, list):
            raise TypeError("previous_fingerprints")
        generation = header.get("generation", 0)  # files written before generations: 0
        if not isinstance(generation, int) or isinstance(generation, bool) or generation < 0:
            raise TypeError("generation")
        return cls(
            name=str(header["name"]),
            purpose=str(header["purpose"]),
            policy=Policy.from_dict(header["policy"]),
            key_type=header["key_type"],
            masked_api_key=str(header["masked_api_key"]),
            fingerprint=str(header["fingerprint"]),
            created=parse_time(str(header["created"])),
            rotated=parse_time(str(rotated)) if rotated else None,
            previous_fingerprints=tuple(str(item) for item in previous),
            format_version=version,
            path=path,
            passphrase_id=str(header.get("passphrase_id", "")),
            generation=generation,
        )

    def to_json(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """For `keys list/show --format json`."""
        return {
            "name": self.name,
            "purpose": self.purpose,
            "key_type": self.key_type,
            "masked_api_key": self.masked_api_key,
            "fingerprint": self.fingerprint,
            "created": format_time(self.created),
            "rotated": format_time(self.rotated) if self.rotated else None,
            "age_days": round(self.age_days(now), 2),
            "rotation_due": format_time(self.rotation_due_at),
            "previous_fingerprints": list(self.previous_fingerprints),
            "policy": self.policy.to_dict(),
            "format_version": self.format_version,
            "path": str(self.path),
        }
