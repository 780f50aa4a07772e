"""Delivery to Kafka: the producer (producer.py), acknowledgement tracking (acks.py), oversize records (oversize.py)."""
