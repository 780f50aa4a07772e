"""A broker of the test's own with Kafka's authorisation on (`local-kafka start --sasl-ssl DIR --acls`), and the admin
steps of per-host isolation done through the Admin API as the super user `admin`: SCRAM users, topics, prefixed ACLs.

The ACLs are the ones README.md's "Per-host isolation" section lists for the kafka-acls tool.
"""

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from tests.support.kafka import LOCAL_KAFKA, local_kafka
from tests.support.tls import BrokerTls, make_broker_tls

DEADLINE = 60.0  # seconds a user, an ACL or a topic may take to reach the broker's authorizer and metadata


@dataclass(frozen=True)
class AclBroker:
    bootstrap: str
    """The SASL_SSL listener's address (the one the ACLs bind)."""
    tls: BrokerTls
    """The CA, and the super user `admin` with its password."""

    def client_config(self, user: str, password: str) -> dict[str, Any]:
        return {
            "bootstrap.servers": self.bootstrap, "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": user, "sasl.password": password, "ssl.ca.location": str(self.tls.ca),
        }

    def admin(self) -> AdminClient:
        return AdminClient(self.client_config(self.tls.username, self.tls.password))


@contextmanager
def acl_broker(base: Path) -> Iterator[AclBroker]:
    """Start a broker with ACLs enforced whose only SCRAM user is the super user `admin`; reset it afterwards."""
    tls = make_broker_tls(base / "tls", "admin", "admin-" + uuid.uuid4().hex[:12])
    env = {"LOGFERRY_KAFKA_RUN_DIR": str(base / "run")}
    try:
        result = subprocess.run([str(LOCAL_KAFKA), "start", "--sasl-ssl", str(tls.directory), "--acls"],
                                capture_output=True, text=True, env={**os.environ, **env}, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"the broker with ACLs did not start: {result.stderr.strip()}")
        lines = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
        yield AclBroker(lines["KAFKA_SASL_SSL_BOOTSTRAP_SERVERS"], tls)
    finally:
        local_kafka("reset", env=env)


def retry(what: str, attempt: Callable[[], bool]) -> None:
    """Call `attempt` until it returns True; Kafka errors count as not yet. Raises after DEADLINE."""
    deadline = time.monotonic() + DEADLINE
    last: object = None
    while time.monotonic() < deadline:
        try:
            if attempt():
                return
        except KafkaException as error:
            last = error
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {DEADLINE} s (last error: {last})")


def add_user(broker: AclBroker, user: str, password: str) -> None:
    """Create (or update) a SCRAM-SHA-512 user and wait until it can authenticate."""
    upsert = UserScramCredentialUpsertion(user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password.encode())
    admin = broker.admin()  # kept referenced until the futures are done: a collected client fails them
    for future in admin.alter_user_scram_credentials([upsert]).values():
        future.result(timeout=30)

    def authenticates() -> bool:
        # Describe of nothing in particular: any authenticated client may ask for the broker list.
        metadata = AdminClient(broker.client_config(user, password)).list_topics(timeout=5)
        return bool(metadata.brokers)

    retry(f"user {user} authenticating", authenticates)


def create_topics(broker: AclBroker, names: list[str], partitions: int = 2) -> None:
    admin = broker.admin()
    for future in admin.create_topics([NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names]).values():
        future.result(timeout=30)
    retry("topics getting leaders", lambda: all(
        (t := admin.list_topics(n, timeout=5).topics.get(n)) is not None and t.error is None
        and all(p.leader >= 0 for p in t.partitions.values()) for n in names))


def _allow(user: str, resource: ResourceType, name: str, pattern: ResourcePatternType, operation: AclOperation) -> AclBinding:
    return AclBinding(resource, name, pattern, f"User:{user}", "*", operation, AclPermissionType.ALLOW)


def host_acls(user: str, prefix: str, host_id: str) -> list[AclBinding]:
    """A host's shipper: write and describe its own topic <prefix><host-id> and its own <prefix><host-id>.* topics.

    Not a bare prefixed ACL on <prefix><host-id>: that would also match <prefix><host-id>x, another host's topic."""
    return [
        _allow(user, ResourceType.TOPIC, name, pattern, operation)
        for name, pattern in ((f"{prefix}{host_id}", ResourcePatternType.LITERAL),
                              (f"{prefix}{host_id}.", ResourcePatternType.PREFIXED))
        for operation in (AclOperation.WRITE, AclOperation.DESCRIBE)
    ]


def indexer_acls(user: str, prefix: str, group: str) -> list[AclBinding]:
    """The consumer: read every host's topic, its group, and create and write the dead-letter topics
    (<topic>.deadletter, under the same prefix)."""
    return [
        *(_allow(user, ResourceType.TOPIC, prefix, ResourcePatternType.PREFIXED, operation)
          for operation in (AclOperation.READ, AclOperation.DESCRIBE, AclOperation.WRITE, AclOperation.CREATE)),
        _allow(user, ResourceType.GROUP, group, ResourcePatternType.LITERAL, AclOperation.READ),
    ]


def grant(broker: AclBroker, bindings: list[AclBinding], user: str, password: str, topic: str) -> None:
    """Create ACLs and wait until `user` is allowed to describe `topic` (the authorizer has them)."""
    admin = broker.admin()
    for future in admin.create_acls(bindings).values():
        future.result(timeout=30)

    def visible() -> bool:
        info = AdminClient(broker.client_config(user, password)).list_topics(topic, timeout=5).topics.get(topic)
        return info is not None and info.error is None

    retry(f"the ACLs of {user} on {topic} taking effect", visible)
