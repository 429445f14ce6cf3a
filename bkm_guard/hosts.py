"""Binance's hosts, defined once: the scanner, the analyzer and the runtime client all use these."""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

#: Registrable domains that belong to Binance; a host is Binance's if it is one of them
#: or a subdomain of one of them (api.binance.com, fstream.binance.com, testnet.binance.vision).
BINANCE_DOMAINS: Final = ("binance.com", "binance.vision", "binancefuture.com", "binance.us")

#: The API and stream hosts Binance documents, for help texts and the runtime's base URL check.
KNOWN_HOSTS: Final = (
    "api.binance.com",
    "api1.binance.com",
    "api2.binance.com",
    "api3.binance.com",
    "api4.binance.com",
    "api-gcp.binance.com",
    "data-api.binance.vision",
    "fapi.binance.com",
    "dapi.binance.com",
    "eapi.binance.com",
    "papi.binance.com",
    "stream.binance.com",
    "data-stream.binance.vision",
    "ws-api.binance.com",
    "fstream.binance.com",
    "dstream.binance.com",
    "nbstream.binance.com",
    "testnet.binance.vision",
    "stream.testnet.binance.vision",
    "ws-api.testnet.binance.vision",
    "testnet.binancefuture.com",
    "stream.binancefuture.com",
    "api.binance.us",
    "stream.binance.us",
)

#: Insecure-scheme prefixes and the secure scheme each one must become.
SECURE_SCHEME: Final = {"http": "https", "ws": "wss"}

DEFAULT_REST_URL: Final = "https://api.binance.com"

# An insecure URL starts where no scheme-ish character precedes it (so `wws://` and
# `xhttp://` do not count) and its host runs to the first character that cannot be in one.
INSECURE_URL_RE: Final = re.compile(
    r"(?<![A-Za-z0-9+.\-])(?P<scheme>[hH][tT][tT][pP]|[wW][sS])://(?P<host>[A-Za-z0-9.\-]+)"
)


def is_binance_host(host: str) -> bool:
    """True for a Binance domain or any subdomain of one; look-alikes are not."""
    host = host.strip().rstrip(".").lower()
    return any(host == domain or host.endswith("." + domain) for domain in BINANCE_DOMAINS)


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
