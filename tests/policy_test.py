"""Purposes and their policies against Binance's apiRestrictions answer."""

from __future__ import annotations

import pytest

from bkm_guard.errors import ConfigError
from bkm_guard.runtime.policy import (
    NEW_KEY_DEFAULTS,
    PERMISSIONS,
    POWERFUL,
    PURPOSES,
    Policy,
    builtin_policy,
    check_restrictions,
)


def restrictions(ip: bool = False, **flags: bool) -> dict[str, object]:
    return {**NEW_KEY_DEFAULTS, "ipRestrict": ip, "createTime": 1_700_000_000_000, **flags}


@pytest.mark.parametrize("purpose", PURPOSES)
def test_a_new_read_only_key_fits_every_purpose_but_withdrawals(purpose: str) -> None:
    violations = check_restrictions(builtin_policy(purpose), restrictions())
    if purpose == "withdrawals":  # that policy asks for an IP restriction even when reading
        assert [v.permission for v in violations] == ["ipRestrict"]
    else:
        assert violations == []


@pytest.mark.parametrize(
    ("purpose", "flags", "expected"),
    [
        ("spot-trading", {"enableSpotAndMarginTrading": True}, ["ipRestrict"]),
        ("spot-trading", {"enableWithdrawals": True, "enableFutures": True},
         ["enableFutures", "enableWithdrawals", "ipRestrict"]),
        ("market-data", {"enableSpotAndMarginTrading": True}, ["enableSpotAndMarginTrading", "ipRestrict"]),
        ("futures-trading", {"enableFutures": True, "enableMargin": True}, ["enableMargin", "ipRestrict"]),
        ("margin-trading", {"enableMargin": True, "enableSpotAndMarginTrading": True}, ["ipRestrict"]),
        ("withdrawals", {"enableWithdrawals": True, "permitsUniversalTransfer": True},
         ["permitsUniversalTransfer", "ipRestrict"]),
        ("market-data", {"enableFixApiTrade": True, "enablePortfolioMarginTrading": True,
                         "enableVanillaOptions": True, "enableInternalTransfer": True},
         ["enableVanillaOptions", "enablePortfolioMarginTrading", "enableFixApiTrade",
          "enableInternalTransfer", "ipRestrict"]),
    ],
)
def test_every_violation_is_listed_at_once(purpose: str, flags: dict[str, bool], expected: list[str]) -> None:
    violations = check_restrictions(builtin_policy(purpose), restrictions(**flags))
    assert [v.permission for v in violations] == expected


def test_ip_restriction_satisfies_the_powerful_rule() -> None:
    policy = builtin_policy("spot-trading")
    assert check_restrictions(policy, restrictions(ip=True, enableSpotAndMarginTrading=True)) == []


def test_violation_messages_name_the_permission_in_words() -> None:
    policy = builtin_policy("market-data")
    (violation,) = check_restrictions(policy, restrictions(ip=True, enableWithdrawals=True))
    expected = "enableWithdrawals: withdrawals is enabled, but a market-data key must not have it"
    assert str(violation) == expected


def test_powerful_flags_are_everything_but_reading() -> None:
    assert frozenset(PERMISSIONS) - POWERFUL == {"enableReading", "enableFixReadOnly"}


def test_custom_policy_from_a_base() -> None:
    policy = Policy.from_dict({"base": "spot-trading", "max_age_days": 30, "age_enforcement": "warn",
                               "ip_restriction": "always"}, purpose="scalper")
    assert (policy.purpose, policy.max_age_days, policy.age_enforcement) == ("scalper", 30, "warn")
    assert policy.allowed == builtin_policy("spot-trading").allowed
    assert [v.permission for v in check_restrictions(policy, restrictions())] == ["ipRestrict"]
    assert Policy.from_dict(policy.to_dict()) == policy


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"base": "spot-trading", "allow": ["withdrawals"]}, "unknown permission"),
            ({"base": "spot-trading", "allow": ["enableteleport"]}, "unknown permission"),
        ({"base": "nope"}, "unknown purpose 'nope'"),
        ({"purpose": "x"}, "give `allow"),
        ({"base": "spot-trading", "max_age_days": "90"}, "whole number"),
        ({"base": "spot-trading", "max_age_days": 0}, "at least 1"),
        ({"base": "spot-trading", "age_enforcement": "maybe"}, "'error' or 'warn'"),
        ({"base": "spot-trading", "colour": "red"}, "unknown setting"),
        ({"base": "spot-trading", "ip_restriction": "sometimes"}, "'always' or 'when-powerful'"),
    ],
)
def test_bad_custom_policies_are_clear_errors(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Policy.from_dict(data)


def test_an_allowed_powerful_flag_left_out_of_the_answer_needs_the_ip_restriction() -> None:
    # a flag that is not reported is not assumed off: it may be on, so the key needs an IP list
    policy = builtin_policy("spot-trading")
    answer = restrictions()
    del answer["enableSpotAndMarginTrading"]
    violations = check_restrictions(policy, answer)
    assert [v.permission for v in violations] == ["ipRestrict"]
    assert "enableSpotAndMarginTrading not reported" in str(violations[0])
    assert check_restrictions(policy, {**answer, "ipRestrict": True}) == []
