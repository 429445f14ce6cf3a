"""`keys audit`'s review of the keys: unused ones, old ones, ones not checked live lately.

On top of the store's own findings (`KeyStore.audit`: permissions, damage, duplicates,
overdue rotations), from the key headers and the audit log:

- unused: no `load`/`run` for N days (default 30, `--unused-days`): "unused: disable or delete
  it on Binance" — an idle key with trading rights is pure risk;
- age: past 80% of the policy's maximum age (the point from which `load()` warns too);
- stale-check: the last live check (a live `load`, `run` or `keys check` that reached Binance)
  is older than N days (default 30, `--check-days`), or there never was one;
- pending: a generated key that still waits for `keys attach`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from bkm_guard.runtime.store import AuditEntry, AuditIssue, KeyStore

UNUSED_DAYS: Final = 30
CHECK_DAYS: Final = 30
AGE_FRACTION: Final = 0.8
#: the store's own kinds this review replaces with its configurable versions
_REPLACED: Final = frozenset({"unused", "rotation-soon"})


def _latest(entries: list[AuditEntry], name: str,
            test: Callable[[AuditEntry], bool]) -> AuditEntry | None:
    found = None
    for entry in entries:
        if entry.name == name and test(entry):
            found = entry
    return found


def _live_check_of(fingerprint: str) -> Callable[[AuditEntry], bool]:
    """A live check that reached Binance (passed or refused) of this very key material."""
    def test(entry: AuditEntry) -> bool:
        return (entry.action in ("load", "check") and entry.extra.get("check") == "live"
                and entry.outcome in ("ok", "refused") and entry.fingerprint == fingerprint)

    return test


def review(store: KeyStore, *, now: dt.datetime | None = None, unused_days: int = UNUSED_DAYS,
           check_days: int = CHECK_DAYS) -> list[AuditIssue]:
    """Everything `keys audit` reports, in the store's order, then this review's."""
    from bkm_guard.errors import GuardError, InsecurePermissionsError
    from bkm_guard.runtime.keygen import pending_names, pending_path, read_pending
    from bkm_guard.runtime.store import AuditIssue
    from bkm_guard.runtime.store.audit import utc_now
    from bkm_guard.runtime.store.permissions import check_file

    if unused_days < 1 or check_days < 1:
        raise ValueError("the day limits must be 1 or more")
    now = now or utc_now()
    issues = [issue for issue in store.audit(now) if issue.kind not in _REPLACED]
    entries = list(store.audit_log.entries())
    for meta in store.list():
        name = meta.name
        used = _latest(entries, name, lambda e: e.action in ("load", "run") and e.outcome == "ok")
        since = max(used.time, meta.changed) if used else meta.changed
        idle = (now - since).days
        if idle >= unused_days:
            what = f"last used {idle} days ago" if used else f"never used in the {idle} days since it was set"
            issues.append(AuditIssue(
                "unused", name,
                f"{name}: {what} (limit {unused_days}): unused: disable or delete it on Binance "
                f"(API Management, key {meta.masked_api_key}), then `bkm-guard keys remove {name}`"))
        limit = meta.policy.max_age_days
        age = meta.age_days(now)
        if AGE_FRACTION * limit <= age < limit:
            issues.append(AuditIssue(
                "age", name,
                f"{name}: {age:.0f} days old, past {AGE_FRACTION:.0%} of its {limit}-day maximum "
                f"age: rotation due in {limit - age:.0f} days: create a new key on Binance (or "
                f"`bkm-guard keys generate {name}`), then `bkm-guard keys rotate {name}`"))
        checked = _latest(entries, name, _live_check_of(meta.fingerprint))
        last = checked.time if checked else None
        if last is None and (now - meta.changed).days >= check_days:
            issues.append(AuditIssue(
                "stale-check", name,
                f"{name}: never checked live on Binance in {(now - meta.changed).days} days: "
                f"`bkm-guard keys check {name}`"))
        elif last is not None and (now - last).days >= check_days:
            issues.append(AuditIssue(
                "stale-check", name,
                f"{name}: last live check {(now - last).days} days ago (limit {check_days}): "
                f"`bkm-guard keys check {name}` (its permissions on Binance may have changed)"))
    for name in pending_names(store):
        try:
            check_file(pending_path(store, name))
        except InsecurePermissionsError as exc:
            issues.append(AuditIssue("permissions", name, str(exc)))
        try:
            pending = read_pending(store, name)
        except GuardError as exc:  # damaged: say so, go on
            issues.append(AuditIssue("damaged", name, str(exc)))
            continue
        issues.append(AuditIssue(
            "pending", name,
            f"{name}: an {pending.spec} key generated {(now - pending.created).days} days ago waits "
            f"for its API key: register the public key on Binance and `bkm-guard keys attach "
            f"{name}`, or `bkm-guard keys remove {name}`"))
    return issues
