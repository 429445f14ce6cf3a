"""The recognizer: what is a Binance credential, a private key, an insecure Binance URL."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pytest
from conftest import make_ed25519_pem, make_hex, make_key, make_rsa_pem
from hypothesis import given, settings
from hypothesis import strategies as st

from bkm_guard import recognizer as rz
from bkm_guard.masking import fingerprint, mask
from bkm_guard.static.pipeline import analyze

KEY = make_key(random.Random(7))
SECRET = make_key(random.Random(8))
HEX = make_hex(random.Random(9))
# the insecure schemes are built at run time: this file must scan clean
HTTP, WS = "http" + "://", "ws" + "://"


def kinds(text: str) -> list[rz.Kind]:
    return [m.kind for m in rz.find_all(text)]


# --- whole values ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("value", "shape"),
    [
        (KEY, rz.Shape.KEY),
        (HEX, rz.Shape.HEX64),
        (HEX.upper(), rz.Shape.HEX64),
        ("x" * 64, rz.Shape.PLACEHOLDER),
        ("0" * 64, rz.Shape.PLACEHOLDER),
        ("deadbeef" * 8, rz.Shape.PLACEHOLDER),
        ("Ab12Cd34" * 8, rz.Shape.PLACEHOLDER),
        ((string.digits + string.ascii_uppercase + string.ascii_lowercase + "01"), rz.Shape.PLACEHOLDER),
        ("calculateRollingVolumeWeightedAveragePriceOver24hWindowForSymbol", rz.Shape.NONE),
        ("BinanceCoinMarginedPerpetualFundingRateHistoryPaginatorFor2024Q3", rz.Shape.NONE),
        (KEY.lower(), rz.Shape.PLACEHOLDER),  # no capitals: not how Binance keys look
        (KEY[:63], rz.Shape.NONE),
        (KEY + "A", rz.Shape.NONE),
        ("your-api-key", rz.Shape.PLACEHOLDER),
        ("<api_secret>", rz.Shape.PLACEHOLDER),
        ("YOUR_API_KEY_HERE", rz.Shape.PLACEHOLDER),
        ("REPLACE_ME", rz.Shape.PLACEHOLDER),
        ("BINANCE_API_KEY", rz.Shape.PLACEHOLDER),
        ("${BINANCE_API_KEY}", rz.Shape.PLACEHOLDER),
        ("${{ secrets.BINANCE_API_KEY }}", rz.Shape.PLACEHOLDER),
        ("", rz.Shape.PLACEHOLDER),
    ],
)
def test_classify_value(value: str, shape: rz.Shape) -> None:
    assert rz.classify_value(value) is shape


def test_binance_doc_example_keys_are_examples() -> None:
    # Binance's published example key and secret ("SIGNED Endpoint Examples"), kept in halves
    example_key = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zv" + "sw0MuIgwCIPy6utIco14y7Ju91duEh8A"
    example_secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP" + "1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    for value in (example_key, example_secret):
        assert rz.classify_value(value) is rz.Shape.EXAMPLE
        assert rz.find_all(f'api_key = "{value}"') == []


@pytest.mark.parametrize(
    "halves",
    [
        # futures/options docs' signed example (64 hex digits), key and secret
        ("dbefbc809e3e83c283a984c3a1459732", "ea7db1360ca80c5c2c8867408d28cc83"),
        ("2b5eb11e18796d12d88f13dc27dbbd02", "c2cc51ff7059765ed9821957d82bb4d9"),
        # the HMAC key example of the FAQ "API Key Types"
        ("Fhs4lGae2qAi6VNjbJjebUAwXrIChb7m", "lf372UOICMwdKaNdNBGKtfdeUff2TTTT"),
        # margin "Create Special Key" / "Query Special Key List" answers
        ("npOzOAeLVgr2TuxWfNo43AaPWpBbJEoK", "ezh1o8mSQb6ryE2odE11A4AoVlJbQoGx"),
        ("87ssWB7azoy6ACRfyp6OVOL5U3rtZptX", "31QWw2kWjl1jHEYRbyM1pd6qykRBQw8p"),
        ("znpOzOAeLVgr2TuxWfNo43AaPWpBbJEo", "Kezh1o8mSQb6ryE2odE11A4AoVlJbQoG"),
    ],
)
def test_other_published_examples_are_examples(halves: tuple[str, str]) -> None:
    value = "".join(halves)
    assert rz.classify_value(value) is rz.Shape.EXAMPLE
    assert rz.find_all(f'from binance.client import Client\napi_secret = "{value}"\n') == []


@pytest.mark.parametrize(
    ("value", "key_position", "expected"),
    [(KEY, False, True), (KEY, True, True), (HEX, True, True), (HEX, False, False), ("x" * 64, True, False)],
)
def test_is_credential_value(value: str, key_position: bool, expected: bool) -> None:
    assert rz.is_credential_value(value, key_position=key_position) is expected


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("api_key", rz.Role.KEY), ("apiKey", rz.Role.KEY), ("API_KEY", rz.Role.KEY),
        ("BINANCE_API_KEY", rz.Role.KEY), ("binance_key", rz.Role.KEY), ("key", rz.Role.KEY),
        ("X-MBX-APIKEY", rz.Role.KEY), ("UMFUTURES_KEY", rz.Role.KEY), ("binance-api-key", rz.Role.KEY),
        ("api_secret", rz.Role.SECRET), ("apiSecret", rz.Role.SECRET), ("secret", rz.Role.SECRET),
        ("secret_key", rz.Role.SECRET), ("secretKey", rz.Role.SECRET), ("sec_key", rz.Role.SECRET),
        ("BINANCE_SECRET_KEY", rz.Role.SECRET), ("UMFUTURES_SECRET", rz.Role.SECRET),
        ("api_key_env", None), ("api_key_id", None), ("checksum", None), ("sha256", None),
        ("EXPECTED_SIGNATURE", None), ("content-hash", None), ("key_path", None), ("symbol", None),
        ("hash", None), ("base_url", None), ("", None),
    ],
)
def test_role_of_name(name: str, role: rz.Role | None) -> None:
    assert rz.role_of_name(name) is role


# --- text -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f'api_key = "{KEY}"', [rz.Kind.API_KEY]),
        (f"BINANCE_API_SECRET={SECRET}", [rz.Kind.API_SECRET]),
        (f'"apiKey": "{KEY}", "secret": "{SECRET}"', [rz.Kind.API_KEY, rz.Kind.API_SECRET]),
        (f'curl -H "X-MBX-APIKEY: {KEY}" https://api.binance.com', [rz.Kind.API_KEY]),
        (f"Client('{KEY}', '{SECRET}')", [rz.Kind.CREDENTIAL, rz.Kind.CREDENTIAL]),
        (f"UMFUTURES_KEY: \"{HEX}\"", [rz.Kind.API_KEY]),
        (f'"binance": {{"key": "{HEX}"}}', [rz.Kind.API_KEY]),
        (f"const apiSecret = '{HEX}'  // binance futures testnet", [rz.Kind.API_SECRET]),
        # 64 hex under a key name in a text that is not Binance's: an Ethereum key, a test vector
        (f'"key": "{HEX}"', []),
        (f"const privateKey = '{HEX}'", []),
        (f"TEST_KEY={HEX}", []),
        # ... unless the name itself says an exchange API key (a futures testnet key in CI config)
        (f"const apiSecret = '{HEX}'", [rz.Kind.API_SECRET]),
        (f"TEST_FUTURES_API_KEY: {HEX}", [rz.Kind.API_KEY]),
        # hex anywhere else is a digest, a signature or a checksum
        (f"{HEX}  grid_bot-1.4.2.tar.gz", []),
        (f'EXPECTED_SIGNATURE = "{HEX}"', []),
        (f"    --hash=sha256:{HEX} \\", []),
        (f'{{file = "x.whl", hash = "sha256:{HEX}"}}', []),
        (f"signature={HEX}", []),
        # boundaries: inside a longer base64 / base64url / dotted run, a key is not one
        (f"integrity: sha512-{KEY}+abc/def==", []),
        (f'integrity="sha384-{KEY}"', []),
        (f"data:image/png;base64,AAAA/{KEY}", []),
        (f"{KEY}=", []),
        (f"a{KEY}", []),
        (f"{KEY}_x", []),
        (f"token.{KEY}", []),
        (f'"{KEY}."', [rz.Kind.CREDENTIAL]),
        # an escape right before the key does not glue it to the "n"
        (f'"line\\nAPI_KEY={KEY}"', [rz.Kind.API_KEY]),
        (f'"\\n{KEY}"', [rz.Kind.CREDENTIAL]),
    ],
)
def test_credentials_in_text(text: str, expected: list[rz.Kind]) -> None:
    assert kinds(text) == expected


def test_match_position_is_one_based_and_points_at_the_value() -> None:
    text = f'# config\n\nbinance:\n  api_key: "{KEY}"\n'
    (match,) = rz.find_all(text)
    assert (match.line, match.column) == (4, 13)
    assert text[match.start : match.end] == KEY
    assert match.confidence == "high"


def test_confidence_follows_context() -> None:
    (alone,) = rz.find_all(f"{KEY}\n")
    (near_binance,) = rz.find_all(f"# binance\n{KEY}\n")
    (named,) = rz.find_all(f"api_secret={KEY}\n")
    assert (alone.confidence, near_binance.confidence, named.confidence) == ("low", "medium", "high")


def test_no_match_field_holds_the_value() -> None:
    pem = make_ed25519_pem()
    text = f"api_key={KEY}\nsecret={SECRET}\n{pem}\nurl={HTTP}api.binance.com\n"
    body = pem.splitlines()[1]
    matches = rz.find_all(text)
    assert len(matches) == 4
    dumped = repr(matches) + str(matches)
    for secret in (KEY, SECRET, body, KEY[4:20], SECRET[4:20]):
        assert secret not in dumped
    assert matches[0].masked == mask(KEY) == f"{KEY[:4]}…(64 chars)"
    assert matches[0].fingerprint == fingerprint(KEY) != fingerprint(SECRET)


# --- PEM --------------------------------------------------------------------------------------

def _pems() -> list[tuple[str, str]]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    ec_key = ec.generate_private_key(ec.SECP256R1())
    openssh = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    return [
        ("PRIVATE KEY", make_ed25519_pem()),
        ("PRIVATE KEY", make_rsa_pem()),
        ("RSA PRIVATE KEY", make_rsa_pem(traditional=True)),
        ("ENCRYPTED PRIVATE KEY", make_rsa_pem(password=b"correct horse")),
        ("EC PRIVATE KEY", ec_key.private_bytes(serialization.Encoding.PEM,
                                                serialization.PrivateFormat.TraditionalOpenSSL,
                                                serialization.NoEncryption()).decode()),
        ("OPENSSH PRIVATE KEY", openssh),
    ]


@pytest.mark.parametrize(("label", "pem"), _pems(), ids=lambda v: v if len(v) < 30 else "pem")
def test_private_keys_every_form(label: str, pem: str) -> None:
    forms = {
        "file": pem,
        "escaped": '# binance\nKEY = "' + pem.strip().replace("\n", "\\n") + '"',
        "yaml": "binance:\n  key: |\n" + "".join("    " + line + "\n" for line in pem.splitlines()),
    }
    for form, text in forms.items():
        matches = rz.find_all(text)
        if label == "EC PRIVATE KEY":  # Binance takes Ed25519 and RSA keys only
            assert matches == [], form
            matches = rz.find_private_keys(text, binance_only=False)
        assert [m.kind for m in matches] == [rz.Kind.PRIVATE_KEY], form
        assert matches[0].label == label
        assert text[matches[0].start :].startswith("-----BEGIN")
        assert rz.is_private_key_pem(text)


def test_pem_public_keys_and_certificates_are_not_credentials() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    assert rz.find_all(public) == []
    assert not rz.is_private_key_pem(public)


def test_pem_marker_without_body_is_documentation() -> None:
    text = "-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----\n"
    assert rz.find_all(text) == []


def test_pem_body_lines_of_exactly_64_alphanumerics_are_not_keys() -> None:
    rng = random.Random(3)
    body = [make_key(rng) for _ in range(5)]
    body[0] = "MIIE" + body[0][4:]  # a DER SEQUENCE, as every key body starts
    text = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(body) + "\n-----END PRIVATE KEY-----\n"
    assert kinds(text) == [rz.Kind.PRIVATE_KEY]


def test_wrapped_base64_blob_lines_are_not_keys() -> None:
    rng = random.Random(4)
    alphabet = string.ascii_letters + string.digits + "+/"
    lines = ["".join(rng.choice(alphabet) for _ in range(63)) + "+" for _ in range(4)]
    lines.insert(2, make_key(rng))
    text = "LOGO = (\n" + "".join(f'    "{line}"\n' for line in lines) + ")\n"
    assert rz.find_all(text) == []


def test_a_list_of_keys_is_not_a_blob() -> None:
    text = "KEYS = [\n" + "".join(f'    "{make_key()}",\n' for _ in range(3)) + "]\n"
    assert len(rz.find_all(text)) == 3


# --- URLs -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "label"),
    [
        (f"{HTTP}api.binance.com/api/v3/time", HTTP + "api.binance.com"),
        (f"{WS}stream.binance.com:9443/ws", WS + "stream.binance.com"),
        (f'"{HTTP.upper()}FAPI.BINANCE.COM"', HTTP + "fapi.binance.com"),
        (f"{HTTP}testnet.binancefuture.com/fapi/v1", HTTP + "testnet.binancefuture.com"),
        (f"{HTTP}testnet.binance.vision", HTTP + "testnet.binance.vision"),
        (f"{WS}stream.binance.us:9443", WS + "stream.binance.us"),
        (f"url={HTTP}binance.com", HTTP + "binance.com"),
    ],
)
def test_insecure_binance_urls(text: str, label: str) -> None:
    (match,) = rz.find_all(text)
    assert (match.kind, match.label, match.masked) == (rz.Kind.INSECURE_URL, label, label)


@pytest.mark.parametrize(
    "text",
    [
        "https://api.binance.com", "wss://stream.binance.com:9443",
        "w" + WS + "stream.binance.com", "x" + HTTP + "api.binance.com",
        f"{HTTP}api.binance.com.evil.example/x", f"{HTTP}fakebinance.com", f"{HTTP}binance.com-x.example",
        f"{HTTP}127.0.0.1:8000", f"{WS}localhost:8765", f"{HTTP}binance.co",
    ],
)
def test_not_insecure_binance_urls(text: str) -> None:
    assert rz.find_all(text) == []


# --- prefilter --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"import os\nprint('hello')\n", False),
        (b"x = '" + b"a" * 63 + b"'", False),
        (KEY.encode(), True),
        (b"-----BEGIN OPENSSH PRIVATE KEY-----", True),
        ((HTTP + "api.Binance.com").encode(), True),
        ((HTTP + "example.com").encode(), False),
        (b"\x00\xff" * 100, False),
    ],
)
def test_prefilter(data: bytes, expected: bool) -> None:
    assert rz.prefilter(data) is expected


def test_prefilter_never_hides_a_finding() -> None:
    rng = random.Random(11)
    for text in (f"k={make_key(rng)}", make_rsa_pem(), f"{WS}fstream.binance.com"):
        assert rz.find_all(text)
        assert rz.prefilter(text.encode())


# --- the shared corpus ------------------------------------------------------------------------

CODE_OF_KIND = {rz.Kind.API_KEY: "BKM004", rz.Kind.API_SECRET: "BKM004", rz.Kind.CREDENTIAL: "BKM004",
                rz.Kind.PRIVATE_KEY: "BKM003", rz.Kind.INSECURE_URL: "BKM101"}


def _corpus_files(corpus: Path, part: str) -> list[Path]:
    return sorted(p for p in (corpus / "cases" / part).rglob("*") if p.is_file())


def test_corpus_text_files_give_exactly_the_expected_lines(corpus: Path) -> None:
    expected = json.loads((corpus / "expected.json").read_text())
    problems = []
    for path in _corpus_files(corpus, "text"):
        rel = path.relative_to(corpus / "cases").as_posix()
        got = {(m.line, CODE_OF_KIND[m.kind]) for m in rz.find_all(path.read_text())}
        # BKM201 needs the Python analyzer (a notebook's print); everything else is the recognizer's
        want = {(f["line"], f["code"]) for f in expected.get(rel, []) if f["code"] != "BKM201"}
        if got != want:
            problems.append(f"{rel}: missing {sorted(want - got)}, unexpected {sorted(got - want)}")
    assert problems == []


def test_corpus_negative_files_give_nothing(corpus: Path) -> None:
    problems = [
        f"{path.name}:{m.line} {m.kind.value}"
        for path in _corpus_files(corpus, "negative")
        for m in rz.find_all(path.read_text())
    ]
    assert problems == []


# --- properties -------------------------------------------------------------------------------

SYNTAXES = [
    'api_key = "{}"',
    "API_SECRET = '{}'",
    '{{"apiKey": "{}", "enableRateLimit": true}}',
    "binance:\n  api_secret: {}\n",
    "BINANCE_API_KEY={}\n",
    'export BINANCE_API_SECRET="{}"',
    "const apiKey = '{}';",
    "client = new Spot(`{}`)",
    "| key | `{}` |",
    '[binance]\nsecret = "{}"\n',
    "<apiKey>{}</apiKey>",
    'curl -H "X-MBX-APIKEY: {}" https://api.binance.com/api/v3/account',
    "{}",
]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**64), syntax=st.sampled_from(SYNTAXES))
def test_every_random_key_is_found_in_every_syntax(seed: int, syntax: str) -> None:
    key = make_key(random.Random(seed))
    text = syntax.format(key)
    found = [text[m.start : m.end] for m in rz.find_all(text)]
    assert found == [key]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**64))
def test_random_hex_digests_are_never_keys_outside_a_key_position(seed: int) -> None:
    digest = make_hex(random.Random(seed))
    for text in (digest, f"sha256:{digest}", f"{digest}  file.tar.gz", f'checksum = "{digest}"'):
        assert rz.find_all(text) == []


@settings(max_examples=40, deadline=None)
@given(data=st.binary(min_size=200, max_size=400))
def test_random_pem_bodies(data: bytes) -> None:
    import base64
    import textwrap

    def pem(label: str, der: bytes) -> str:
        body = textwrap.fill(base64.b64encode(der).decode(), 64)
        return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"

    for label in ("PUBLIC KEY", "CERTIFICATE"):
        assert rz.find_all(pem(label, data)) == []
    # a body shaped like DER (a SEQUENCE) that does not parse stays a candidate ...
    assert kinds(pem("PRIVATE KEY", b"\x30\x82" + data)) == [rz.Kind.PRIVATE_KEY]
    # ... while one that is not DER at all is not a key (code, prose) in the scanner's view
    if data[0] != 0x30:
        assert kinds(pem("PRIVATE KEY", data)) == []


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    for match in rz.find_all(text):
        assert 0 <= match.start < match.end <= len(text)
        assert match.line >= 1
        assert match.column >= 1
    rz.prefilter(text.encode("utf-8", "surrogatepass"))


# --- issue 14: hosts, Binance's own tokens, Binance context, key types ----------------------

@pytest.mark.parametrize(
    ("text", "hosts"),
    [
        (f'API_URL = "{HTTP}api.binance.{{}}/api"', [HTTP + "api.binance.{}"]),
        (f'FSTREAM = "{WS}fstream.binance.{{}}/"', [WS + "fstream.binance.{}"]),
        (f'url = f"{WS}fstream.binance.{{self.tld}}/ws"', [WS + "fstream.binance.{self.tld}"]),
        (f'"{HTTP}api{{}}.binance.{{}}/sapi"', [HTTP + "api{}.binance.{}"]),
        (f"see {HTTP}testnet.binanceops.com/ for options", [HTTP + "testnet.binanceops.com"]),
        (f'OPTIONS = "{HTTP}testnet.binanceops.{{}}/eapi"', [HTTP + "testnet.binanceops.{}"]),
        (f"{WS}testnetws.binanceops.com/ws", [WS + "testnetws.binanceops.com"]),
        # a slot anywhere but the TLD, or a non-Binance name before it, is no Binance host
        (f'"{HTTP}binance.{{}}.example.org/"', []),
        (f'"{HTTP}api.example.{{}}/"', []),
        (f'"{HTTP}{{}}/api"', []),
    ],
)
def test_host_templates_and_binanceops(text: str, hosts: list[str]) -> None:
    assert [m.label for m in rz.find_insecure_urls(text)] == hosts


@pytest.mark.parametrize(
    "template",
    ['{{"listenKey": "{KEY}"}}', 'assert response.listen_key == "{KEY}"',
     'keepalive(listen_key="{KEY}")', "wss://stream.binance.com:9443/ws/{KEY}",
     "PUT /api/v3/userDataStream?listenKey={KEY}", "listenKey: {KEY}"],
)
def test_listen_keys_are_not_credentials(template: str) -> None:
    text = "# binance user data stream\n" + template.format(KEY=make_key())
    assert rz.find_credentials(text) == []


def test_checksums_keyed_by_file_names_are_not_keys() -> None:
    text = "\n".join(f'  "{name}": "{make_hex()}",' for name in
                     ("0024_api_key_verification.sql", "0031_secret_rotation.sql", "keys/api_key.txt"))
    assert rz.find_credentials("# binance bot migrations\n{\n" + text + "\n}") == []
    # a path that is not a file name still names a credential
    vault = f"secret/binance/api_key: {make_key()}\n"
    assert [m.kind for m in rz.find_credentials(vault)] == [rz.Kind.API_KEY]


def test_hex_needs_binance_context() -> None:
    eth = f'DEV_ACCOUNTS = [{{"key": "{make_hex()}"}}]\nTEST_KEY = "{make_hex()}"\n'
    assert rz.find_credentials(eth) == []
    assert [m.kind for m in rz.find_credentials("from binance.um_futures import UMFutures\n" + eth)] == [
        rz.Kind.API_KEY, rz.Kind.API_KEY]
    # the redactor masks them anyway
    assert len(rz.find_credentials(eth, hex_needs_context=False)) == 2


def _other_pems() -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, x25519

    pkcs8, trad = s.PrivateFormat.PKCS8, s.PrivateFormat.TraditionalOpenSSL

    def pem(key: object, fmt: s.PrivateFormat) -> str:
        return key.private_bytes(s.Encoding.PEM, fmt, s.NoEncryption()).decode()  # type: ignore[attr-defined]

    return {
        "ec-sec1": pem(ec.generate_private_key(ec.SECP256K1()), trad),
        "ec-pkcs8": pem(ec.generate_private_key(ec.SECP256R1()), pkcs8),
        "dsa": pem(dsa.generate_private_key(2048), trad),
        "x25519": pem(x25519.X25519PrivateKey.generate(), pkcs8),
        "ed25519": pem(ed25519.Ed25519PrivateKey.generate(), pkcs8),
    }


def test_private_key_type_comes_from_the_der_not_the_armour() -> None:
    from bkm_guard.pemkeys import key_type

    pems = _other_pems()
    assert key_type("EC PRIVATE KEY", pems["ec-sec1"]) == "ec"
    assert key_type("PRIVATE KEY", pems["ec-pkcs8"]) == "ec"
    assert key_type("PRIVATE KEY", pems["x25519"]) == "x25519"
    assert key_type("PRIVATE KEY", make_ed25519_pem()) == "ed25519"
    assert key_type("RSA PRIVATE KEY", make_rsa_pem(traditional=True)) == "rsa"
    assert key_type("ENCRYPTED PRIVATE KEY", make_rsa_pem(password=b"pw")) == "unknown"  # hidden
    # armour that lies: an EC key relabelled RSA is still EC, an Ed25519 one still Ed25519
    relabelled_ec = pems["ec-pkcs8"].replace("PRIVATE KEY", "RSA PRIVATE KEY")
    assert key_type("RSA PRIVATE KEY", relabelled_ec) == "ec"
    relabelled_ed = pems["ed25519"].replace("PRIVATE KEY", "EC PRIVATE KEY")
    assert key_type("EC PRIVATE KEY", relabelled_ed) == "ed25519"
    context = "# binance signing key\n"
    assert rz.find_private_keys(context + relabelled_ec) == []
    assert len(rz.find_private_keys(context + relabelled_ed)) == 1


@pytest.mark.parametrize("kind", ["ec-sec1", "ec-pkcs8", "dsa", "x25519"])
def test_keys_binance_does_not_accept_are_not_reported(kind: str) -> None:
    pem = _other_pems()[kind]
    for text in (pem, f'# binance\nKEY = """{pem}"""\n'):
        assert rz.find_private_keys(text) == []
        assert len(rz.find_private_keys(text, binance_only=False)) == 1  # the redactor still masks


def test_inline_pem_needs_binance_context_a_key_file_does_not() -> None:
    pem = make_ed25519_pem()
    vectors = f'def test_load():\n    key = load_pem_private_key(b"""{pem}""", None)\n'
    assert rz.find_private_keys(vectors) == []
    assert len(rz.find_private_keys("from binance.spot import Spot\n" + vectors)) == 1
    assert len(rz.find_private_keys(pem)) == 1  # a committed id_ed25519 / key.pem
    assert len(rz.find_private_keys("\n" + make_rsa_pem() + "\n\n")) == 1


def test_prefilter_lets_the_new_candidates_through() -> None:
    import codecs

    assert rz.prefilter(b"kind: Secret\ndata:\n  K: QUJD\n")
    assert rz.prefilter(f'API_URL = "{HTTP}api.binance.{{}}/api"'.encode())
    from bkm_guard.static.textdecode import as_utf8

    wide = codecs.BOM_UTF16_LE + f"BINANCE_API_KEY={make_key()}\n".encode("utf-16-le")
    assert not rz.prefilter(wide)
    assert rz.prefilter(as_utf8(wide))


@pytest.mark.parametrize(
    "name", ["privateKey", "exchange.privateKey", "WALLET_PK", "eth_priv", "private_key"]
)
def test_hex_under_a_wallet_key_name_is_not_a_binance_key(name: str) -> None:
    # secp256k1 keys (Ethereum, StarkNet, DEX signers) are 64 hex digits too; Binance's hex keys
    # are API keys and secrets, and its private keys are PEM
    hex_key = make_hex()
    assert rz.find_all(f"# binance and paradex\n{name} = '{hex_key}'\n") == []
    assert not analyze("bot.py", f"import ccxt\nexchange = ccxt.binance()\n{name} = '{hex_key}'\n"
                       .encode()).findings
    assert kinds(f"# binance\nAPI_SECRET = '{hex_key}'\n") == [rz.Kind.API_SECRET]


@pytest.mark.parametrize("period", ["0123456789abcdef", "deadbeef", "0f1e2d3c4b5a69788796a5b4c3d2e1f0"])
def test_a_repeated_hex_pattern_is_a_placeholder(period: str) -> None:
    value = (period * 8)[:64]
    assert rz.classify_value(value) is rz.Shape.PLACEHOLDER
    assert kinds(f"# binance\nexchange.secret = '{value}'\n") == []
