"""logferry's shipper: follows log files, parses them into unified events and produces them to Kafka.

Checkpoints move only after Kafka acknowledged every record before them.
"""
