"""Our own logs: secrets redacted, librdkafka's reconnect storms held to one line per interval."""

import logging

from logferry.logs import JsonFormatter, RepeatedClientLines, redact, register_secret


def record(name: str, message: str) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, message, None, None)


def test_repeated_client_lines_pass_once_per_interval_and_count_the_rest() -> None:
    keep = RepeatedClientLines(interval=3600)
    first = record("shipper.librdkafka", "FAIL 127.0.0.1:9092: Connection refused (after 0ms in state CONNECT)")
    again = record("shipper.librdkafka", "FAIL 127.0.0.1:9092: Connection refused (after 12ms in state CONNECT)")
    other = record("shipper.librdkafka", "FAIL 127.0.0.1:9092: SASL authentication error")
    ours = record("shipper.delivery", "FAIL 127.0.0.1:9092: Connection refused (after 0ms in state CONNECT)")
    assert keep.filter(first) is True
    assert keep.filter(again) is False
    assert keep.filter(other) is True
    assert keep.filter(ours) is True and keep.filter(ours) is True  # only librdkafka's lines are thinned
    keep.interval = 0
    later = record("shipper.librdkafka", "FAIL 127.0.0.1:9092: Connection refused (after 3ms in state CONNECT)")
    assert keep.filter(later) is True
    assert later.repeated == 1  # type: ignore[attr-defined]


def test_registered_secrets_never_reach_a_log_line() -> None:
    register_secret("hunter2-very-secret")
    line = JsonFormatter().format(record("x", "password is hunter2-very-secret"))
    assert "hunter2-very-secret" not in line and "***" in line
    assert redact("a hunter2-very-secret b") == "a *** b"
