"""What to do next about a verified key: the exact steps, because Binance has no API to delete
a regular account's key.

Sub-account keys are the exception: the master account can delete them with
`DELETE /sapi/v1/sub-account/subAccountApi` (parameters `email`, `subAccountApiKey`; signed
with the master account's own key, which must pass the master's KYC IP check; request
weight 3000 (UID); not for asset-management sub-accounts), and a Binance Link broker with
`DELETE /sapi/v1/broker/subAccountApi` (`subAccountId`, `subAccountApiKey`).
"""

from __future__ import annotations

from typing import Final

from bkm_guard.verify.model import Verification

_WEB: Final = {
    "mainnet": "https://www.binance.com/en/my/settings/api-management",
    "binance-us": "https://www.binance.us/settings/api-management",
    "spot-testnet": "https://testnet.binance.vision (log in, then the key list)",
    "futures-testnet": "https://testnet.binancefuture.com (API Key tab under the order panel)",
}

SUB_ACCOUNT: Final = (
    "If it is a sub-account's key, the master account can delete it through the API: "
    "DELETE /sapi/v1/sub-account/subAccountApi with email=<sub-account e-mail> and "
    "subAccountApiKey=<the key>, signed with the MASTER account's key (a sub-account key "
    "cannot do it; the master key must pass its KYC IP check; not for asset-management "
    "sub-accounts); Binance Link brokers use DELETE /sapi/v1/broker/subAccountApi."
)

_ROTATE: Final = (
    "Make a new key with only the permissions the bot needs and an IP restriction, store it with "
    "`bkm-guard keys add` (or `keys rotate NAME`), and remove the old one from the code and from "
    "the git history (a pushed key stays leaked)."
)


def next_steps(result: Verification) -> str:
    """One paragraph of what to do, for the result's status and environment."""
    prefix = result.masked.split("…", 1)[0]
    if result.status == "live":
        site = result.environment_label or "Binance"
        where = _WEB.get(result.environment, "Binance's API Management page")
        if result.environment in ("mainnet", "binance-us"):
            delete = (
                f"Delete it now: log in to {site}, open Account -> API Management ({where}), find the "
                f"key that starts with {prefix!r}, click Delete and confirm with 2FA. Binance has no API "
                "to delete a regular account's key."
            )
        else:
            delete = f"Delete it on the {site} ({where}); testnet funds are not real, but the key is live."
        check = (
            " Then check what it was used for: Orders -> Trade History, Wallet -> Transaction History "
            "(withdrawals and transfers), and Account -> Security -> Account Activity for logins and "
            "API use you do not recognize."
            if result.real_money
            else ""
        )
        withdraw = (
            " Withdrawals are ON: treat the account's funds as at risk until the key is deleted."
            if result.permissions.get("enableWithdrawals")
            else ""
        )
        sub = f" {SUB_ACCOUNT}" if result.real_money else ""
        return f"{delete}{withdraw}{check} {_ROTATE}{sub}"
    if result.status == "rejected":
        return (
            "Binance does not accept this key from here now (deleted, never valid, or IP-restricted to "
            "other addresses: a rejection is not proof that the key is dead). Check the API Management "
            f"page for a key starting with {prefix!r} and delete it if it is there; {_ROTATE[0].lower()}"
            f"{_ROTATE[1:]}"
        )
    if result.status == "error":
        return (
            "Verification could not decide; run `bkm-guard verify` again later, or check the key on "
            f"Binance's API Management page. Treat it as live until you know. {_ROTATE}"
        )
    return (
        "Treat the key as leaked: check Binance's API Management page for a key starting with "
        f"{prefix!r} and delete it. {_ROTATE}"
    )
