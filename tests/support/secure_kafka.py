"""A dedicated broker with a SASL_SSL (SCRAM) listener, a test-made CA and one user, for the security tests."""

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.kafka import LOCAL_KAFKA, local_kafka
from tests.support.tls import BrokerTls, make_broker_tls


@dataclass(frozen=True)
class SecureBroker:
    bootstrap: str
    """The SASL_SSL listener's address."""
    tls: BrokerTls

    def client_config(self, password: str | None = None) -> dict[str, object]:
        return {
            "bootstrap.servers": self.bootstrap, "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": self.tls.username, "sasl.password": self.tls.password if password is None else password,
            "ssl.ca.location": str(self.tls.ca),
        }


@contextmanager
def secure_broker(base: Path) -> Iterator[SecureBroker]:
    """Start a broker whose SASL_SSL listener knows one SCRAM user; reset it afterwards."""
    tls = make_broker_tls(base / "tls", "shipper", "s3cret-" + uuid.uuid4().hex[:12])
    env = {"LOGFERRY_KAFKA_RUN_DIR": str(base / "run")}
    try:  # a start that fails or times out half way may have left a broker running: reset it too
        result = subprocess.run([str(LOCAL_KAFKA), "start", "--sasl-ssl", str(tls.directory)], capture_output=True,
                                text=True, env={**os.environ, **env}, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"the SASL_SSL broker did not start: {result.stderr.strip()}")
        lines = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
        yield SecureBroker(lines["KAFKA_SASL_SSL_BOOTSTRAP_SERVERS"], tls)
    finally:
        local_kafka("reset", env=env)
