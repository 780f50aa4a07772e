#!/usr/bin/env bash
# The pipeline end to end on the defaults: a local Kafka broker, the shipper over sample-logs/ (--once),
# the consumer indexing into SQLite (--once), then a search. State goes to ./demo-state.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PY:-.venv/bin/python}

line=$(compose/kafka/local-kafka start | tail -n 1)
bootstrap=${line#KAFKA_BOOTSTRAP_SERVERS=}
echo "demo: Kafka broker at $bootstrap (stop it with: compose/kafka/local-kafka stop)"

state=$PWD/demo-state
mkdir -p "$state"
cat >"$state/shipper.toml" <<TOML
[shipper]
state_dir = "$state/shipper"

[kafka]
bootstrap_servers = "$bootstrap"
topic = "logferry-demo"

[[inputs]]
id = "samples"
paths = ["$PWD/sample-logs/**/*.log"]
format = "auto"
service_name = "demo"
TOML
cat >"$state/consumer.toml" <<TOML
[kafka]
bootstrap_servers = "$bootstrap"
topics = ["logferry-demo"]
group_id = "logferry-demo-indexer"

[sink]
type = "sqlite"
path = "$state/logs.db"
TOML

echo "demo: shipping sample-logs/ to Kafka"
"$PY" -m shipper run --config "$state/shipper.toml" --once
echo "demo: indexing into $state/logs.db"
"$PY" -m consumer run --config "$state/consumer.toml" --once --idle-timeout 5
"$PY" -m consumer status --config "$state/consumer.toml"
echo "demo: searching for 'error'"
"$PY" -m consumer search --config "$state/consumer.toml" error --limit 10
