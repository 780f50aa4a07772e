"""A real Kafka broker for the tests, found or started in this order:

1. KAFKA_BOOTSTRAP_SERVERS from the environment;
2. testcontainers' Kafka module, when a Docker engine answers;
3. compose/kafka/local-kafka, which fetches the broker's jars with Maven and runs it on loopback.

There is no fake: when none of these gives a broker, the test run fails loudly.
"""

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL_KAFKA = ROOT / "compose" / "kafka" / "local-kafka"


class BrokerUnavailable(RuntimeError):
    """No Kafka broker could be found or started."""


def docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        return bool(client.ping())
    except Exception:
        return False


def local_kafka(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run compose/kafka/local-kafka with `args`; its last output line. Raises BrokerUnavailable on failure."""
    result = subprocess.run(
        [str(LOCAL_KAFKA), *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )
    if result.returncode != 0:
        raise BrokerUnavailable(f"local-kafka {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}")
    lines = result.stdout.strip().splitlines()
    return lines[-1] if lines else ""


@contextmanager
def kafka_broker() -> Iterator[str]:
    """Yield a bootstrap address for a real broker; stop it afterwards if this call started it."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    if docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    already_running = subprocess.run([str(LOCAL_KAFKA), "status"], capture_output=True, text=True).returncode == 0
    try:  # local-kafka start leaves the broker running when it gives up waiting for it: stopped here too
        line = local_kafka("start")
        if not line.startswith("KAFKA_BOOTSTRAP_SERVERS="):
            raise BrokerUnavailable(f"local-kafka start printed {line!r} instead of the bootstrap line")
        yield line.split("=", 1)[1]
    finally:
        if not already_running and os.environ.get("LOGFERRY_KEEP_KAFKA") != "1":
            local_kafka("stop")


def new_topic(bootstrap: str, partitions: int = 3, prefix: str = "test") -> str:
    """Create a fresh topic and wait until every partition has a leader."""
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    futures[name].result(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        metadata = admin.list_topics(name, timeout=10)
        topic = metadata.topics.get(name)
        if topic and topic.error is None and len(topic.partitions) == partitions and all(
            p.leader >= 0 for p in topic.partitions.values()
        ):
            return name
        time.sleep(0.2)
    raise BrokerUnavailable(f"topic {name} did not get leaders within 30 s")


def read_topic(bootstrap: str, topic: str, expected: int, timeout: float = 60.0) -> list[object]:
    """Read messages from the start of `topic` until `expected` arrived or `timeout` passed; returns the messages."""
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    messages: list[object] = []
    deadline = time.monotonic() + timeout
    try:
        while len(messages) < expected and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=1000, timeout=0.5):
                if message.error() is None:
                    messages.append(message)
    finally:
        consumer.close()
    return messages


class DedicatedBroker:
    """A broker of one's own (separate data and ports) for tests that stop and restart it.

    A restart must come back on the same port with the same data: the clients under test only know that address.
    local-kafka starts over on new ports with fresh data when the old ones are taken, so a restart first waits for
    them to be free (any process's outgoing connection may hold one as its local port for a while) and fails loudly
    if the address changed all the same. On a loaded box the broker can take longer to answer than local-kafka's
    90 s; a start that gave up while the broker runs is asked again until START_DEADLINE."""

    START_DEADLINE = 300.0  # seconds a start (or restart) may take in all
    PORTS_FREE_DEADLINE = 60.0  # seconds a restart waits for its old ports to be free

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.env = {"LOGFERRY_KAFKA_RUN_DIR": str(run_dir)}
        self.bootstrap = ""

    def start(self) -> str:
        before = self.bootstrap
        if before:
            self._wait_for_free_ports()
        deadline = time.monotonic() + self.START_DEADLINE
        while True:
            try:
                line = local_kafka("start", env=self.env)
                break
            except BrokerUnavailable as error:
                if "did not answer within" not in str(error) or time.monotonic() >= deadline:
                    raise
        if not line.startswith("KAFKA_BOOTSTRAP_SERVERS="):
            raise BrokerUnavailable(f"local-kafka start printed {line!r} instead of the bootstrap line")
        self.bootstrap = line.split("=", 1)[1]
        if before and self.bootstrap != before:
            raise BrokerUnavailable(f"the restarted broker came back at {self.bootstrap} with fresh data instead of "
                                    f"{before}: its old ports were taken")
        return self.bootstrap

    def _wait_for_free_ports(self) -> None:
        ports = [int(path.read_text()) for path in (self.run_dir / "port", self.run_dir / "controller.port")
                 if path.exists()]
        deadline = time.monotonic() + self.PORTS_FREE_DEADLINE
        while not all(_port_free(port) for port in ports) and time.monotonic() < deadline:
            time.sleep(0.5)

    def stop(self) -> None:
        local_kafka("stop", env=self.env)

    def reset(self) -> None:
        local_kafka("reset", env=self.env)


def _port_free(port: int) -> bool:
    """Whether the broker could listen on `port` again (SO_REUSEADDR, as it binds: TIME_WAIT does not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextmanager
def dedicated_broker(run_dir: Path) -> Iterator[DedicatedBroker]:
    """Start a dedicated broker in `run_dir`; stop it and delete its data afterwards."""
    broker = DedicatedBroker(run_dir)
    try:  # a start that gives up waiting leaves the broker running: reset too
        broker.start()
        yield broker
    finally:
        broker.reset()
