"""local-kafka can run a broker with a SASL_SSL (SCRAM) listener whose certificate a test-made CA signed."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient

from tests.support.secure_kafka import SecureBroker, secure_broker
from tests.support.tls import make_broker_tls


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    with secure_broker(tmp_path_factory.mktemp("sasl")) as broker:
        yield broker


def test_right_password_produces_over_tls(secure: SecureBroker) -> None:
    producer = Producer({**secure.client_config(), "acks": "all", "enable.idempotence": True})
    errors: list[object] = []
    producer.produce("secure-topic", value=b"hello", on_delivery=lambda err, msg: errors.append(err))
    assert producer.flush(60) == 0
    assert errors == [None]


def test_wrong_password_is_refused(secure: SecureBroker) -> None:
    seen: list[str] = []
    admin = AdminClient({**secure.client_config("wrong"), "error_cb": lambda e: seen.append(str(e)), "logger": _Quiet()})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=5)
    admin.poll(2)  # serves error_cb, where librdkafka reports the authentication failure
    assert any("Authentication failed" in text for text in seen), seen


class _Quiet:
    """A logger for librdkafka that keeps its retries off the test output."""

    def log(self, *args: object, **kwargs: object) -> None:
        pass


def test_tls_files_exist(tmp_path: Path) -> None:
    tls = make_broker_tls(tmp_path, "u", "p")
    assert tls.ca.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert (tmp_path / "broker-cert.pem").exists() and (tmp_path / "scram-users").read_text() == "u:p\n"
