"""local-kafka can run a broker with a SASL_SSL (SCRAM) listener whose certificate a test-made CA signed."""

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient

from tests.support.kafka import LOCAL_KAFKA, local_kafka
from tests.support.tls import BrokerTls, make_broker_tls


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, BrokerTls]]:
    base = tmp_path_factory.mktemp("sasl")
    tls = make_broker_tls(base / "tls", "shipper", "s3cret-" + uuid.uuid4().hex[:8])
    env = {"LOGFERRY_KAFKA_RUN_DIR": str(base / "run")}
    result = subprocess.run(
        [str(LOCAL_KAFKA), "start", "--sasl-ssl", str(tls.directory)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    try:
        yield lines["KAFKA_SASL_SSL_BOOTSTRAP_SERVERS"], tls
    finally:
        local_kafka("reset", env=env)


def client_config(bootstrap: str, tls: BrokerTls, password: str) -> dict[str, object]:
    return {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": tls.username,
        "sasl.password": password,
        "ssl.ca.location": str(tls.ca),
    }


def test_right_password_produces_over_tls(secure_broker: tuple[str, BrokerTls]) -> None:
    bootstrap, tls = secure_broker
    producer = Producer({**client_config(bootstrap, tls, tls.password), "acks": "all", "enable.idempotence": True})
    errors: list[object] = []
    producer.produce("secure-topic", value=b"hello", on_delivery=lambda err, msg: errors.append(err))
    assert producer.flush(60) == 0
    assert errors == [None]


def test_wrong_password_is_refused(secure_broker: tuple[str, BrokerTls]) -> None:
    bootstrap, tls = secure_broker
    seen: list[str] = []
    admin = AdminClient({**client_config(bootstrap, tls, "wrong"), "error_cb": lambda e: seen.append(str(e)), "logger": _Quiet()})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=5)
    admin.poll(2)  # serves error_cb, where librdkafka reports the authentication failure
    assert any("Authentication failed" in text for text in seen), seen


class _Quiet:
    """A logger for librdkafka that keeps its retries off the test output."""

    def log(self, *args: object, **kwargs: object) -> None:
        pass

    def __getattr__(self, name: str) -> object:
        return lambda *a, **k: None


def test_tls_files_exist(tmp_path: Path) -> None:
    tls = make_broker_tls(tmp_path, "u", "p")
    assert tls.ca.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert (tmp_path / "broker-cert.pem").exists() and (tmp_path / "scram-users").read_text() == "u:p\n"
