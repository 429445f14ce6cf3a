"""The runtime guard: `bkm_guard.load(name)` at bot start-up, failing closed.

    creds = bkm_guard.load("spot-bot")
    client = Client(**creds.for_python_binance())

In order: the store's directory and file permissions, decryption, the key's age against
its purpose's rotation policy, the key's live permissions on Binance
(`GET /sapi/v1/account/apiRestrictions`) against the policy, and one audit-log line.
Credentials come back only when everything checks out; otherwise a `GuardError` subclass
is raised whose one-line message says what is wrong and how to fix it.

`check_key()` runs the same checks and returns a `CheckReport` instead of raising, for
`bkm-guard keys check`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

from bkm_guard import hosts
from bkm_guard.errors import (
    BinanceAPIError,
    BinanceMalformedAnswerError,
    GuardError,
    InsecurePermissionsError,
    KeyExpiredError,
    PermissionViolationError,
    PolicyViolationError,
    StoreError,
)
from bkm_guard.runtime.policy import (
    PERMISSIONS,
    POWERFUL,
    Policy,
    Violation,
    answer_time,
    check_restrictions,
    malformed_answer,
    unknown_flags_on,
)

if TYPE_CHECKING:
    from bkm_guard.runtime.store import Credentials, KeyStore

__all__ = [
    "CheckReport",
    "GuardWarning",
    "KeyAgeWarning",
    "PermissionRow",
    "TradingAuthorityWarning",
    "UnknownPermissionWarning",
    "check_key",
    "evaluate_restrictions",
    "load",
]

log = logging.getLogger("bkm_guard")

CheckMode = Literal["live", "offline"]
Outcome = Literal["pass", "violation", "error"]

#: a key gets a rotation warning from this share of its policy's maximum age
AGE_WARNING_FRACTION: Final = 0.8
#: tradingAuthorityExpirationTime this close (or past) gives a warning
TRADING_AUTHORITY_WARNING_DAYS: Final = 7
_DAY_S: Final = 86400.0
_FIX_ON_BINANCE: Final = ("fix the key on Binance's API Management page (or create a new key with "
                          "only what the purpose needs and `bkm-guard keys rotate {name}`)")


class GuardWarning(UserWarning):
    """Something about a loaded key needs attention soon, but does not stop the bot."""


class KeyAgeWarning(GuardWarning):
    """The key is near (or, with a warn-only policy, past) its rotation age."""


class TradingAuthorityWarning(GuardWarning):
    """The key's trading authority on Binance expires within 7 days, or has expired."""


class UnknownPermissionWarning(GuardWarning):
    """Binance reports a permission flag this version of bkm-guard does not know."""


@dataclasses.dataclass(frozen=True)
class PermissionRow:
    """One line of the `keys check` table: a Binance permission against the key's policy."""

    permission: str  # Binance's field name ("enableWithdrawals", "ipRestrict")
    label: str  # what a person reads ("withdrawals", "IP restriction")
    actual: bool | None  # what Binance says; None when not checked or not reported
    expected: str  # "allowed", "forbidden", "required", "optional"
    ok: bool
    problem: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class CheckReport:
    """Everything one check found about one key; never holds secret material."""

    name: str
    check: CheckMode
    outcome: Outcome = "error"
    purpose: str = ""
    key_type: str = ""
    masked_api_key: str = ""
    fingerprint: str = ""
    endpoint: str = ""
    age_days: float | None = None
    max_age_days: int | None = None
    age_enforcement: str = ""
    binance_created: str | None = None
    trading_authority_expiration: str | None = None
    permissions: list[PermissionRow] = dataclasses.field(default_factory=list)
    violations: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    error: str = ""
    error_type: str = ""
    # (message, category) pairs for load() to emit; not part of the report's data
    _warning_kinds: list[tuple[str, type[GuardWarning]]] = dataclasses.field(
        default_factory=list, repr=False)
    _age_expired: bool = dataclasses.field(default=False, repr=False)

    @property
    def exit_code(self) -> int:
        """0 pass, 1 violation, 2 could not check (the `keys check` contract)."""
        return {"pass": 0, "violation": 1}.get(self.outcome, 2)

    def to_dict(self) -> dict[str, Any]:
        data = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)
                if not field.name.startswith("_")}
        data["permissions"] = [row.to_dict() for row in self.permissions]
        data["exit_code"] = self.exit_code
        return data

    def warn(self, message: str, category: type[GuardWarning]) -> None:
        self.warnings.append(message)
        self._warning_kinds.append((message, category))


# -- policy evaluation --------------------------------------------------------------------


Notes = list[tuple[str, type[GuardWarning]]]


def evaluate_restrictions(policy: Policy, restrictions: Mapping[str, Any],
                          now: dt.datetime | None = None,
                          ) -> tuple[list[PermissionRow], list[Violation], Notes]:
    """Rows for each permission, every violation at once, and warnings, for one apiRestrictions answer.

    On top of `policy.check_restrictions`: a `market-data` key must not be able to trade or
    move money at all, whatever a custom policy allows; trading authority that expires within
    7 days, and flags bkm-guard does not know yet, give warnings.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    violations = check_restrictions(policy, restrictions)
    flagged = {violation.permission for violation in violations}
    if policy.purpose == "market-data":
        for flag in sorted(POWERFUL):
            if restrictions.get(flag) is True and flag not in flagged:
                violations.append(Violation(
                    flag, f"{PERMISSIONS[flag]} is enabled, but a market-data key must not be able "
                          "to trade or move money at all"))
                flagged.add(flag)
    problems = {violation.permission: violation.problem for violation in violations}
    rows = [
        PermissionRow(flag, label, _flag(restrictions, flag),
                      "allowed" if flag in policy.allowed and flag not in problems else "forbidden",
                      flag not in problems, problems.get(flag, ""))
        for flag, label in PERMISSIONS.items()
    ]
    powerful_on = any(restrictions.get(flag) is True for flag in POWERFUL)
    rows.append(PermissionRow(
        "ipRestrict", "IP restriction", _flag(restrictions, "ipRestrict"),
        "required" if policy.ip_restriction_always or powerful_on else "optional",
        "ipRestrict" not in problems, problems.get("ipRestrict", "")))
    notes: Notes = []
    for field in unknown_flags_on(restrictions):
        if field in policy.allowed:  # allowed by name; one not allowed is a violation above
            notes.append((f"Binance reports a permission bkm-guard does not know yet, {field}, as "
                          f"enabled; the {policy.purpose} policy allows it by name",
                          UnknownPermissionWarning))
    expiry = answer_time(restrictions.get("tradingAuthorityExpirationTime"))
    if expiry is not None and restrictions.get("enableSpotAndMarginTrading") is True:
        days = (expiry - now).total_seconds() / _DAY_S
        when = expiry.strftime("%Y-%m-%d %H:%M UTC")
        if days < 0:
            notes.append((f"the key's spot and margin trading authority expired on {when}: renew it "
                          "on Binance's API Management page", TradingAuthorityWarning))
        elif days <= TRADING_AUTHORITY_WARNING_DAYS:
            notes.append((f"the key's spot and margin trading authority expires on {when} (in "
                          f"{days:.1f} days): renew it on Binance's API Management page",
                          TradingAuthorityWarning))
    return rows, violations, notes


def _flag(restrictions: Mapping[str, Any], name: str) -> bool | None:
    value = restrictions.get(name)
    return value if isinstance(value, bool) else None


def _age(report: CheckReport, policy: Policy, name: str, age_days: float, *, what: str) -> None:
    """Rotation policy: a warning from 80% of the maximum age, a violation past it."""
    limit = policy.max_age_days
    rotate = (f"create a new key on Binance, `bkm-guard keys rotate {name}`, then delete the old "
              "key on Binance")
    if age_days > limit:
        message = (f"{what} {age_days:.0f} days old, past the {limit}-day rotation limit of the "
                   f"{policy.purpose} policy: {rotate}")
        if policy.age_enforcement == "warn":
            report.warn(message, KeyAgeWarning)
        else:
            report.violations.append(message)
            report._age_expired = True
    elif age_days >= AGE_WARNING_FRACTION * limit:
        report.warn(f"{what} {age_days:.0f} days old; rotation is due in {limit - age_days:.0f} days "
                    f"({limit}-day {policy.purpose} policy): {rotate}", KeyAgeWarning)


# -- the checks ---------------------------------------------------------------------------


def _open_store(store: KeyStore | str | os.PathLike[str] | None) -> KeyStore:
    from bkm_guard.runtime.store import KeyStore

    return store if isinstance(store, KeyStore) else KeyStore(store)


def _fetch_restrictions(creds: Credentials, *, base_url: str | None, ca_bundle: str | None,
                        timeout: float, trust_host: bool) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + timeout  # the budget includes loading the HTTP stack
    from bkm_guard.runtime.binance_api import BinanceClient
    from bkm_guard.runtime.signing import Signer

    signer = (Signer("hmac", secret=creds.api_secret) if creds.key_type == "hmac" else
              Signer(creds.key_type, private_key=creds.private_key,
                     private_key_password=creds.private_key_password))
    with BinanceClient(creds.api_key, signer, base_url=base_url, ca_bundle=ca_bundle,
                       timeout=timeout, trust_host=trust_host,
                       sensitive=creds.secret_values(), deadline=deadline) as client:
        return client.api_restrictions()


def _run(name: str, report: CheckReport, store: KeyStore, *, base_url: str | None,
         ca_bundle: str | None, timeout: float, now: dt.datetime | None, trust_host: bool,
         stop_on_expired: bool) -> Credentials:
    """Steps 1-4, filling `report`; raises GuardError only when a check cannot be made."""
    now = now or dt.datetime.now(dt.timezone.utc)
    if report.check == "live":
        from bkm_guard.runtime.binance_api import check_base_url

        # refuse an insecure endpoint before any secret is decrypted
        report.endpoint = hosts.url_host(check_base_url(base_url or hosts.DEFAULT_REST_URL,
                                                        trust_host=trust_host))
    creds = store.get(name)  # 1. permissions, 2. decryption
    meta = creds.metadata
    policy = meta.policy
    report.purpose, report.key_type = meta.purpose, meta.key_type
    report.masked_api_key, report.fingerprint = meta.masked_api_key, meta.fingerprint
    report.max_age_days, report.age_enforcement = policy.max_age_days, policy.age_enforcement
    report.age_days = round(meta.age_days(now), 1)
    _age(report, policy, name, meta.age_days(now), what=f"key {name!r} is")  # 3.
    if report.check == "offline" or (stop_on_expired and report._age_expired):
        report.permissions = [PermissionRow(flag, label, None,
                                            "allowed" if flag in policy.allowed else "forbidden", True)
                              for flag, label in PERMISSIONS.items()]
        return creds
    try:
        restrictions = _fetch_restrictions(creds, base_url=base_url, ca_bundle=ca_bundle,  # 4.
                                           timeout=timeout, trust_host=trust_host)
    except BinanceAPIError as exc:  # same class, with the key's name in the fix
        raise type(exc)(str(exc).replace("keys rotate NAME", f"keys rotate {name}")) from None
    problems = malformed_answer(policy, restrictions)
    if problems:  # fail closed: a flag we cannot read is not assumed off
        raise BinanceMalformedAnswerError(
            f"malformed apiRestrictions answer from {report.endpoint}: {'; '.join(problems)}; key "
            f"{name!r} refused (check the base URL points at Binance's REST API)")
    rows, violations, notes = evaluate_restrictions(policy, restrictions, now)
    report.permissions = rows
    report.violations += [str(violation) for violation in violations]
    for message, category in notes:
        report.warn(message, category)
    created = answer_time(restrictions.get("createTime"))
    if created is not None:
        report.binance_created = created.isoformat().replace("+00:00", "Z")
        binance_age = (now - created).total_seconds() / _DAY_S
        # the store's dates start when the key was added; Binance knows when it was made
        if binance_age > meta.age_days(now) + 1:
            _age(report, policy, name, binance_age, what=f"key {name!r} was created on Binance")
    expiry = answer_time(restrictions.get("tradingAuthorityExpirationTime"))
    if expiry is not None:
        report.trading_authority_expiration = expiry.isoformat().replace("+00:00", "Z")
    return creds


def _audit(store: KeyStore, action: str, report: CheckReport, *, strict: bool) -> None:
    reason = report.error or "; ".join(report.violations) or "; ".join(report.warnings)
    outcome = {"pass": "ok", "violation": "refused"}.get(report.outcome, "error")
    if report.error_type == InsecurePermissionsError.__name__:
        outcome = "refused"
    if not strict and not store.path.is_dir():
        return  # no store, no log to write to: the error already says so
    try:
        store.audit_log.append(action, report.name, fingerprint=report.fingerprint or None,
                               outcome=outcome, reason=reason[:2000], check=report.check,
                               endpoint=report.endpoint or None, purpose=report.purpose or None,
                               warnings=len(report.warnings))
    except (OSError, GuardError) as exc:
        if strict:  # the audit trail is a control: no line, no key
            raise StoreError(f"cannot write the audit log {store.audit_log.path}: {exc}; fix the "
                             "store directory, then start again") from None
        log.warning("bkm-guard could not write the audit log: %s", exc)


def _emit_warnings(report: CheckReport) -> None:
    for message, category in report._warning_kinds:
        log.warning("%s", message)
        warnings.warn(message, category, stacklevel=3)


def _violation_error(report: CheckReport) -> PolicyViolationError:
    permission_problems = len(report.violations) - (1 if report._age_expired else 0)
    count = len(report.violations)
    if not permission_problems and count == 1:
        return KeyExpiredError(report.violations[0])
    head = (f"key {report.name!r} ({report.purpose}) refused, {count} problem{'s' if count > 1 else ''}: "
            + "; ".join(report.violations))
    if permission_problems:
        return PermissionViolationError(f"{head}; {_FIX_ON_BINANCE.format(name=report.name)}")
    return KeyExpiredError(head)


def load(name: str, *, check: CheckMode = "live", base_url: str | None = None,
         ca_bundle: str | None = None, timeout: float = 10.0,
         store: KeyStore | str | os.PathLike[str] | None = None, now: dt.datetime | None = None,
         redact: bool = True, trust_host: bool = False) -> Credentials:
    """The key `name`, after every check passed; a `GuardError` subclass otherwise.

    check="live" (default) also asks Binance for the key's permissions over HTTPS;
    check="offline" skips that (air-gapped starts, tests). `base_url` picks another Binance
    host (https://api.binance.us ...), `ca_bundle` a CA file (else REQUESTS_CA_BUNDLE or the
    system's); `timeout` is the whole budget of the live check in seconds. With redact=True
    (default) a logging filter masks the key's secrets in every log record from now on.
    """
    if check not in ("live", "offline"):
        raise ValueError("check must be 'live' or 'offline'")
    report = CheckReport(name=name, check=check)
    key_store = _open_store(store)
    try:
        creds = _run(name, report, key_store, base_url=base_url, ca_bundle=ca_bundle,
                     timeout=timeout, now=now, trust_host=trust_host, stop_on_expired=True)
    except GuardError as exc:
        report.outcome, report.error, report.error_type = "error", str(exc), type(exc).__name__
        _audit(key_store, "load", report, strict=False)
        raise
    if report.violations:
        report.outcome = "violation"
        _audit(key_store, "load", report, strict=False)
        raise _violation_error(report)
    report.outcome = "pass"
    _audit(key_store, "load", report, strict=True)
    _emit_warnings(report)
    if redact:
        from bkm_guard.runtime import redact as redaction

        redaction.install(creds.secret_values())
    log.info("bkm-guard: key %r (%s, %s) loaded%s", name, report.purpose, report.fingerprint,
             f", permissions checked on {report.endpoint}" if check == "live" else " (offline check)")
    return creds


def check_key(name: str, *, check: CheckMode = "live", base_url: str | None = None,
              ca_bundle: str | None = None, timeout: float = 10.0,
              store: KeyStore | str | os.PathLike[str] | None = None, now: dt.datetime | None = None,
              trust_host: bool = False) -> CheckReport:
    """The same checks as `load`, as a report: outcome "pass", "violation" or "error".

    Never raises a GuardError: a check that cannot be made is outcome "error" with the reason.
    Unlike `load`, an expired key is still checked live, so the report shows everything.
    """
    if check not in ("live", "offline"):
        raise ValueError("check must be 'live' or 'offline'")
    report = CheckReport(name=name, check=check)
    try:
        key_store = _open_store(store)
    except GuardError as exc:
        report.error, report.error_type = str(exc), type(exc).__name__
        return report
    try:
        _run(name, report, key_store, base_url=base_url, ca_bundle=ca_bundle, timeout=timeout,
             now=now, trust_host=trust_host, stop_on_expired=False)
    except (GuardError, ValueError) as exc:
        report.outcome, report.error, report.error_type = "error", str(exc), type(exc).__name__
    else:
        report.outcome = "violation" if report.violations else "pass"
    with contextlib.suppress(GuardError):
        _audit(key_store, "check", report, strict=False)
    return report
