"""Shared plumbing for logferry's shipper and consumer: typed config, structured logs, host id, Kafka settings."""

__version__ = "0.1.0"
