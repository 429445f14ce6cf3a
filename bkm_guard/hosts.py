"""Binance's hosts, defined once: the scanner, the analyzer and the runtime client all use these."""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

#: Registrable domains that belong to Binance; a host is Binance's if it is one of them
#: or a subdomain of one of them (api.binance.com, fstream.binance.com, testnet.binance.vision).
#: From Binance's API docs and the URL constants of python-binance, ccxt, binance-connector and
#: binance-sdk: binanceops.com is the options testnet (testnet.binanceops.com, testnetws.binanceops.com).
BINANCE_DOMAINS: Final = (
    "binance.com",
    "binance.vision",
    "binancefuture.com",
    "binance.us",
    "binanceops.com",
)

#: Second-level names that make a Binance domain whatever the TLD a template fills in:
#: python-binance writes `https://api.binance.{}/api` and formats it with `tld` ("com", "us").
_TEMPLATED_NAMES: Final = frozenset({"binance", "binancefuture", "binanceops"})

#: The API and stream hosts Binance documents, for help texts and the runtime's base URL check.
KNOWN_HOSTS: Final = (
    "api.binance.com",
    "api1.binance.com",
    "api2.binance.com",
    "api3.binance.com",
    "api4.binance.com",
    "api-gcp.binance.com",
    "demo-api.binance.com",
    "data-api.binance.vision",
    "fapi.binance.com",
    "dapi.binance.com",
    "eapi.binance.com",
    "papi.binance.com",
    "vapi.binance.com",
    "demo-fapi.binance.com",
    "demo-dapi.binance.com",
    "stream.binance.com",
    "demo-stream.binance.com",
    "data-stream.binance.vision",
    "ws-api.binance.com",
    "demo-ws-api.binance.com",
    "ws-fapi.binance.com",
    "ws-dapi.binance.com",
    "fstream.binance.com",
    "dstream.binance.com",
    "nbstream.binance.com",
    "vstream.binance.com",
    "margin-stream.binance.com",
    "testnet.binance.vision",
    "stream.testnet.binance.vision",
    "ws-api.testnet.binance.vision",
    "testnet.binancefuture.com",
    "stream.binancefuture.com",
    "fstream.binancefuture.com",
    "dstream.binancefuture.com",
    "testnet.binanceops.com",
    "testnetws.binanceops.com",
    "api.binance.us",
    "stream.binance.us",
)

#: Insecure-scheme prefixes and the secure scheme each one must become.
SECURE_SCHEME: Final = {"http": "https", "ws": "wss"}

DEFAULT_REST_URL: Final = "https://api.binance.com"

# An insecure URL starts where no scheme-ish character precedes it (so `wws://` and
# `xhttp://` do not count) and its host runs to the first character that cannot be in one.
# A host may hold template slots: `{}`, `{tld}`, `{self.tld}`, `%s`, and NUL (the analyzer's
# stand-in for an f-string expression).
INSECURE_URL_RE: Final = re.compile(
    r"(?<![A-Za-z0-9+.\-])(?P<scheme>[hH][tT][tT][pP]|[wW][sS])://"
    r"(?P<host>(?:[A-Za-z0-9.\-\x00]|\{[A-Za-z0-9_.]{0,40}\}|%s)+)"
)
_SLOT_RE: Final = re.compile(r"\{[A-Za-z0-9_.]{0,40}\}|%s|\x00")


# A network location a request will reach as written: a DNS name or a bracketed IPv6 literal,
# and a port. urlsplit and urllib3 disagree on anything else (`evil.example\\.binance.com` is one
# host to urlsplit, a host and a path to urllib3), so a base URL that would carry a key is
# refused unless its netloc is this plain.
_PLAIN_NETLOC_RE: Final = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
                                     r"(?::[0-9]{1,5})?")


def is_plain_netloc(netloc: str) -> bool:
    """Is this `host[:port]` with nothing a URL parser could read another way?"""
    return _PLAIN_NETLOC_RE.fullmatch(netloc) is not None


def is_binance_host(host: str) -> bool:
    """True for a Binance domain or any subdomain of one, also as a template whose TLD is a
    slot (`api.binance.{}`, `fstream.binance.{tld}`); look-alikes are not."""
    host = host.strip().rstrip(".").lower()
    if any(host == domain or host.endswith("." + domain) for domain in BINANCE_DOMAINS):
        return True
    if not _SLOT_RE.search(host):
        return False
    labels = _SLOT_RE.sub("\x00", host).split(".")
    # `binance.{}` at the end: the slot is the TLD, the label before it a Binance name
    return len(labels) >= 2 and labels[-1] == "\x00" and labels[-2] in _TEMPLATED_NAMES


def url_host(url: str) -> str:
    """The host of a URL, lower case, without port or credentials ('' when there is none)."""
    try:
        return (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return ""


def is_insecure_binance_url(url: str) -> bool:
    """True for an `http://` or `ws://` URL whose host is Binance's."""
    match = INSECURE_URL_RE.match(url.strip())
    return match is not None and is_binance_host(match.group("host"))


def secure_url(url: str) -> str:
    """The same URL with `http://`→`https://` and `ws://`→`wss://`; other URLs unchanged."""
    scheme, sep, rest = url.partition("://")
    secure = SECURE_SCHEME.get(scheme.lower())
    return f"{secure}{sep}{rest}" if sep and secure else url
