"""Where the consumer indexes events: one Sink interface, one module per kind, a plain registry."""
