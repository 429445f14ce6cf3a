"""The log redaction filter: no planted secret survives into any log line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bkm_guard.runtime import redact
from bkm_guard.testing.keys import new_api_key, new_ed25519_key, new_hmac_secret


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    redact.uninstall()
    yield
    redact.uninstall()


@pytest.fixture
def stream_logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger with its own handler, added BEFORE install() is called, like a bot's setup."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("bkm_test_bot")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, buffer
    logger.removeHandler(handler)


class Holder:
    def __init__(self, value: str) -> None:
        self.value = value

    def __str__(self) -> str:
        return f"Holder({self.value})"


def _log_everything(logger: logging.Logger, secret: str) -> None:
    half = len(secret) // 2
    logger.info("plain %s", secret)  # bkm: ignore[BKM201]: the redactor under test masks it
    logger.info("repr %r", secret)  # bkm: ignore[BKM201]: the redactor under test masks it
    logger.info(f"f-string {secret}")  # bkm: ignore[BKM201]: the redactor under test masks it
    logger.info("mapping %(s)s", {"s": secret})
    logger.info("object %s", Holder(secret))
    logger.info("pieces %s%s", secret[:half], secret[half:])
    logger.warning("bytes %s", secret.encode())
    try:
        raise ValueError(f"bad key {secret}")  # bkm: ignore[BKM201]: the redactor under test masks it
    except ValueError:
        logger.exception("failed")
    logger.info("stack", stack_info=True)


@pytest.mark.parametrize("kind", ["api_key", "secret"])
def test_known_values_are_masked_everywhere(stream_logger: tuple[logging.Logger, io.StringIO],
                                            kind: str) -> None:
    logger, buffer = stream_logger
    api_key, secret = new_api_key(), new_hmac_secret()
    redact.install([api_key, secret])
    _log_everything(logger, api_key if kind == "api_key" else secret)
    text = buffer.getvalue()
    assert api_key not in text
    assert secret not in text
    assert "plain " in text
    assert "(64 chars)" in text
    assert "ValueError" in text  # the traceback is kept, cleaned


def test_binance_shaped_values_are_masked_without_being_given(
        stream_logger: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = stream_logger
    redact.install()
    unknown = new_api_key()
    logger.info("api_key=%s", unknown)
    logger.info("headers: {'X-MBX-APIKEY': '%s'}", unknown)
    assert unknown not in buffer.getvalue()


def test_private_key_pem_and_its_lines_are_masked(stream_logger: tuple[logging.Logger, io.StringIO],
                                                  ) -> None:
    logger, buffer = stream_logger
    private, _ = new_ed25519_key()
    body = [line for line in private.splitlines() if not line.startswith("-----")]
    redact.install([private])
    logger.info("key %s", private)  # bkm: ignore[BKM201]: the redactor under test masks it
    logger.info("line %s", body[0])
    text = buffer.getvalue()
    assert private not in text
    for line in body:
        assert line not in text


def test_unknown_pem_is_masked(stream_logger: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = stream_logger
    redact.install()
    private, _ = new_ed25519_key()
    logger.error("loaded %s", private)  # bkm: ignore[BKM201]: the redactor under test masks it
    body = private.splitlines()[1]
    assert body not in buffer.getvalue()


def test_harmless_messages_are_untouched(stream_logger: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = stream_logger
    redact.install([new_hmac_secret()])
    digest = "ab" * 32  # a sha256 hex digest is not a key
    logger.info("order %d filled at %.2f, id %s, sha %s", 42, 1.5, "abc", digest)
    assert buffer.getvalue() == f"INFO order 42 filled at 1.50, id abc, sha {digest}\n"


def test_records_of_handlers_added_later_are_clean() -> None:
    secret = new_hmac_secret()
    redact.install([secret])
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    late = logging.getLogger("bkm_test_late")
    late.addHandler(handler)
    late.propagate = False
    try:
        late.warning("secret %s", secret)
    finally:
        late.removeHandler(handler)
    assert secret not in buffer.getvalue()


def test_install_is_idempotent() -> None:
    first = redact.install(["x" * 20])
    second = redact.install(["x" * 20])
    root = logging.getLogger()
    assert first is second
    assert root.filters.count(first) == 1
    factory = logging.getLogRecordFactory()
    redact.install()
    assert logging.getLogRecordFactory() is factory


def test_install_on_a_given_logger(stream_logger: tuple[logging.Logger, io.StringIO]) -> None:
    logger, _ = stream_logger
    f = redact.install(logger=logger)
    assert f in logger.filters
    assert all(f in handler.filters for handler in logger.handlers)


def test_uninstall_restores_the_factory() -> None:
    before = logging.getLogRecordFactory()
    redact.install()
    assert logging.getLogRecordFactory() is not before
    redact.uninstall()
    assert logging.getLogRecordFactory() is before


def test_short_values_are_not_masked_as_literals() -> None:
    redact.install(["abc", "", None])
    assert redact.redact("abc and abcd") == "abc and abcd"


def test_redact_function(caplog: pytest.LogCaptureFixture) -> None:
    secret = new_hmac_secret()
    redact.install([secret])
    assert secret not in redact.redact(f"value={secret}")
    assert repr(redact.installed_filter()).startswith("RedactingFilter(")
    assert secret not in repr(redact.installed_filter())


@settings(max_examples=60, deadline=None)
@given(prefix=st.text(max_size=30), suffix=st.text(max_size=30))
def test_a_known_secret_never_survives(prefix: str, suffix: str) -> None:
    secret = new_hmac_secret()
    redact.installed_filter().add([secret])
    assert secret not in redact.redact(prefix + secret + suffix)


# -- every path a record can take (issue 9) ---------------------------------------------------


def _windows_of(secret: str) -> list[str]:
    return [secret[i:i + 16] for i in range(len(secret) - 15)]


def test_extra_attributes_read_by_a_formatter_are_masked() -> None:
    secret = new_hmac_secret()
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(message)s k=%(k)s"))
    logger = logging.getLogger("bkm_test_extra")
    logger.propagate = False
    logger.addHandler(handler)  # before install, on a child logger: no filter on it
    try:
        redact.install([secret])
        logger.warning("extra", extra={"k": secret})
        logger.warning("extra object", extra={"k": Holder(secret)})
    finally:
        logger.removeHandler(handler)
    text = buffer.getvalue()
    assert "k=" in text
    assert not any(window in text for window in _windows_of(secret))


def test_records_made_with_make_log_record_are_masked_by_any_handler() -> None:
    """A QueueListener or a socket receiver hands records straight to handlers."""
    import logging.handlers
    import queue

    secret = new_hmac_secret()
    redact.install([secret])
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)  # added after install, on no logger at all
    handler.setFormatter(logging.Formatter("%(message)s %(k)s"))
    handler.handle(logging.makeLogRecord({"msg": f"made {secret}", "k": secret, "args": ()}))
    handler.handle(logging.makeLogRecord({"msg": "made %s", "args": (secret,), "k": 1}))
    records: queue.Queue[logging.LogRecord] = queue.Queue()
    listener = logging.handlers.QueueListener(records, handler)
    listener.start()
    records.put(logging.makeLogRecord({"msg": "queued %s", "args": (secret,), "k": secret[3:40]}))
    listener.stop()
    text = buffer.getvalue()
    assert text.count("made") == 2
    assert "queued" in text
    assert not any(window in text for window in _windows_of(secret))


@pytest.mark.parametrize("piece", [slice(0, 16), slice(0, 20), slice(10, 42), slice(32, 64)])
def test_any_16_character_piece_of_a_secret_is_masked(
        stream_logger: tuple[logging.Logger, io.StringIO], piece: slice) -> None:
    logger, buffer = stream_logger
    secret = new_hmac_secret()
    redact.install([secret])
    logger.info("piece %s!", secret[piece])
    logger.info(f"inline <{secret[piece]}>")  # bkm: ignore[BKM201]: the redactor under test masks it
    text = buffer.getvalue()
    assert text.count("piece") == 1
    assert "inline <" in text
    assert not any(window in text for window in _windows_of(secret))


def test_short_pieces_and_other_text_stay_as_they_are(
        stream_logger: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = stream_logger
    secret = new_hmac_secret()
    redact.install([secret])
    logger.info("fifteen %s; a path /var/lib/bot/state.json", secret[:15])
    assert f"fifteen {secret[:15]}; a path /var/lib/bot/state.json" in buffer.getvalue()


def test_uninstall_restores_the_handler_methods() -> None:
    handle, format_ = logging.Handler.handle, logging.Handler.format
    redact.install([new_hmac_secret()])
    assert logging.Handler.handle is not handle
    redact.uninstall()
    assert (logging.Handler.handle, logging.Handler.format) == (handle, format_)


def test_extra_attributes_are_cleaned_on_the_record_itself() -> None:
    """Socket and queue handlers ship record.__dict__, not the formatted line."""
    secret = new_hmac_secret()
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    logger = logging.getLogger("bkm_test_extra_record")
    logger.propagate = False
    handler = Keep()
    logger.addHandler(handler)
    try:
        redact.install([secret])
        logger.warning("extra", extra={"k": secret})
    finally:
        logger.removeHandler(handler)
    assert secret[:16] not in str(seen[0].__dict__)
