"""RejoinWatch: when a worker that lost all its partitions replaces its Kafka client (consumer/membership.py)."""

from consumer.membership import STALLED_REJOIN_MIN, STALLED_REJOINS, RejoinWatch


def test_nothing_is_due_until_partitions_were_lost() -> None:
    watch = RejoinWatch(session_timeout_s=6.0)
    assert not watch.due(1e9), "a worker that never lost partitions (more workers than partitions) keeps its client"


def test_a_loss_without_a_new_assignment_is_due_after_the_wait_then_twice_as_long_and_gives_up() -> None:
    watch = RejoinWatch(session_timeout_s=45.0)
    first_wait = 90.0  # twice the session timeout: longer than STALLED_REJOIN_MIN
    watch.lost_all(100.0)
    assert not watch.due(100.0 + first_wait - 0.1)
    assert watch.due(100.0 + first_wait)
    now = 100.0 + first_wait
    for attempt in range(1, STALLED_REJOINS):
        watch.replaced(now)
        wait = first_wait * 2**attempt
        assert not watch.due(now + wait - 0.1)
        assert watch.due(now + wait)
        now += wait
    watch.replaced(now)
    assert not watch.due(now + 1e9), "after STALLED_REJOINS replacements the worker waits as librdkafka does"


def test_an_assignment_disarms_it_and_a_short_session_waits_the_minimum() -> None:
    watch = RejoinWatch(session_timeout_s=6.0)
    watch.lost_all(0.0)
    assert not watch.due(STALLED_REJOIN_MIN - 0.1)
    assert watch.due(STALLED_REJOIN_MIN)
    watch.assigned()
    assert not watch.due(1e9)
    watch.lost_all(10.0)  # a later loss starts over, with the first wait
    assert watch.due(10.0 + STALLED_REJOIN_MIN)
