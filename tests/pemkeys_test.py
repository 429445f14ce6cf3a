"""Outside a Binance text, only a private key Binance could take is reported: Ed25519, or RSA of
2048 or 4096 bits (read from the key, or from its ciphertext's length when it is encrypted), in a
file that is not a TLS key pair (a key with its certificate)."""

from __future__ import annotations

import datetime
import functools

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.x509.oid import NameOID

from bkm_guard import pemkeys
from bkm_guard import recognizer as rz

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
FORMATS = ("pkcs8", "pkcs8-encrypted", "traditional", "traditional-encrypted", "openssh")


@functools.cache
def _key(kind: str) -> PrivateKey:
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=int(kind.removeprefix("rsa-")))


def _pem(kind: str, form: str) -> str:
    key = _key(kind)
    fmt = {
        "pkcs8": serialization.PrivateFormat.PKCS8,
        "traditional": serialization.PrivateFormat.TraditionalOpenSSL,
        "openssh": serialization.PrivateFormat.OpenSSH,
    }[form.removesuffix("-encrypted")]
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(b"correct horse") if form.endswith("-encrypted")
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption).decode()


def _cases(kinds: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(kind, form) for kind in kinds for form in FORMATS
            if not (kind == "ed25519" and form.startswith("traditional"))]  # no PKCS#1 for Ed25519


def _certificate(key: PrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now)
               .not_valid_after(now + datetime.timedelta(days=1)))
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize(("kind", "form"), _cases(("ed25519", "rsa-2048", "rsa-4096")))
def test_a_key_file_binance_could_take_is_reported(kind: str, form: str) -> None:
    pem = _pem(kind, form)
    assert pemkeys.has_binance_size(pem.split("\n", 1)[0][11:-5], pem)
    assert len(rz.find_private_keys(pem)) == 1


@pytest.mark.parametrize(("kind", "form"), _cases(("rsa-1024", "rsa-3072")))
def test_an_rsa_key_of_a_size_binance_refuses_is_not_a_binance_key(kind: str, form: str) -> None:
    pem = _pem(kind, form)
    assert not pemkeys.has_binance_size(pem.split("\n", 1)[0][11:-5], pem)
    assert rz.find_private_keys(pem) == []
    # in a Binance text it is still reported: the size rule only spares keys with no Binance context
    assert len(rz.find_private_keys(f"from binance.client import Client\nPEM = '''{pem}'''\n")) == 1


@pytest.mark.parametrize("kind", ["ed25519", "rsa-2048"])
def test_a_tls_key_pair_file_is_not_a_binance_key(kind: str) -> None:
    pem, certificate = _pem(kind, "pkcs8"), _certificate(_key(kind))
    assert rz.find_private_keys(pem + certificate) == []
    assert rz.find_private_keys(certificate + pem) == []
    assert len(rz.find_private_keys(pem)) == 1  # the same key alone in its file is reported
    assert len(rz.find_private_keys(f"# binance api key\n{pem}{certificate}")) == 1


def test_a_body_that_does_not_parse_keeps_its_benefit_of_the_doubt() -> None:
    body = "-----BEGIN PRIVATE KEY-----\n" + "QUJD" * 300 + "\n-----END PRIVATE KEY-----\n"
    assert pemkeys.has_binance_size("PRIVATE KEY", body)


@pytest.mark.parametrize(
    "code",
    [
        # ccxt's signer strips a PEM's armour; lbank's builds one from a secret at run time
        "if secret.find(b'-----BEGIN EC PRIVATE KEY-----') > -1:\n"
        "    secret = secret.replace(b'-----BEGIN EC PRIVATE KEY-----', b'').replace("
        "b'-----END EC PRIVATE KEY-----', b'')\n",
        'pem = "-----BEGIN PRIVATE KEY-----\\n"  # eslint-disable-line\nfor i in range(0, full_lines):\n'
        '    pem += self.secret[i * 64:(i + 1) * 64] + "\\n"\npem += "-----END PRIVATE KEY-----"\n',
    ],
)
def test_code_that_handles_pem_armour_is_not_a_key(code: str) -> None:
    assert rz.find_private_keys(f"import binance\n{code}") == []


def test_a_key_written_as_literals_joined_with_plus_is_found() -> None:
    lines = _pem("ed25519", "pkcs8").strip().splitlines()
    joined = " +\n       ".join(f'"{line}\\n"' for line in lines)
    code = f"from binance.spot import Spot\nPEM = ({joined})\n"
    assert pemkeys.key_type("PRIVATE KEY", code[code.index("-----BEGIN"):]) == pemkeys.ED25519
    assert len(rz.find_private_keys(code)) == 1
