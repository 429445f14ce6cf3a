"""`keys audit`'s review: unused keys, keys past 80% of their maximum age, stale live checks."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from conftest import PASSPHRASE

from bkm_guard.cli import keys as keys_cli
from bkm_guard.runtime.guard import load
from bkm_guard.runtime.review import review
from bkm_guard.runtime.store import KdfParams, KeyStore, StaticPassphrase
from bkm_guard.runtime.store.audit import utc_now
from bkm_guard.testing import FakeBinance
from bkm_guard.testing.keys import new_api_key, new_hmac_secret

NOW = utc_now()


def add(store: KeyStore, name: str, days_old: float, fb: FakeBinance | None = None) -> None:
    api_key, secret = new_api_key(), new_hmac_secret()
    store.add(name, purpose="spot-trading", api_key=api_key, api_secret=secret,
              now=NOW - dt.timedelta(days=days_old))
    if fb is not None:
        fb.add_key(api_key, secret, permissions={"enableSpotAndMarginTrading": True},
                   ip_restrict=True)


def kinds(store: KeyStore, **kwargs: object) -> set[tuple[str, str | None]]:
    return {(issue.kind, issue.name) for issue in review(store, **kwargs)}  # type: ignore[arg-type]


def test_unused_keys_are_flagged_after_n_days(store: KeyStore) -> None:
    add(store, "idle", 40)
    add(store, "fresh", 10)
    found = review(store, now=NOW)
    unused = [issue for issue in found if issue.kind == "unused"]
    assert [issue.name for issue in unused] == ["idle"]
    assert "unused: disable or delete it on Binance" in unused[0].message
    assert ("unused", "fresh") in kinds(store, now=NOW, unused_days=5)
    assert ("unused", "idle") not in kinds(store, now=NOW, unused_days=60)


def test_a_load_counts_as_use(store: KeyStore) -> None:
    add(store, "bot", 40)
    load("bot", store=store, check="offline")
    assert ("unused", "bot") not in kinds(store, now=NOW)
    assert ("unused", "bot") in kinds(store, now=NOW + dt.timedelta(days=31))


def test_keys_past_80_percent_of_their_maximum_age(store: KeyStore) -> None:
    add(store, "old", 75)  # 90-day policy: 72 days is 80%
    add(store, "young", 60)
    add(store, "expired", 95)
    found = {issue.name: issue for issue in review(store, now=NOW) if issue.kind == "age"}
    assert set(found) == {"old"}
    assert "past 80% of its 90-day maximum age: rotation due in 15 days" in found["old"].message
    assert ("rotation-overdue", "expired") in kinds(store, now=NOW)


def test_stale_live_checks(store: KeyStore, fb: FakeBinance) -> None:
    add(store, "checked", 40, fb)
    add(store, "never", 40, fb)
    add(store, "new", 5, fb)
    load("checked", store=store, base_url=fb.base_url, ca_bundle=fb.ca_path)
    stale = {name for kind, name in kinds(store, now=NOW) if kind == "stale-check"}
    assert stale == {"never"}
    later = NOW + dt.timedelta(days=31)
    assert {name for kind, name in kinds(store, now=later) if kind == "stale-check"} == {
        "checked", "never", "new"}
    assert "checked" not in {name for kind, name in kinds(store, now=later, check_days=40)
                             if kind == "stale-check"}
    # an offline load is no live check
    load("never", store=store, check="offline")
    assert ("stale-check", "never") in kinds(store, now=NOW)


def test_keys_audit_days_flags(store: KeyStore, capsys: pytest.CaptureFixture[str]) -> None:
    add(store, "bot", 10)

    def factory(_: object) -> KeyStore:
        return KeyStore(store.path, passphrase_source=StaticPassphrase(PASSPHRASE),
                        kdf_params=KdfParams.cheap())

    def audit(*argv: str) -> tuple[int, str]:
        code = keys_cli.main(["audit", *argv], store_factory=factory, stdin=io.StringIO())
        return code, capsys.readouterr().out

    assert audit() == (0, f"OK: 1 key(s) in {store.path}, nothing needs action.\n")
    code, out = audit("--unused-days", "7", "--check-days", "9")
    assert code == 1
    assert "unused: bot: never used in the 10 days since it was set (limit 7): unused: " \
           "disable or delete it on Binance" in out
    assert "stale-check: bot: never checked live on Binance in 10 days" in out
    assert keys_cli.main(["audit", "--unused-days", "0"], store_factory=factory) == 2


def test_a_pending_key_file_open_to_others_is_flagged(store: KeyStore) -> None:
    from bkm_guard.runtime import keygen

    pending = keygen.generate(store, "bot", purpose="spot-trading")
    pending.path.chmod(0o644)
    found = {(issue.kind, issue.name) for issue in review(store, now=NOW)}
    assert ("permissions", "bot") in found
    assert ("pending", "bot") in found
