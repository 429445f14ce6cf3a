"""Log redaction: no loaded key, secret or Binance-shaped credential reaches a log line.

`bkm_guard.load()` calls `install()` with the secrets it loaded (opt out with
`load(..., redact=False)`); call it yourself to protect logs before anything is loaded:

    import bkm_guard.redact
    bkm_guard.redact.install()

The filter masks (with `bkm_guard.masking.mask`) every value it was given and anything the
recognizer takes for a Binance credential or a private key, in the message, in its
arguments, and in the formatted traceback. It sits on the logger given (default: the root
logger) and on that logger's handlers, and wraps the log record factory so that records of
every logger are cleaned when they are made, whichever handlers are added later.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Final

from bkm_guard.masking import mask

__all__ = ["RedactingFilter", "install", "installed_filter", "redact", "uninstall"]

#: values shorter than this are not masked as literal strings: masking "abc" everywhere
#: would mangle logs and protect nothing (no Binance secret is that short)
MIN_VALUE_LENGTH: Final = 12
# cheap gate before the recognizer runs: a long base62 run or a PEM armour line
_MAYBE_CREDENTIAL: Final = re.compile(r"[A-Za-z0-9]{40}|-----BEGIN")
_PEM_BODY_LINE: Final = re.compile(r"^[A-Za-z0-9+/=]{16,}$")


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites records so they hold no secret; it never drops a record."""

    def __init__(self) -> None:
        super().__init__("bkm_guard.redact")
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None

    def __repr__(self) -> str:
        return f"RedactingFilter({len(self._values)} value(s))"

    def add(self, values: Iterable[str | bytes | None]) -> None:
        """Mask these exact values from now on (with PEMs, each of their body lines too)."""
        with self._lock:
            for raw in values:
                if raw is None:
                    continue
                value = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
                for part in _parts(value):
                    self._values.setdefault(part, mask(part))
            # longest first, so a PEM is replaced whole before any of its lines
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def redact(self, text: str) -> str:
        """`text` with every known value and every credential the recognizer finds masked."""
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(lambda m: self._values.get(m.group(0), "…"), text)
        if _MAYBE_CREDENTIAL.search(text):
            text = _mask_found(text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record, self)
        return True


def _parts(value: str) -> list[str]:
    value = value.strip()
    if len(value) < MIN_VALUE_LENGTH:
        return []
    parts = [value]
    if value.startswith("-----BEGIN"):
        parts += [line.strip() for line in value.splitlines() if _PEM_BODY_LINE.match(line.strip())]
    return parts


def _mask_found(text: str) -> str:
    try:
        from bkm_guard.recognizer import find_credentials, find_private_keys
    except ImportError:  # pragma: no cover - the recognizer ships with the package
        return text
    # every key-shaped thing, Binance's or not: a log must show none
    found = (*find_credentials(text, hex_needs_context=False), *find_private_keys(text, binance_only=False))
    spans = [(m.start, m.end, m.masked) for m in found]
    for start, end, masked in sorted(spans, reverse=True):
        text = text[:start] + masked + text[end:]
    return text


def _clean_arg(value: object, f: RedactingFilter) -> object:
    if isinstance(value, str):
        return f.redact(value)
    if value is None or isinstance(value, (int, float, bool)):
        return value
    try:
        shown = str(value)
    except Exception:  # a broken __str__ is logging's problem, not ours
        return value
    cleaned = f.redact(shown)
    return value if cleaned == shown else cleaned


def redact_record(record: logging.LogRecord, f: RedactingFilter) -> None:
    """Clean one record in place: message, arguments, rendered text, traceback and stack."""
    if getattr(record, "_bkm_redacted", None) is f:
        return
    if isinstance(record.msg, str):
        record.msg = f.redact(record.msg)
    else:
        record.msg = _clean_arg(record.msg, f)
    if isinstance(record.args, Mapping):
        record.args = {k: _clean_arg(v, f) for k, v in record.args.items()}
    elif isinstance(record.args, tuple):
        record.args = tuple(_clean_arg(arg, f) for arg in record.args)
    try:
        rendered = record.getMessage()
    except Exception:  # a broken format string: logging's own handling
        rendered = None
    if rendered is not None:
        cleaned = f.redact(rendered)
        if cleaned != rendered:  # a secret built from pieces, or hidden in an object's str()
            record.msg, record.args = cleaned, ()
    if record.exc_info and not record.exc_text:
        text = logging.Formatter().formatException(record.exc_info)
        cleaned = f.redact(text)
        if cleaned != text:
            # formatters append exc_text; dropping exc_info stops any of them re-rendering the raw one
            record.exc_text, record.exc_info = cleaned, None
    elif record.exc_text:
        record.exc_text = f.redact(record.exc_text)
    if record.stack_info:
        record.stack_info = f.redact(record.stack_info)
    record._bkm_redacted = f


_FILTER: Final = RedactingFilter()
_state_lock = threading.Lock()
_attached: list[logging.Filterer] = []
#: the record factory that was in place before install() wrapped it ("factory" key)
_previous: dict[str, Any] = {}


def installed_filter() -> RedactingFilter:
    """The process-wide filter that `install()` attaches."""
    return _FILTER


def redact(text: str) -> str:
    """`text` as the log filter would write it (for your own prints and reports)."""
    return _FILTER.redact(text)


def install(extra_values: Iterable[str | bytes | None] = (), *,
            logger: logging.Logger | None = None) -> RedactingFilter:
    """Mask `extra_values` and Binance-shaped credentials in every log record. Idempotent.

    Attaches the filter to `logger` (default: the root logger) and its current handlers,
    and once per process wraps the log record factory, which covers every other logger and
    handlers added later.
    """
    _FILTER.add(extra_values)
    target = logger if logger is not None else logging.getLogger()
    with _state_lock:
        for item in (target, *target.handlers):
            if _FILTER not in item.filters:
                item.addFilter(_FILTER)
                _attached.append(item)
        if "factory" not in _previous:
            previous = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                record: logging.LogRecord = previous(*args, **kwargs)
                redact_record(record, _FILTER)
                return record

            _previous["factory"] = previous
            logging.setLogRecordFactory(factory)
    return _FILTER


def uninstall() -> None:
    """Remove the filter everywhere `install()` put it and forget the values (for tests)."""
    with _state_lock:
        for item in _attached:
            item.removeFilter(_FILTER)
        _attached.clear()
        if "factory" in _previous:
            logging.setLogRecordFactory(_previous.pop("factory"))
    with _FILTER._lock:
        _FILTER._values.clear()
        _FILTER._pattern = None
