"""Purposes and their policies: which Binance API permissions a key of each purpose may hold.

Permission names are Binance's own field names from `GET /sapi/v1/account/apiRestrictions`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Final, Literal

from bkm_guard.errors import ConfigError

#: Every permission flag of apiRestrictions, with the words a person reads in errors.
PERMISSIONS: Final[Mapping[str, str]] = {
    "enableReading": "reading",
    "enableSpotAndMarginTrading": "spot and margin trading",
    "enableMargin": "margin (loans, repayments, transfers)",
    "enableFutures": "futures",
    "enableVanillaOptions": "European options",
    "enablePortfolioMarginTrading": "portfolio margin trading",
    "enableFixApiTrade": "FIX API trading",
    "enableFixReadOnly": "FIX API read-only",
    "enableWithdrawals": "withdrawals",
    "enableInternalTransfer": "internal transfer",
    "permitsUniversalTransfer": "universal transfer",
}

#: Flags that let a key move money or trade: any of them on means an IP restriction is required.
POWERFUL: Final = frozenset(PERMISSIONS) - {"enableReading", "enableFixReadOnly"}

#: Binance's defaults for a new key: reading on, everything else off.
NEW_KEY_DEFAULTS: Final[Mapping[str, bool]] = {name: name == "enableReading" for name in PERMISSIONS}

#: fields of apiRestrictions that are not permission flags
NON_FLAG_FIELDS: Final = frozenset({"createTime", "tradingAuthorityExpirationTime"})

DEFAULT_MAX_AGE_DAYS: Final = 90
_READ_ONLY: Final = frozenset({"enableReading", "enableFixReadOnly"})

AgeEnforcement = Literal["error", "warn"]


@dataclasses.dataclass(frozen=True)
class Policy:
    """What a key of one purpose may do on Binance, and how old it may get."""

    purpose: str
    allowed: frozenset[str]
    description: str = ""
    max_age_days: int = DEFAULT_MAX_AGE_DAYS
    age_enforcement: AgeEnforcement = "error"
    #: an IP restriction is required whenever a powerful permission is on; True requires it always
    ip_restriction_always: bool = False

    def __post_init__(self) -> None:
        # a flag Binance may add later (enableSomethingNew) may be allowed by name; other
        # unknown names are typos of a known one
        unknown = sorted(name for name in self.allowed - PERMISSIONS.keys() if not is_flag_name(name))
        if unknown:
            raise ConfigError(f"policy {self.purpose!r}: unknown permission(s) {', '.join(unknown)}")
        if self.max_age_days < 1:
            raise ConfigError(f"policy {self.purpose!r}: max_age_days must be at least 1")

    @property
    def forbidden(self) -> frozenset[str]:
        return frozenset(PERMISSIONS) - self.allowed

    def to_dict(self) -> dict[str, object]:
        return {
            "purpose": self.purpose,
            "allowed": sorted(self.allowed),
            "description": self.description,
            "max_age_days": self.max_age_days,
            "age_enforcement": self.age_enforcement,
            "ip_restriction_always": self.ip_restriction_always,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object], *, purpose: str | None = None) -> Policy:
        """A policy from a mapping (a TOML table or a key file header), checked field by field.

        `base = "spot-trading"` starts from a built-in policy; `allow`/`allowed` then replaces
        its permission list and the other keys override one field each.
        """
        known = {"purpose", "base", "allow", "allowed", "description", "max_age_days",
                 "age_enforcement", "ip_restriction_always", "ip_restriction"}
        extra = sorted(set(data) - known)
        if extra:
            raise ConfigError(f"policy: unknown setting(s) {', '.join(extra)}")
        base_name = data.get("base")
        base = builtin_policy(str(base_name)) if base_name is not None else None
        name = str(purpose or data.get("purpose") or (base.purpose if base else ""))
        if not name:
            raise ConfigError("policy: give it a `purpose` name or a `base` purpose")
        allowed_raw = data.get("allowed", data.get("allow"))
        if allowed_raw is None:
            if base is None:
                raise ConfigError(f"policy {name!r}: give `allow = [...]` or a `base` purpose")
            allowed = base.allowed
        elif isinstance(allowed_raw, (list, tuple, set, frozenset)):
            allowed = frozenset(str(item) for item in allowed_raw)
        else:
            raise ConfigError(f"policy {name!r}: `allow` must be a list of permission names")
        max_age = data.get("max_age_days", base.max_age_days if base else DEFAULT_MAX_AGE_DAYS)
        if not isinstance(max_age, int) or isinstance(max_age, bool):
            raise ConfigError(f"policy {name!r}: max_age_days must be a whole number of days")
        enforcement = data.get("age_enforcement", base.age_enforcement if base else "error")
        if enforcement not in ("error", "warn"):
            raise ConfigError(f"policy {name!r}: age_enforcement must be 'error' or 'warn'")
        ip_always: object = data.get("ip_restriction_always", base.ip_restriction_always if base else False)
        if "ip_restriction" in data:
            mode = data["ip_restriction"]
            if mode not in ("always", "when-powerful"):
                raise ConfigError(f"policy {name!r}: ip_restriction must be 'always' or 'when-powerful'")
            ip_always = mode == "always"
        if not isinstance(ip_always, bool):
            raise ConfigError(f"policy {name!r}: ip_restriction_always must be true or false")
        description = str(data.get("description", base.description if base else ""))
        return cls(name, allowed, description, max_age, enforcement, ip_always)


BUILTIN_POLICIES: Final[Mapping[str, Policy]] = {
    policy.purpose: policy
    for policy in (
        Policy("market-data", _READ_ONLY,
               "market data and account reading only: no trading, no transfers"),
        Policy("spot-trading", _READ_ONLY | {"enableSpotAndMarginTrading"},
               "spot orders; no margin, futures, options or money movement"),
        Policy("margin-trading", _READ_ONLY | {"enableSpotAndMarginTrading", "enableMargin"},
               "spot and margin orders, margin loans; no futures or withdrawals"),
        Policy("futures-trading", _READ_ONLY | {"enableFutures"},
               "USD-M and COIN-M futures orders; no spot, margin or withdrawals"),
        Policy("withdrawals", _READ_ONLY | {"enableWithdrawals"},
               "withdrawals to whitelisted addresses; no trading",
               ip_restriction_always=True),
    )
}

PURPOSES: Final = tuple(BUILTIN_POLICIES)


def builtin_policy(purpose: str) -> Policy:
    try:
        return BUILTIN_POLICIES[purpose]
    except KeyError:
        raise ConfigError(
            f"unknown purpose {purpose!r}: use one of {', '.join(PURPOSES)} or a custom policy file"
        ) from None


def answer_time(value: object) -> dt.datetime | None:
    """A time in an apiRestrictions answer (milliseconds since the epoch, UTC), or None when
    it is absent, not a positive number, or out of range: a server controls it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    try:
        return dt.datetime.fromtimestamp(value / 1000, dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def is_flag_name(field: str) -> bool:
    """Binance's permission flags are named enableX or permitsX (ipRestrict aside)."""
    return field.startswith(("enable", "permits")) and field[len("permits" if field.startswith(
        "permits") else "enable"):][:1].isupper()


def malformed_answer(policy: Policy, restrictions: Mapping[str, object]) -> list[str]:
    """What makes an apiRestrictions answer unusable: a flag that is not a JSON boolean, or
    one the policy must see (ipRestrict and every flag it forbids) that is absent.

    The values themselves are never quoted: a server controls them.
    """
    problems = [
        f"{field} is a {type(value).__name__}, not true or false"
        for field, value in sorted(restrictions.items())
        if (field == "ipRestrict" or field in PERMISSIONS or is_flag_name(field))
        and not isinstance(value, bool)
    ]
    missing = sorted(({"ipRestrict"} | policy.forbidden) - restrictions.keys())
    if missing:
        problems.append(f"{', '.join(missing)} missing")
    return problems


def unknown_flags_on(restrictions: Mapping[str, object]) -> list[str]:
    """Flags bkm-guard does not know that Binance reports as enabled."""
    return sorted(field for field, value in restrictions.items()
                  if value is True and field not in PERMISSIONS and is_flag_name(field))


@dataclasses.dataclass(frozen=True, slots=True)
class Violation:
    """One way a key's live permissions break its policy."""

    permission: str
    problem: str

    def __str__(self) -> str:
        return f"{self.permission}: {self.problem}"


def check_restrictions(policy: Policy, restrictions: Mapping[str, object]) -> list[Violation]:
    """Every violation at once, in a stable order; an empty list means the key fits its purpose.

    Call `malformed_answer` first: this function reads only what is `True`. A flag
    bkm-guard does not know that is on breaks every policy that does not allow it by name,
    and counts as powerful (it needs an IP restriction).
    """
    violations = [
        Violation(flag, f"{PERMISSIONS[flag]} is enabled, but a {policy.purpose} key must not have it")
        for flag in PERMISSIONS
        if flag in policy.forbidden and restrictions.get(flag) is True
    ]
    unknown = unknown_flags_on(restrictions)
    violations += [
        Violation(flag, f"{flag} is enabled, a permission bkm-guard does not know, and the "
                        f"{policy.purpose} policy does not allow it by name: disable it on Binance, "
                        f'or allow it in a custom policy (allow = [..., "{flag}"])')
        for flag in unknown if flag not in policy.allowed
    ]
    powerful_on = [flag for flag in sorted(POWERFUL) if restrictions.get(flag) is True] + unknown
    # an allowed powerful flag the answer leaves out may be on: it needs the IP restriction too
    unreported = sorted(POWERFUL & policy.allowed - restrictions.keys())
    if restrictions.get("ipRestrict") is not True and (powerful_on or unreported
                                                         or policy.ip_restriction_always):
        reasons = [f"{', '.join(PERMISSIONS.get(f, f) for f in powerful_on)} enabled"] if powerful_on else []
        if unreported:
            reasons.append(f"{', '.join(unreported)} not reported, so possibly enabled")
        why = "; ".join(reasons) or f"the {policy.purpose} policy requires it"
        violations.append(Violation(
            "ipRestrict", f"no IP restriction ({why}): restrict the key to your servers' IPs on Binance"))
    return violations
