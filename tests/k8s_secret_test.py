"""Keys in the base64 `data:` of Kubernetes Secrets are found, on the entry's line, never shown."""

from __future__ import annotations

import base64
import json

import pytest

from bkm_guard.static.pipeline import analyze
from tests.conftest import make_hex, make_key


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def findings(path: str, text: str) -> list[tuple[int, str]]:
    return [(f.line, f.code) for f in analyze(path, text.encode()).findings]


def test_yaml_secret_data_values_are_decoded() -> None:
    key, secret = make_key(), make_key()
    text = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: grid-bot\ntype: Opaque\ndata:\n"
        f"  BINANCE_API_KEY: {b64(key)}\n"
        f"  BINANCE_API_SECRET: {b64(secret + chr(10))}\n"  # `echo $SECRET | base64` keeps the newline
        f"  LOG_LEVEL: {b64('debug')}\n"
    )
    report = analyze("deploy/secret.yaml", text.encode())
    assert [(f.line, f.code) for f in report.findings] == [(7, "BKM004"), (8, "BKM004")]
    shown = " ".join(f.message + f.masked for f in report.findings)
    assert "API key in `BINANCE_API_KEY`" in shown
    assert "API secret in `BINANCE_API_SECRET`" in shown
    for value in (key, secret, b64(key)):
        assert value[:16] not in shown
        assert value[20:36] not in shown


def test_json_secret_and_a_whole_env_file_as_one_value() -> None:
    key, hex_secret = make_key(), make_hex()
    env = f"BINANCE_API_KEY={key}\nBINANCE_API_SECRET={hex_secret}\n"
    manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "bot"}, "data": {".env": b64(env)}}
    text = json.dumps(manifest, indent=2)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if '".env"' in row)
    assert findings("secret.json", text) == [(line, "BKM004"), (line, "BKM004")]  # the key and the secret


@pytest.mark.parametrize(
    "text",
    [
        # a ConfigMap is not a Secret: its base64-looking values are not decoded
        "kind: ConfigMap\ndata:\n  BLOB: {b}\n",
        # a Secret holding no credential
        "kind: Secret\ndata:\n  password: {p}\n",
    ],
)
def test_no_credential_no_finding(text: str) -> None:
    assert findings("cm.yaml", text.format(b=b64(make_key()), p=b64("correct horse battery staple"))) == []
