"""compose/docker-compose.yml cannot run here (no Docker engine); check its services and their wiring."""

import tomllib
from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "compose"


def load() -> dict[str, object]:
    return yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_services_are_all_there() -> None:
    services = load()["services"]
    assert set(services) == {"kafka", "opensearch", "shipper", "consumer"}  # type: ignore[arg-type]


def test_kafka_runs_kraft_and_advertises_its_service_name() -> None:
    env = load()["services"]["kafka"]["environment"]  # type: ignore[index]
    assert "controller" in env["KAFKA_PROCESS_ROLES"] and "broker" in env["KAFKA_PROCESS_ROLES"]
    assert "kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert int(env["KAFKA_NUM_PARTITIONS"]) >= 3


def test_shipper_and_consumer_wait_for_their_services_and_point_at_them() -> None:
    services = load()["services"]
    shipper, consumer = services["shipper"], services["consumer"]  # type: ignore[index]
    assert shipper["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert set(consumer["depends_on"]) == {"kafka", "opensearch"}
    for service in (shipper, consumer):
        assert (COMPOSE.parent / service["build"]["context"].removeprefix("../")).exists() or service["build"]["context"] == ".."
        assert (COMPOSE / service["build"]["dockerfile"].removeprefix("compose/")).exists()
    shipper_config = tomllib.loads((COMPOSE / "docker" / "shipper.toml").read_text())
    consumer_config = tomllib.loads((COMPOSE / "docker" / "consumer.toml").read_text())
    assert shipper_config["kafka"]["bootstrap_servers"] == "kafka:9092"
    assert consumer_config["kafka"]["bootstrap_servers"] == "kafka:9092"
    assert shipper_config["kafka"]["topic"] in consumer_config["kafka"]["topics"]
    assert consumer_config["sink"]["url"].startswith("http://opensearch:9200")
    mounts = [v.split(":")[1] for v in shipper["volumes"]]
    assert any(path.startswith(p) for p in mounts for path in [shipper_config["inputs"][0]["paths"][0]])


def test_shipper_config_in_compose_is_valid() -> None:
    from shipper.config import load_config

    config = load_config(COMPOSE / "docker" / "shipper.toml")
    assert config.inputs[0].format == "auto"
