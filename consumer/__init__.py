"""logferry's consumer: a Kafka consumer group that indexes unified events exactly once and answers searches."""
