"""Per-input processing: what an input's events go through between reading and Kafka.

    include_lines / exclude_lines   filter.py    raw lines, before parsing (RE2: linear time)
    [[inputs.drop]]                 drop.py      whole events, by a field's value, after parsing
    rename / remove                 fields.py    attribute keys (`fields`, static attributes, is the encoder's)
    [[inputs.redact]]               redact.py    secrets in the body, the attributes and log.record.original
                                    patterns.py  (the built-in named patterns, the Luhn check, the RE2 compiler)
    topic                           route.py     a static topic per input, or one templated from each event

pipeline.py builds one `InputProcessing` per input from its settings, once. An input with none of these keys
gets none of it: its stream parser is not wrapped and its events are not decoded, so its hot path is the same
code as without this package (bench/ship_throughput.py measures both).

The event_id never changes: it is the stream id and the offset of the event's first line, and processing works on
the event's other fields only. Dropped lines and events still move the checkpoint (they are handled, not lost) and
are counted (logferry_shipper_dropped_events_total{input,reason}).
"""
