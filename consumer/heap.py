"""The cyclic garbage collector's settings for the alert evaluator's process.

Why: what a worker allocates per record (the decoded event, its prepared form) is acyclic and freed by reference
counting as soon as its batch is written; the cyclic collector's passes over it find nothing. With the interpreter's
defaults a pass runs every 700 net allocations, and every tenth of the tenth is a full pass, which walks every
long-lived object: the imported modules, the sink's caches, the evaluator's windows and plans. In the evaluator's
benchmark (bench/alert_latency.py) the full passes alone took a tenth of the CPU.

So, once the process has built what lives for its whole run, `settle` moves those objects out of the collector's
generations (`gc.freeze`: they are never walked again, and were they to become cyclic garbage they would stay,
which objects living for the whole run never do) and makes the young generation's pass less frequent. Cycles that do
arise are still collected, only later: what this can hold back grows with the thresholds, not with the backlog.

Only a process's entry point calls it (consumer.alerting.cli's `alert run`), never a library path: it changes the
whole interpreter's collector. The indexer does not: its process measured the same with and without (bench/
consume_throughput.py, SQLite, A B A B: 81.0k/81.3k events/s without, 80.4k/81.7k with), its time being SQLite's.
"""

import gc

YOUNG_THRESHOLD = 50_000  # net allocations of container objects between two passes over the youngest generation
OLDER_THRESHOLD = 20  # passes over a generation between two passes over the next one


def settle() -> None:
    """Freeze what exists now (after a collection, so no garbage is frozen) and space the collector's passes."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, OLDER_THRESHOLD, OLDER_THRESHOLD)
