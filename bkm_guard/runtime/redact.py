"""Log redaction: no loaded key, secret or Binance-shaped credential reaches a log line.

`bkm_guard.load()` calls `install()` with the secrets it loaded (opt out with
`load(..., redact=False)`); call it yourself to protect logs before anything is loaded:

    import bkm_guard.runtime.redact
    bkm_guard.runtime.redact.install()

The filter masks (with `bkm_guard.masking.mask`) every value it was given, any piece of 16
or more characters of one, and anything the recognizer takes for a Binance credential or a
private key: in the message, its arguments, `extra=` attributes, and the formatted
traceback. It sits on the logger given (default: the root logger) and its handlers, wraps
the log record factory, and (once per process) wraps `logging.Handler.handle` and
`logging.Handler.format`, so a record is cleaned whichever way it was made
(`logging.makeLogRecord`, a QueueListener, a socket receiver) and whichever handler
writes it, including handlers added later.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Final

from bkm_guard.masking import mask
from bkm_guard.runtime.secret_windows import WindowMasker

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
        super().__init__("bkm_guard.runtime.redact")
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None
        self._windows = WindowMasker()

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
                self._windows.add([value])
            # longest first, so a PEM is replaced whole before any of its lines
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def redact(self, text: str) -> str:
        """`text` with every known value and every credential the recognizer finds masked."""
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(lambda m: self._values.get(m.group(0), "…"), text)
        text = self._windows.mask(text)  # pieces of 16+ characters of a value
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
        # cleaned by the factory, but Logger.makeRecord sets `extra=` attributes after it
        _clean_extras(record, f)
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
    _clean_extras(record, f)
    record._bkm_redacted = f


def _clean_extras(record: logging.LogRecord, f: RedactingFilter) -> None:
    """`extra={...}` attributes, which `%(key)s` formatters and socket handlers read."""
    for key, value in list(record.__dict__.items()):
        if key not in _RECORD_FIELDS and not key.startswith("_bkm"):
            record.__dict__[key] = _clean_arg(value, f)


#: a LogRecord's own attributes; any other attribute came from `extra=`
_RECORD_FIELDS: Final = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message", "asctime", "taskName"}

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
        if "handle" not in _previous:
            _wrap_handlers()
    return _FILTER


def _wrap_handlers() -> None:
    """Every handler cleans a record before it handles it, and its formatted text after:
    records that never met the factory or a filter (makeLogRecord, QueueListener, socket
    logging, a handler added later, `extra=` attributes) are covered too."""
    handle, format_ = logging.Handler.handle, logging.Handler.format

    def redacting_handle(self: logging.Handler, record: logging.LogRecord) -> Any:
        redact_record(record, _FILTER)
        return handle(self, record)

    def redacting_format(self: logging.Handler, record: logging.LogRecord) -> str:
        return _FILTER.redact(format_(self, record))

    _previous["handle"], _previous["format"] = handle, format_
    logging.Handler.handle = redacting_handle  # type: ignore[method-assign]
    logging.Handler.format = redacting_format  # type: ignore[method-assign]


def uninstall() -> None:
    """Remove the filter everywhere `install()` put it and forget the values (for tests)."""
    with _state_lock:
        for item in _attached:
            item.removeFilter(_FILTER)
        _attached.clear()
        if "factory" in _previous:
            logging.setLogRecordFactory(_previous.pop("factory"))
        if "handle" in _previous:
            logging.Handler.handle = _previous.pop("handle")  # type: ignore[method-assign]
            logging.Handler.format = _previous.pop("format")  # type: ignore[method-assign]
    with _FILTER._lock:
        _FILTER._values.clear()
        _FILTER._pattern = None
    _FILTER._windows.clear()
