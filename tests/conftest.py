"""Shared test helpers. Fake credentials are made at run time: the repository holds none."""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from bkm_guard.runtime.store import KeyStore
    from bkm_guard.testing import FakeBinance

BASE62 = string.ascii_letters + string.digits
HEXDIGITS = "0123456789abcdef"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
PASSPHRASE = "correct horse battery staple"


def make_key(rng: random.Random | None = None) -> str:
    """A fake Binance HMAC API key or secret: 64 random base62 characters, as Binance issues them."""
    rng = rng or random.SystemRandom()
    while True:
        key = "".join(rng.choice(BASE62) for _ in range(64))
        # the recognizer rejects the ~1e-5 of random strings that lack a digit; tests want keys
        if any(c.isdigit() for c in key) and any(c.isupper() for c in key) and any(c.islower() for c in key):
            return key


def make_hex(rng: random.Random | None = None) -> str:
    """64 random lowercase hex digits: a futures-testnet key, or a sha256 digest."""
    rng = rng or random.SystemRandom()
    return "".join(rng.choice(HEXDIGITS) for _ in range(64))


def make_ed25519_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def make_rsa_pem(*, traditional: bool = False, password: bytes | None = None) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    fmt = serialization.PrivateFormat.TraditionalOpenSSL if traditional else serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption).decode()


@pytest.fixture
def api_key() -> str:
    return make_key()


@pytest.fixture
def api_secret() -> str:
    return make_key()


@pytest.fixture
def corpus() -> Path:
    if not (CORPUS / "expected.json").is_file():
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def server() -> Iterator[FakeBinance]:
    """One fake Binance over real TLS for the whole session (per xdist worker)."""
    from bkm_guard.testing import FakeBinance

    with FakeBinance() as fake:
        yield fake


@pytest.fixture
def fb(server: FakeBinance) -> Iterator[FakeBinance]:
    """The session's fake Binance, well-behaved again before and after each test."""
    server.reset()
    yield server
    server.reset()


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    """An initialized key store with a cheap KDF (tests only: the default costs ~0.1 s a key)."""
    from bkm_guard.runtime.store import KdfParams, KeyStore, StaticPassphrase

    key_store = KeyStore(tmp_path / "store", passphrase_source=StaticPassphrase(PASSPHRASE),
                         kdf_params=KdfParams.cheap())
    key_store.init()
    return key_store
