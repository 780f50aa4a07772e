"""The CI-sized fault-injection run: nothing lost, nothing doubled in the index, every poison dead-lettered."""

import os
from pathlib import Path

import pytest

from tests.chaos.harness import Chaos, ChaosPlan


@pytest.mark.slow
def test_pipeline_under_kills_broker_restarts_and_full_disk_loses_and_doubles_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = int(os.environ["LOGFERRY_CHAOS_SEED"]) if "LOGFERRY_CHAOS_SEED" in os.environ else None
    plan = ChaosPlan() if seed is None else ChaosPlan(seed=seed)
    summary = Chaos(tmp_path / "chaos", plan).run()
    with capsys.disabled():  # the summary belongs in the CI log, pass or fail
        print("\n" + summary.render())
    assert summary.lines_written == plan.writers * int(plan.seconds * plan.rate)
    assert summary.shipper_kills == plan.shipper_kills and summary.consumer_kills == plan.consumer_kills
    assert summary.broker_restarts == plan.broker_restarts
    assert summary.lost == 0, summary.render()
    assert summary.duplicated_in_index == 0, summary.render()
    assert summary.corrupted == 0, summary.render()
    assert summary.lines_indexed == summary.lines_written
    assert summary.dead_letters == summary.poison_injected == plan.poison
