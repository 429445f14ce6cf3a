"""Live verification (`bkm-guard verify`, the verifier) against the local fake Binance.

Every test is kept off the internet: the verifier's hosts are the fake's (BKM_GUARD_VERIFY_HOSTS
or `environments=`), and an autouse guard makes any connection to a non-loopback address fail.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import json
import pickle
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import make_ed25519_pem, make_hex, make_key, make_rsa_pem

from bkm_guard.cli.verify import main as verify_main
from bkm_guard.cli.verify import parse_text
from bkm_guard.errors import ConfigError
from bkm_guard.masking import mask
from bkm_guard.testing import FakeBinance
from bkm_guard.verify import endpoints, pairing, report, transport
from bkm_guard.verify.options import DEFAULT_TIMEOUT_S
from bkm_guard.verify.verifier import Verifier


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Any connection to a non-loopback address fails the test (and is recorded)."""
    attempts: list[Any] = []
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else str(address)
        if host not in ("127.0.0.1", "::1", "localhost"):
            attempts.append(address)
            raise OSError(f"test tried to reach {host}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return attempts


@pytest.fixture
def second(server: FakeBinance) -> Iterator[FakeBinance]:
    """A second fake Binance (another CA), standing in for the next host of the order."""
    with FakeBinance() as fake:
        yield fake


def envs(
    *fakes: FakeBinance, names: tuple[str, ...] = ("mainnet", "binance-us")
) -> list[endpoints.Environment]:
    return [
        dataclasses.replace(endpoints.BY_NAME[name], base_url=fb.base_url)
        for name, fb in zip(names, fakes, strict=False)
    ]


def bundle(tmp_path: Path, *fakes: FakeBinance) -> str:
    path = tmp_path / "ca.pem"
    path.write_text("".join(Path(fb.ca_path).read_text() for fb in fakes))
    return str(path)


def verifier(tmp_path: Path, *fakes: FakeBinance, **kwargs: Any) -> Verifier:
    budget = kwargs.pop("budget", None) or transport.Budget(20, 1000.0)
    return Verifier(environments=envs(*fakes), ca_bundle=bundle(tmp_path, *fakes), budget=budget, **kwargs)


def hmac_pair(key: str, secret: str) -> Any:
    return pairing.pair_values(key, secret)


def asked(fb: FakeBinance) -> set[str]:
    """The (masked) keys the fake was asked about. The session's fake is shared: on a loaded
    machine a request of an earlier test that timed out may be answered late, and the client may
    retry one, so tests check which of their own keys were sent, not a count."""
    return {request.api_key for request in fb.requests}


def outputs(results: list[Any]) -> str:
    return report.render_text(results) + report.render_json(results) + report.render_sarif(results)


# -- the verifier ----------------------------------------------------------------------------


def test_live_key_with_withdrawals_is_critical_and_shows_no_value(fb: FakeBinance, tmp_path: Path) -> None:
    key, secret = make_key(), make_key()
    fb.add_key(
        key,
        secret,
        permissions={"enableWithdrawals": True, "enableSpotAndMarginTrading": True},
        create_time=1_700_000_000_000,
        trading_authority_expiration=1_900_000_000_000,
    )
    result = verifier(tmp_path, fb).verify(hmac_pair(key, secret))
    assert result.status == "live"
    assert result.environment == "mainnet"
    assert result.permissions["enableWithdrawals"] is True
    assert result.permissions["enableFutures"] is False
    assert result.ip_restricted is False
    assert result.created == "2023-11-14T22:13:20Z"
    assert result.trading_authority_expiration == "2030-03-17T17:46:40Z"
    assert (result.severity, result.security_severity) == ("critical", 10.0)
    assert "Withdrawals are ON" in result.next_steps
    assert "API Management" in result.next_steps
    assert "DELETE /sapi/v1/sub-account/subAccountApi" in result.next_steps
    sarif = json.loads(report.render_sarif([result]))["runs"][0]["results"][0]
    assert sarif["level"] == "error"
    assert sarif["rank"] == 100
    assert sarif["properties"]["security-severity"] == "10.0"
    assert sarif["properties"]["verification"]["permissions"]["enableWithdrawals"] is True
    text = outputs([result])
    assert key not in text
    assert secret not in text
    assert result.masked in text
    assert mask(key) in asked(fb)


def test_unknown_key_is_rejected_by_every_host_in_order(
    fb: FakeBinance, second: FakeBinance, tmp_path: Path
) -> None:
    key = make_key()
    result = verifier(tmp_path, fb, second).verify(hmac_pair(key, make_key()))
    assert result.status == "rejected"
    assert result.code == -2015
    assert [(a.environment, a.outcome, a.code) for a in result.attempts] == [
        ("mainnet", "rejected", -2015),
        ("binance-us", "rejected", -2015),
    ]
    assert (result.severity, result.security_severity) == ("low", 2.0)
    assert "not proof that the key is dead" in result.next_steps
    assert mask(key) in asked(fb)
    assert asked(second) == {mask(key)}


def test_a_key_rejected_on_mainnet_is_tried_on_the_next_host(
    fb: FakeBinance, second: FakeBinance, tmp_path: Path
) -> None:
    key, secret = make_key(), make_key()
    second.add_key(key, secret, permissions={"enableSpotAndMarginTrading": True}, ip_restrict=True)
    result = verifier(tmp_path, fb, second).verify(hmac_pair(key, secret))
    assert result.status == "live"
    assert result.environment == "binance-us"
    assert result.environment_label == "Binance.US"
    assert [a.outcome for a in result.attempts] == ["rejected", "live"]
    assert "binance.us" in result.next_steps


def test_a_live_answer_stops_the_order(fb: FakeBinance, second: FakeBinance, tmp_path: Path) -> None:
    key, secret = make_key(), make_key()
    fb.add_key(key, secret)
    second.add_key(key, secret)
    result = verifier(tmp_path, fb, second).verify(hmac_pair(key, secret))
    assert result.status == "live"
    assert mask(key) in asked(fb)
    assert second.requests == []


def test_ip_restricted_live_key(fb: FakeBinance, tmp_path: Path) -> None:
    key, secret = make_key(), make_key()
    fb.add_key(key, secret, permissions={"enableFutures": True}, ip_restrict=True)
    result = verifier(tmp_path, fb).verify(hmac_pair(key, secret))
    assert result.status == "live"
    assert result.ip_restricted is True
    assert (result.severity, result.security_severity) == ("high", 8.5)
    assert "IP-restricted" in report.headline(result)


def test_a_key_restricted_to_other_ips_is_rejected_with_the_reason(fb: FakeBinance, tmp_path: Path) -> None:
    key, secret = make_key(), make_key()
    fb.add_key(key, secret, ip_restrict=True).ip_allowed = False
    result = verifier(tmp_path, fb).verify(hmac_pair(key, secret))
    assert result.status == "rejected"
    assert result.code == -2015
    assert "IP restriction" in result.reason


def test_wrong_secret_means_the_host_knows_the_key_and_stops(
    fb: FakeBinance, second: FakeBinance, tmp_path: Path
) -> None:
    key = make_key()
    fb.add_key(key, make_key())
    result = verifier(tmp_path, fb, second).verify(hmac_pair(key, make_key()))
    assert result.status == "rejected"
    assert result.code == -1022
    assert "knows this API key" in result.reason
    assert second.requests == []


def test_invalid_api_key_id_moves_to_the_next_host(
    fb: FakeBinance, second: FakeBinance, tmp_path: Path
) -> None:
    key, secret = make_key(), make_key()
    second.add_key(key, secret)
    fb.fail_next("error", code=-2008, msg="Invalid Api-Key ID.")
    result = verifier(tmp_path, fb, second).verify(hmac_pair(key, secret))
    assert result.status == "live"
    assert [(a.outcome, a.code) for a in result.attempts] == [("rejected", -2008), ("live", None)]


def test_read_only_key(fb: FakeBinance, tmp_path: Path) -> None:
    key, secret = make_key(), make_key()
    fb.add_key(key, secret)
    result = verifier(tmp_path, fb).verify(hmac_pair(key, secret))
    assert result.enabled == ["enableReading"]
    assert (result.severity, result.security_severity) == ("medium", 7.0)
    assert json.loads(report.render_sarif([result]))["runs"][0]["results"][0]["level"] == "warning"


def test_ed25519_key_from_a_pem(fb: FakeBinance, tmp_path: Path) -> None:
    from bkm_guard.runtime.signing import public_key_pem

    key, pem = make_key(), make_ed25519_pem()
    fb.add_key(key, public_key_pem=public_key_pem(pem), permissions={"enableSpotAndMarginTrading": True})
    result = verifier(tmp_path, fb).verify(pairing.pair_values(key, private_key=pem))
    assert result.status == "live"
    assert result.key_type == "ed25519"
    assert pem.splitlines()[1] not in outputs([result])


def test_spot_testnet_is_probed_with_the_account_endpoint(fb: FakeBinance, tmp_path: Path) -> None:
    key, secret = make_key(), make_key()
    fb.add_key(key, secret, permissions={"enableSpotAndMarginTrading": True})
    spot = Verifier(environments=envs(fb, names=("spot-testnet",)), ca_bundle=fb.ca_path)
    result = spot.verify(hmac_pair(key, secret))
    assert result.status == "live"
    assert result.real_money is False
    assert result.permissions["canTrade"] is True
    assert (result.severity, result.security_severity) == ("low", 3.0)
    assert {r.path for r in fb.requests if r.api_key == mask(key)} == {"/api/v3/account"}


def test_hex_keys_go_to_the_futures_testnet_only(fb: FakeBinance, tmp_path: Path) -> None:
    result = verifier(tmp_path, fb).verify(hmac_pair(make_hex(), make_key()))
    assert result.status == "not-verified"
    assert "futures testnet" in result.reason
    assert fb.requests == []


def test_hex_keys_are_probed_on_the_futures_account_endpoint(fb: FakeBinance) -> None:
    futures = Verifier(environments=envs(fb, names=("futures-testnet",)), ca_bundle=fb.ca_path)
    key = make_hex()
    result = futures.verify(hmac_pair(key, make_key()))
    # the fake serves no /fapi: the answer is not an account, so verification cannot decide
    assert result.status == "error"
    assert result.reason.startswith("could not decide (futures-testnet: ")
    assert {r.path for r in fb.requests if r.api_key == mask(key)} == {"/fapi/v2/account"}


def test_the_request_budget_bounds_the_run(fb: FakeBinance, second: FakeBinance, tmp_path: Path) -> None:
    run = verifier(tmp_path, fb, second, budget=transport.Budget(3, 1000.0))
    results = run.verify_all([hmac_pair(make_key(), make_key()) for _ in range(3)])
    assert [r.status for r in results] == ["rejected", "not-verified", "not-verified"]
    assert "budget of 3 is used up" in results[1].reason
    assert "mainnet rejected" in results[1].reason
    assert run.budget.used == 3


def test_the_deadline_bounds_one_key(second: FakeBinance, tmp_path: Path) -> None:
    # a server of its own: the slow answer must not land in the shared fake after this test
    with FakeBinance() as slow:
        slow.fail_next("slow", delay=5)
        started = time.monotonic()
        result = verifier(tmp_path, slow, second, timeout=0.5).verify(hmac_pair(make_key(), make_key()))
        assert time.monotonic() - started < 2.5
    assert result.status == "not-verified"
    assert "deadline" in result.reason
    assert second.requests == []


def test_the_default_deadline_is_loads() -> None:
    import bkm_guard

    assert inspect.signature(bkm_guard.load).parameters["timeout"].default == DEFAULT_TIMEOUT_S


def test_a_rate_limit_stops_the_run(fb: FakeBinance, tmp_path: Path) -> None:
    fb.fail_next("418", retry_after=600)
    run = verifier(tmp_path, fb)
    keys = [make_key(), make_key()]
    results = run.verify_all([hmac_pair(key, make_key()) for key in keys])
    assert all(r.status == "not-verified" for r in results)
    assert "rate-limited" in results[1].reason
    assert mask(keys[1]) not in asked(fb)


# -- the transport ---------------------------------------------------------------------------


def test_budget_paces_requests_to_the_rate() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    budget = transport.Budget(3, 2.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        budget.take(10.0)
    assert slept == [0.5, 0.5]
    with pytest.raises(transport.BudgetSpent):
        budget.take(10.0)


def test_budget_refuses_a_wait_past_the_deadline() -> None:
    budget = transport.Budget(5, 0.1, clock=lambda: 0.0, sleep=lambda s: None)
    budget.take(10.0)
    with pytest.raises(transport.DeadlineReached):
        budget.take(5.0)
    assert budget.used == 1


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:1/x", "https://api.binance.com/sapi", "https://127.0.0.1:2/x"]
)
def test_session_sends_only_to_the_planned_https_host(url: str) -> None:
    budget = transport.Budget(5, 1000.0)
    session = transport.BoundedSession(budget, ["https://127.0.0.1:1"])
    with pytest.raises(transport.HostRefused) as refused:
        session.get(url + "?timestamp=1&signature=abc", timeout=1)
    assert "signature" not in str(refused.value)
    assert budget.used == 0


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("mainnet=http://127.0.0.1:1", "not HTTPS"),
        ("mainnet=https://example.com", "not a Binance host"),
        ("moon=https://127.0.0.1:1", "NAME=https"),
        (",", "names no host"),
    ],
)
def test_host_override_is_checked(raw: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        endpoints.parse_override(raw)


def test_host_override_replaces_the_order() -> None:
    chosen = endpoints.from_env(
        {endpoints.HOSTS_ENV: "binance-us=https://127.0.0.1:9,mainnet=https://localhost:8"}
    )
    assert [(e.name, e.base_url) for e in chosen] == [
        ("binance-us", "https://127.0.0.1:9"),
        ("mainnet", "https://localhost:8"),
    ]
    assert [e.name for e in endpoints.from_env({})] == [
        "mainnet",
        "binance-us",
        "spot-testnet",
        "futures-testnet",
    ]


# -- pairing ---------------------------------------------------------------------------------


def _pairs(text: str) -> list[tuple[str, str]]:
    pairs, _ = pairing.pair_text(text)
    return [(p.api_key.reveal(), (p.secret or p.private_key).reveal()) for p in pairs]  # type: ignore[union-attr]


def test_pairing_a_client_call_and_a_dict() -> None:
    k1, s1, k2, s2 = make_key(), make_key(), make_key(), make_key()
    text = (
        f'client = Client("{k1}", "{s1}")\nexchange = ccxt.binance({{"secret": "{s2}", "apiKey": "{k2}"}})\n'
    )
    assert _pairs(text) == [(k1, s1), (k2, s2)]


@pytest.mark.parametrize(
    "template",
    [
        "BINANCE_API_KEY={k}\nOTHER=1\nBINANCE_API_SECRET={s}\n",  # .env
        "binance:\n  api_key: {k}\n  api_secret: {s}\n",  # YAML
        '{{\n  "apiKey": "{k}",\n  "secretKey": "{s}"\n}}\n',  # JSON
        '[binance]\napi_key = "{k}"\nsecret = "{s}"\n',  # TOML
        'API_SECRET = "{s}"\n' + "x = 1\n" * 30 + 'API_KEY = "{k}"\n',  # the only two, far apart
    ],
)
def test_pairing_named_values(template: str) -> None:
    key, secret = make_key(), make_key()
    assert _pairs(template.format(k=key, s=secret)) == [(key, secret)]


def test_pairing_picks_the_nearest_secret() -> None:
    k1, s1, k2, s2 = make_key(), make_key(), make_key(), make_key()
    text = f"SPOT_KEY={k1}\nSPOT_SECRET={s1}\n\nFUTURES_KEY={k2}\nFUTURES_SECRET={s2}\n"
    assert _pairs(text) == [(k1, s1), (k2, s2)]


def test_pairing_a_private_key() -> None:
    key, pem = make_key(), make_ed25519_pem()
    text = f'API_KEY = "{key}"\nPRIVATE_KEY = """{pem}"""\n'
    pairs, unpaired = pairing.pair_text(text)
    assert unpaired == []
    assert pairs[0].key_type == "ed25519"
    assert pairs[0].private_key is not None
    assert pairs[0].private_key.reveal() == pem


def test_pairing_a_private_key_written_with_escapes() -> None:
    key, pem = make_key(), make_ed25519_pem()
    escaped = pem.replace("\n", "\\n")
    pairs, _ = pairing.pair_text(f'key = "{key}"\npem = "{escaped}"\n')
    assert pairs[0].private_key is not None
    assert pairs[0].private_key.reveal() == pem


def test_rsa_key_paired_in_a_file_is_live(fb: FakeBinance, tmp_path: Path) -> None:
    from bkm_guard.runtime.signing import public_key_pem

    key, pem = make_key(), make_rsa_pem(traditional=True)
    fb.add_key(key, public_key_pem=public_key_pem(pem))
    pairs, unpaired = pairing.pair_text(
        f"binance:\n  api_key: {key}\n  private_key: |\n"
        + "".join(f"    {line}\n" for line in pem.splitlines())
    )
    assert unpaired == []
    assert pairs[0].key_type == "rsa"
    assert verifier(tmp_path, fb).verify(pairs[0]).status == "live"


def test_an_encrypted_private_key_is_not_verified_with_the_reason() -> None:
    pem = make_rsa_pem(password=b"hunter22")
    pairs, unpaired = pairing.pair_text(f'API_KEY = "{make_key()}"\nPEM = """{pem}"""\n')
    assert pairs == []
    assert len(unpaired) == 2
    assert all("encrypted and its password is not known" in u.reason for u in unpaired)


def _pem_with_plus_at_a_line_edge() -> str:
    while True:  # about 1 in 32 Ed25519 PEMs has a body line that starts or ends with "+"
        pem = make_ed25519_pem()
        if any(line[:1] == "+" or line[-1:] == "+" for line in pem.splitlines()[1:-1]):
            return pem


@pytest.mark.parametrize(
    "write",
    [
        lambda pem: pem,
        lambda pem: pem.replace("\n", "\\n"),  # one line with \n escapes
        lambda pem: "".join(f'    "{line}\\n"\n' for line in pem.splitlines()),  # implicit concatenation
        lambda pem: " +\n".join(f'"{line}\\n"' for line in pem.splitlines()),  # "..." + "..."
        lambda pem: "".join(f"  {line}\n" for line in pem.splitlines()),  # a YAML block
    ],
)
def test_a_pem_written_in_code_is_read_back_exactly(write: Any) -> None:
    pem = _pem_with_plus_at_a_line_edge()
    assert pairing.normalize_pem(write(pem)) == pem


def test_what_cannot_be_paired_says_why() -> None:
    key, secret = make_key(), make_key()
    pairs, unpaired = pairing.pair_text(f"API_KEY={key}\n" + "\n" * 40 + f"OTHER_KEY={make_key()}\n")
    assert pairs == []
    assert all("no secret" in u.reason for u in unpaired)
    _, lone = pairing.pair_text(f"API_SECRET={secret}\n")
    assert "secret alone" in lone[0].reason
    assert secret not in repr(lone)


def test_held_values_never_show() -> None:
    key, secret = make_key(), make_key()
    pair = hmac_pair(key, secret)
    assert key not in repr(pair)
    assert secret not in repr(pair)
    with pytest.raises(TypeError):
        pickle.dumps(pair.secret)


# -- `bkm-guard verify` ----------------------------------------------------------------------


@pytest.fixture
def hosts_env(fb: FakeBinance, monkeypatch: pytest.MonkeyPatch) -> FakeBinance:
    monkeypatch.setenv(endpoints.HOSTS_ENV, f"mainnet={fb.base_url}")
    monkeypatch.setenv(endpoints.CA_BUNDLE_ENV, fb.ca_path)
    return fb


def _run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stdin: str, *args: str
) -> tuple[int, str, str]:
    return _run_with(monkeypatch, capsys, io.StringIO(stdin), *args)


def _run_with(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stdin: io.StringIO, *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", stdin)
    code = verify_main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_verify_command_reads_stdin(
    hosts_env: FakeBinance, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    key, secret = make_key(), make_key()
    hosts_env.add_key(key, secret, permissions={"enableWithdrawals": True}, ip_restrict=True)
    code, out, _ = _run(monkeypatch, capsys, f"{key}\n{secret}\n", "--format", fmt)
    assert code == 1
    assert key not in out
    assert secret not in out
    if fmt == "json":
        data = json.loads(out)
        assert data["verifications"][0]["status"] == "live"
        assert data["summary"]["requests"] == 1
    elif fmt == "sarif":
        assert json.loads(out)["runs"][0]["results"][0]["ruleId"] == "live-key-withdrawals"
    else:
        assert "LIVE on Binance.com" in out


def test_verify_command_reads_an_env_file(
    hosts_env: FakeBinance, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key, secret = make_key(), make_key()
    code, out, _ = _run(monkeypatch, capsys, f"BINANCE_API_KEY={key}\nBINANCE_API_SECRET={secret}\n")
    assert code == 0
    assert "rejected" in out
    assert "1 request(s) sent" in out


def test_verify_command_reads_a_key_and_a_pem(
    hosts_env: FakeBinance, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bkm_guard.runtime.signing import public_key_pem

    key, pem = make_key(), make_ed25519_pem()
    hosts_env.add_key(key, public_key_pem=public_key_pem(pem))
    code, out, _ = _run(monkeypatch, capsys, f"{key}\n{pem}")
    assert code == 1
    assert "LIVE" in out


def test_verify_command_never_takes_a_key_from_argv(
    hosts_env: FakeBinance, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = make_key()
    code, out, err = _run(monkeypatch, capsys, "", key)
    assert code == 2
    assert "stdin" in err
    assert key not in out + err
    assert hosts_env.requests == []


@pytest.mark.parametrize("args", [["--format"], ["--max-requests"], ["--output", "x", "--format"]])
def test_verify_command_never_echoes_a_key_given_as_an_option_value(
    hosts_env: FakeBinance,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
) -> None:
    key = make_key()
    code, out, err = _run(monkeypatch, capsys, "", *args, key)
    assert code == 2
    assert key not in out + err
    assert key[:12] not in out + err


def test_verify_command_with_nothing_on_stdin(
    hosts_env: FakeBinance, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(monkeypatch, capsys, "hello\n")
    assert code == 2
    assert "no Binance API key on stdin" in err


def test_verify_command_is_listed() -> None:
    from bkm_guard.cli import COMMANDS

    assert COMMANDS["verify"][0] == "bkm_guard.cli.verify"


def test_parse_text_accepts_names_and_quotes() -> None:
    key, secret = make_key(), make_key()
    pairs, _ = parse_text(f'api_key: "{key}"\nsecret = {secret}\n')
    assert pairs[0].api_key.reveal() == key
    assert pairs[0].secret is not None
    assert pairs[0].secret.reveal() == secret


def test_nothing_reached_the_internet(no_internet: list[Any]) -> None:
    # the guard itself works: a public address is refused before any packet leaves
    with pytest.raises(OSError, match="test tried to reach"), socket.socket() as sock:
        sock.connect(("192.0.2.1", 443))
    assert no_internet == [("192.0.2.1", 443)]


def test_readme_documents_the_host_order_and_the_override() -> None:
    from bkm_guard.hosts import url_host

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("## Is a found key live?") : readme.index("\n## Rules")]
    positions = [section.index(f"`{url_host(env.base_url)}`") for env in endpoints.DEFAULT_ORDER]
    assert positions == sorted(positions)
    for name in (endpoints.HOSTS_ENV, endpoints.CA_BUNDLE_ENV, *endpoints.BY_NAME):
        assert name in section


def test_verify_on_a_terminal_prompts_without_echo(
    hosts_env: FakeBinance, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key, secret = make_key(), make_key()
    hosts_env.add_key(key, secret)
    answers = iter([key, secret])
    prompts: list[str] = []

    def getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(answers)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("getpass.getpass", getpass)
    code, out, _ = _run_with(monkeypatch, capsys, Terminal(""))
    assert code == 1
    assert len(prompts) == 2
    assert "LIVE" in out
