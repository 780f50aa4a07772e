"""Why 11: idle costs nothing. With the file-system hints healthy, a shipper whose files stopped growing sleeps on the
hints between turns instead of polling every 50 ms (main had ~20 turns a second, each polling every idle file), and a
line appended while it sleeps still ships: the hint wakes it. CPU figures are bench/idle_cost.py's; this asserts the
behaviour that produces them (how many turns an idle second takes), which a loaded machine can only make smaller."""

import threading
import time
from collections.abc import Callable
from pathlib import Path

from shipper.runner import Shipper
from tests.shipper.support import lines, make_config, topic_size, wait_until, write_lines

FILES = 50
IDLE_SECONDS = 3.0
# An idle turn sleeps up to runner.IDLE_WAIT (1 s) on the hints; flush checks and the odd hint add a few more turns.
# The old loop turned every 50 ms: ~60 turns in 3 s.
MOST_IDLE_TURNS = 15


def test_an_idle_shipper_sleeps_on_healthy_hints_and_a_new_line_still_wakes_it(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    for number in range(FILES):
        write_lines(logs / f"f{number:02d}.log", lines(f"file {number}", 2))
    config = make_config(tmp_path / "state", kafka_bootstrap, kafka_topic, [f"{logs}/*.log"],
                         shipper={"close_inactive": 600.0})
    shipper = Shipper(config, threading.Event(), once=False)
    turns = [0]
    turn: Callable[[], bool] = shipper.turn

    def counted() -> bool:
        turns[0] += 1
        return turn()

    shipper.turn = counted  # type: ignore[method-assign]  # the loop calls self.turn(): count its calls
    result: list[int] = []
    runner = threading.Thread(target=lambda: result.append(shipper.run()), daemon=True)
    runner.start()
    try:
        wait_until(lambda: topic_size(kafka_bootstrap, kafka_topic) >= 2 * FILES, 60, "every line shipped")
        wait_until(lambda: shipper.hints.healthy, 30, "the hints healthy")
        time.sleep(1.0)  # the last acknowledgements and checkpoint writes
        before = turns[0]
        time.sleep(IDLE_SECONDS)
        idle_turns = turns[0] - before
        assert shipper.hints.healthy
        assert idle_turns <= MOST_IDLE_TURNS, f"{idle_turns} turns in {IDLE_SECONDS} s idle"
        write_lines(logs / "f07.log", ["a line written while the shipper sleeps"])
        wait_until(lambda: topic_size(kafka_bootstrap, kafka_topic) >= 2 * FILES + 1, 30, "the new line shipped")
    finally:
        shipper.stop_event.set()
        runner.join(60)
    assert not runner.is_alive() and result == [0]
