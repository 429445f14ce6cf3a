"""One key pair → one `Verification`, through the runtime's signed client (`binance_api`).

Per key: the environments of its kind in order (`endpoints`), one signed probe each, until
one answers live or rejects the key in a way that says the host knows it (-1022, -1002).
All hosts of one key share one deadline, the same total budget `load()` gives its live
check (10 s); all keys of one run share one `Budget` (requests and rate).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

from bkm_guard.errors import (
    BinanceAPIError,
    BinanceAuthError,
    BinanceRateLimitError,
    GuardError,
    InvalidKeyMaterialError,
)
from bkm_guard.runtime.policy import PERMISSIONS, answer_time, is_flag_name
from bkm_guard.runtime.signing import KeyType, Signer
from bkm_guard.verify import endpoints, transport
from bkm_guard.verify.endpoints import Environment
from bkm_guard.verify.model import Attempt, KeyPair, Severity, Status, Unpaired, Verification
from bkm_guard.verify.options import DEFAULT_TIMEOUT_S
from bkm_guard.verify.remediation import next_steps

#: "no such key here": try the next environment of the key's kind
NEXT_HOST_CODES: Final = frozenset({-2015, -2014, -2008})

#: what each rejection means, for the report
REJECTIONS: Final[Mapping[int, str]] = {
    -2015: "invalid API key, IP or permissions (-2015): not a key of this host, an IP restriction that "
    "excludes this machine, or no reading permission",
    -2014: "API-key format invalid (-2014): not a key this host issues",
    -2008: "invalid API-key ID (-2008): this host knows no such key (deleted?)",
    -1022: "signature invalid (-1022): the host knows this API key, but the secret or private key found "
    "with it does not belong to it",
    -1002: "not authorized (-1002): the host knows this API key, but it may not read its permissions",
}

# Binance's codes in the runtime client's messages: "(-2015)", "error -2008:", "HTTP 401, -2008:"
_CODE_RE: Final = re.compile(r"(?<![\w-])(-[12]\d{3})(?!\d)")

# field -> severity class, strongest first
_MONEY_MOVING: Final = ("enableWithdrawals", "enableInternalTransfer", "permitsUniversalTransfer")
_TRADING: Final = (
    "enableSpotAndMarginTrading",
    "enableMargin",
    "enableFutures",
    "enableVanillaOptions",
    "enablePortfolioMarginTrading",
    "enableFixApiTrade",
)

#: testnet account flags -> the words a person reads
ACCOUNT_FLAGS: Final[Mapping[str, str]] = {
    "canTrade": "trading",
    "canWithdraw": "withdrawals (testnet)",
    "canDeposit": "deposits (testnet)",
}


def label(permission: str) -> str:
    return PERMISSIONS.get(permission) or ACCOUNT_FLAGS.get(permission) or permission


class Verifier:
    """Verifies key pairs against Binance within one budget; reuse it for every key of a run."""

    def __init__(
        self,
        *,
        environments: Sequence[Environment] | None = None,
        budget: transport.Budget | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        ca_bundle: str | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("the verification timeout must be positive")
        self.environments = tuple(environments if environments is not None else endpoints.from_env())
        self.budget = budget or transport.Budget()
        self.timeout = timeout
        self.ca_bundle = ca_bundle if ca_bundle is not None else endpoints.ca_bundle_from_env()
        self._halted = ""  # set by a 429/418: no more requests this run

    def verify(self, pair: KeyPair) -> Verification:
        base = _base(pair)
        try:
            signer = _signer(pair)
        except (InvalidKeyMaterialError, ValueError) as exc:
            return _finish(base, "not-verified", f"cannot sign with the key material found: {exc}")
        plan = endpoints.plan(self.environments, hex_key=pair.hex_key)
        if not plan:
            kind = "64-hex (futures testnet)" if pair.hex_key else "base62"
            return _finish(base, "not-verified", f"no host for a {kind} key is configured")
        deadline = time.monotonic() + self.timeout
        attempts: list[Attempt] = []
        last_rejection: tuple[Environment, int | None, str] | None = None
        for env in plan:
            if self._halted:
                return _stopped(base, attempts, self._halted)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return _stopped(base, attempts, f"the {self.timeout:g} s verification deadline passed")
            try:
                answer = self._probe(env, pair, signer, remaining, deadline)
            except transport.Stop as exc:
                return _stopped(base, attempts, str(exc))
            except BinanceRateLimitError as exc:
                self._halted = f"Binance rate-limited this IP, verification stopped: {exc}"
                attempts.append(Attempt(env.name, _host(env), "error", None, str(exc)))
                return _stopped(base, attempts, self._halted)
            except BinanceAuthError as exc:
                code = _code(str(exc))
                attempts.append(Attempt(env.name, _host(env), "rejected", code, _rejection(code, exc)))
                last_rejection = (env, code, _rejection(code, exc))
                if code in NEXT_HOST_CODES:
                    continue
                return _rejected(base, attempts, env, code, last_rejection[2])
            except BinanceAPIError as exc:
                code = _code(str(exc))
                if code == -2008:  # not an auth error to the client, but "no such key" to us
                    attempts.append(Attempt(env.name, _host(env), "rejected", code, REJECTIONS[code]))
                    last_rejection = (env, code, REJECTIONS[code])
                    continue
                attempts.append(Attempt(env.name, _host(env), "error", code, str(exc)))
                continue
            except GuardError as exc:  # an endpoint or key problem the client found: this host only
                attempts.append(Attempt(env.name, _host(env), "error", None, str(exc)))
                continue
            attempts.append(Attempt(env.name, _host(env), "live"))
            return _live(base, attempts, env, answer)
        if any(attempt.outcome == "error" for attempt in attempts) or last_rejection is None:
            failed = "; ".join(f"{a.environment}: {a.detail}" for a in attempts)
            return _finish(base, "error", f"could not decide ({failed})", attempts=attempts)
        env, code, why = last_rejection
        return _rejected(base, attempts, env, code, f"rejected by every host tried; last: {why}")

    def verify_all(self, pairs: Sequence[KeyPair]) -> list[Verification]:
        return [self.verify(pair) for pair in pairs]

    def _probe(
        self, env: Environment, pair: KeyPair, signer: Signer, timeout: float, deadline: float
    ) -> dict[str, Any]:
        from bkm_guard.runtime.binance_api import BinanceClient

        session = transport.BoundedSession(self.budget, [transport.origin_of(env.base_url)])
        with (
            session,
            BinanceClient(
                pair.api_key.reveal(),
                signer,
                base_url=env.base_url,
                ca_bundle=self.ca_bundle,
                timeout=timeout,
                deadline=deadline,  # the key's one deadline, across all its hosts
                session=session,
            ) as client,
        ):
            if env.probe == "restrictions":
                return client.api_restrictions()
            if env.probe == "spot-account":
                return client.account()
            data = client.signed_get(env.path).data
            if not isinstance(data, dict) or "canTrade" not in data:
                raise BinanceAPIError(
                    f"unexpected answer from {client.host}{env.path}: not an account object"
                )
            return data


def unpaired_result(item: Unpaired) -> Verification:
    base = Verification(
        item.masked, item.fingerprint, "not-verified", item.reason, line=item.line, column=item.column
    )
    return _finish(base, "not-verified", item.reason)


# -- building results -------------------------------------------------------------------------


def _base(pair: KeyPair) -> Verification:
    secret = pair.secret or pair.private_key
    return Verification(
        pair.masked,
        pair.fingerprint,
        "not-verified",
        "",
        key_type=pair.key_type,
        paired_how=pair.how,
        line=pair.line,
        column=pair.column,
        secret_fingerprint=secret.fingerprint if secret is not None else "",
    )


def _finish(
    base: Verification, status: Status, reason: str, *, attempts: Sequence[Attempt] = (), **fields: Any
) -> Verification:
    import dataclasses

    result = dataclasses.replace(base, status=status, reason=reason, attempts=tuple(attempts), **fields)
    severity, score = _severity(result)
    result = dataclasses.replace(result, severity=severity, security_severity=score)
    return dataclasses.replace(result, next_steps=next_steps(result))


def _stopped(base: Verification, attempts: Sequence[Attempt], why: str) -> Verification:
    tried = f" after {', '.join(a.environment + ' ' + a.outcome for a in attempts)}" if attempts else ""
    return _finish(base, "not-verified", f"{why}{tried}", attempts=attempts)


def _rejected(
    base: Verification, attempts: Sequence[Attempt], env: Environment, code: int | None, why: str
) -> Verification:
    return _finish(
        base,
        "rejected",
        why,
        attempts=attempts,
        environment=env.name,
        environment_label=env.label,
        host=_host(env),
        real_money=env.real_money,
        code=code,
    )


def _live(
    base: Verification, attempts: Sequence[Attempt], env: Environment, answer: Mapping[str, Any]
) -> Verification:
    if env.probe == "restrictions":
        permissions = {name: answer.get(name) is True for name in PERMISSIONS if name in answer}
        # flags Binance added after this version: shown too, they may be powerful
        permissions.update(
            {
                name: value
                for name, value in sorted(answer.items())
                if is_flag_name(name)
                and isinstance(value, bool)
                and name not in permissions
            }
        )
        ip = answer.get("ipRestrict")
        ip_restricted = ip if isinstance(ip, bool) else None
    else:
        permissions = {name: answer.get(name) is True for name in ACCOUNT_FLAGS if name in answer}
        ip_restricted = None
    enabled = [label(name) for name, on in permissions.items() if on]
    where = f"{env.label} ({_host(env)})"
    reason = f"live on {where}: " + (", ".join(enabled) if enabled else "no permission enabled")
    if ip_restricted is not None:
        reason += "; IP-restricted" if ip_restricted else "; no IP restriction"
    return _finish(
        base,
        "live",
        reason,
        attempts=attempts,
        environment=env.name,
        environment_label=env.label,
        host=_host(env),
        real_money=env.real_money,
        permissions=permissions,
        ip_restricted=ip_restricted,
        created=_iso(answer.get("createTime")),
        trading_authority_expiration=_iso(answer.get("tradingAuthorityExpirationTime")),
    )


def _severity(result: Verification) -> tuple[Severity, float | None]:
    """critical (10.0): live with withdrawals; high: live and can move money or trade; medium:
    live, read-only; low: a live testnet key, or a rejected one; none: not decided."""
    if result.status == "live":
        if not result.real_money:
            return "low", 3.0
        on = set(result.enabled)
        if "enableWithdrawals" in on:
            return "critical", 10.0
        if on & set(_MONEY_MOVING):
            return "critical", 9.5
        if on & set(_TRADING) or any(name not in PERMISSIONS for name in on):
            return "high", 8.5 if result.ip_restricted else 9.0
        return "medium", 6.5 if result.ip_restricted else 7.0
    if result.status == "rejected":
        return "low", 2.0
    return "none", None


# -- helpers --------------------------------------------------------------------------------


def _signer(pair: KeyPair) -> Signer:
    if pair.key_type == "hmac":
        return Signer("hmac", secret=pair.secret.reveal() if pair.secret else None)
    return Signer(pair.key_type, private_key=pair.private_key.reveal() if pair.private_key else None)


def private_key_type(pem: str) -> KeyType:
    """'ed25519' or 'rsa' for an unencrypted PEM private key; ValueError otherwise."""
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem.encode("utf-8"), password=None)
    except TypeError:
        raise ValueError("the private key is encrypted and its password is not known") from None
    except ValueError:
        raise ValueError("the private key PEM cannot be read") from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPrivateKey):
        return "rsa"
    raise ValueError("the private key is neither Ed25519 nor RSA (Binance accepts no other)")


def _code(message: str) -> int | None:
    match = _CODE_RE.search(message)
    return int(match.group(1)) if match else None


def _rejection(code: int | None, exc: GuardError) -> str:
    return REJECTIONS.get(code, str(exc)) if code is not None else str(exc)


def _host(env: Environment) -> str:
    from bkm_guard.hosts import url_host

    return url_host(env.base_url)


def _iso(value: object) -> str | None:
    when = answer_time(value)
    if when is None:
        return None
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")
