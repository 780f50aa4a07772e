"""Issue 14, "Noise": the terminal progress bar was not ended before a log line (the line was printed after the bar's
text, on the same terminal line). A real worker catches up on a real topic with its output on a real pseudo-terminal
(progress "auto": a bar; logs as text): the bar is drawn, every log line starts a terminal line of its own, and the
program leaves the cursor at the start of a line."""

import re
import sys
from pathlib import Path

import pytest

from tests.consumer.helpers import make_events, produce
from tests.shipper.test_why_log_shape import on_a_terminal

pytestmark = pytest.mark.kafka

LOG_LINE = re.compile(r"(DEBUG|INFO|WARNING|ERROR|CRITICAL) +[a-z_.]+: ")
BAR = re.compile(r"\[[#.]{30}\] [\d,]+ events done, [\d,]+ left")


def test_the_bar_is_cleared_before_each_log_line_and_ended_at_exit(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str
) -> None:
    produce(kafka_bootstrap, kafka_topic, make_events(20_000))
    config = tmp_path / "consumer.toml"
    config.write_text(  # progress and log_format at their defaults: a bar and text on a terminal
        f'[consumer]\nbatch_max_events = 500\n'
        f'[kafka]\nbootstrap_servers = "{kafka_bootstrap}"\ntopics = ["{kafka_topic}"]\ngroup_id = "{group_id}"\n'
        f'[sink]\ntype = "sqlite"\npath = "{tmp_path / "logs.db"}"\n'
    )
    code, printed = on_a_terminal([sys.executable, "-m", "consumer", "run", "--config", str(config), "--once",
                                   "--idle-timeout", "2"], timeout=300)
    assert code == 0, printed
    bars = list(BAR.finditer(printed))
    assert bars, f"no progress bar was drawn: {printed[:500]!r}"
    lines = list(LOG_LINE.finditer(printed))
    assert len(lines) >= 2
    for line in lines:
        before = printed[:line.start()]
        assert before == "" or before.endswith(("\n", "\r\x1b[K")), (
            f"a log line shares a terminal line with the bar: {printed[max(0, line.start() - 120):line.end()]!r}")
    after_last_bar = printed[bars[-1].end():]
    assert "\n" in after_last_bar or "\x1b[K" in after_last_bar, "the bar was left unfinished"
    assert printed.endswith("\n")
