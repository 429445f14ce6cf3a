"""Every rule's VALID and INVALID examples, run as tests with keys generated now (none committed)."""

from __future__ import annotations

import secrets
import string

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from bkm_guard import recognizer
from bkm_guard.cli.rule import main
from bkm_guard.static.pipeline import analyze, fix
from bkm_guard.static.rules import ALL_RULES
from bkm_guard.static.rules.base import Invalid, Rule, Valid

_BASE62 = string.ascii_letters + string.digits


def make_key() -> str:
    while True:
        value = "".join(secrets.choice(_BASE62) for _ in range(64))
        if recognizer.classify_value(value) is recognizer.Shape.KEY:
            return value


def make_hex() -> str:
    while True:
        value = secrets.token_hex(32)
        if recognizer.classify_value(value) is recognizer.Shape.HEX64:
            return value


def make_pem() -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def fill(template: str, path: str) -> tuple[str, list[str]]:
    """The example with fresh credentials, and the secrets planted in it."""
    planted = {"{KEY}": make_key(), "{SECRET}": make_key(), "{HEX}": make_hex()}
    pem = make_pem()
    planted["{PEM}"] = pem.replace("\n", "\\n") if path.endswith(".py") else pem
    text = template.replace("{HTTP}", "http").replace("{WS}", "ws")
    used = []
    for placeholder, value in planted.items():
        if placeholder in text:
            # of a PEM, the secret part is its base64 body, not the BEGIN/END markers
            used.append("".join(pem.splitlines()[1:-1]) if placeholder == "{PEM}" else value)
            text = text.replace(placeholder, value)
    return text, used


def _cases(kind: type[Valid] | type[Invalid]) -> list[tuple[type[Rule], Valid | Invalid]]:
    return [(rule, case) for rule in ALL_RULES.values()
            for case in (rule.VALID if kind is Valid else rule.INVALID)]


def _id(case: tuple[type[Rule], Valid | Invalid]) -> str:
    rule, example = case
    return f"{rule.CODE}-{example.path}-{example.code.splitlines()[-1][:30]}"


@pytest.mark.parametrize("case", _cases(Invalid), ids=_id)
def test_invalid_example_is_reported_on_its_line(case: tuple[type[Rule], Invalid]) -> None:
    rule, example = case
    text, planted = fill(example.code, example.path)
    report = analyze(example.path, text.encode())
    assert (example.line, rule.CODE) in {(f.line, f.code) for f in report.findings}, report.findings
    shown = " ".join(f"{f.message} {f.masked} {f.fingerprint}" for f in report.findings)
    for secret in planted:
        assert not any(secret[i:i + 8] in shown for i in range(len(secret) - 7))


@pytest.mark.parametrize("case", [c for c in _cases(Invalid) if c[1].fixed is not None], ids=_id)
def test_invalid_example_fix(case: tuple[type[Rule], Invalid]) -> None:
    rule, example = case
    assert example.fixed is not None
    text, _ = fill(example.code, example.path)
    result = fix(example.path, text.encode(), unsafe=rule.FIX == "unsafe")
    assert result.data is not None
    assert result.data.decode() == fill(example.fixed, example.path)[0]
    assert rule.CODE in {f.code for f in result.applied}
    again = analyze(example.path, result.data)
    assert not [f for f in again.findings if f.fixable != "no"]
    assert fix(example.path, result.data, unsafe=True).data is None
    if rule.FIX == "unsafe":
        assert any("rotate" in warning for warning in result.warnings)


@pytest.mark.parametrize("case", _cases(Valid), ids=_id)
def test_valid_example_is_not_reported(case: tuple[type[Rule], Valid]) -> None:
    rule, example = case
    text, _ = fill(example.code, example.path)
    report = analyze(example.path, text.encode())
    assert rule.CODE not in {f.code for f in report.findings}, report.findings


@pytest.mark.parametrize("rule", list(ALL_RULES.values()), ids=list(ALL_RULES))
def test_rule_has_docs_examples_and_a_unique_code(rule: type[Rule]) -> None:
    assert rule.INVALID
    assert rule.VALID
    doc = rule.doc()
    for part in ("What it does", "Why is this bad?", "Example", "Use instead"):
        assert part in doc
    assert rule.FIX in ("safe", "unsafe", "no")
    assert rule.FIX == "no" or any(case.fixed for case in rule.INVALID) or rule.CODE == "BKM002"


def test_registry_has_the_seven_codes() -> None:
    assert list(ALL_RULES) == ["BKM001", "BKM002", "BKM003", "BKM004", "BKM101", "BKM102", "BKM201"]


@pytest.mark.parametrize(("argv", "code", "expected"), [
    ([], 0, "BKM201  credential-logged"),
    (["BKM101"], 0, "Use instead"),
    (["bkm001"], 0, "hardcoded-api-key"),
    (["BKM999"], 2, ""),
])
def test_rule_cli(argv: list[str], code: int, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == code
    out, err = capsys.readouterr()
    assert expected in out
    if code == 2:
        assert "unknown rule code" in err
