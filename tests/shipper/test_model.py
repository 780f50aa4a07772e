"""Model-based test of the shipper core against the real broker (after Vector's file_watcher model tests).

Hypothesis's RuleBasedStateMachine runs random sequences of file-system changes — write, append, rename inside
and out of the glob, copytruncate, truncate-and-regrow, delete, recreate, symlink swap — interleaved with shipper
restarts (clean, or without waiting for acknowledgements) against a model of what must be shipped. The shipper is
the real code path in this process: `Shipper` turns (`begin`/`turn`/`finish`/`release`, what `run` calls), with
the real librdkafka producer and acknowledgements, on a topic of its own per example. After each change the
shipper turns for a while ("settles"), which is what makes the model exact:

- must ship: every line written to a file the glob matches (lines reached only through a rename out of the glob,
  or appended just before a truncation with no copy, may be lost: every tailer loses those);
- never: a line under two event ids, two lines under one event id, a line nobody wrote, an event id twice
  (except for the lines produced but not acknowledged when a shipper was stopped without waiting: those are
  sent again under the same ids, which the consumer drops).

Each example costs seconds (settling is real time, a topic per example), so CI runs a few:
LOGFERRY_MODEL_EXAMPLES (default 4) and LOGFERRY_MODEL_STEPS (default 8); `bench/soak.py --model` runs many.
"""

import os
import shutil
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from shipper.runner import MAX_BACKOFF, Shipper
from tests.shipper.support import make_config, shipped
from tests.support.kafka import new_topic

EXAMPLES = int(os.environ.get("LOGFERRY_MODEL_EXAMPLES", "4"))
STEPS = int(os.environ.get("LOGFERRY_MODEL_STEPS", "8"))
NAMES = ("a", "b", "c")
SETTINGS = {
    "rescan_interval": 0.1,
    "checkpoint_interval": 0.1,
    "rotate_wait": 0.3,
    "close_inactive": 600.0,
    "max_open_files": 64,
}
# Seconds of turns after a change: an idle file is polled again within MAX_BACKOFF (the model turns the shipper
# without file-system hints, as `run` does when they are not healthy), then a rescan, reading, acknowledgements.
# A shorter settle lets the next change destroy lines the shipper had not been due to look at yet (a truncation
# right after a write), which every tailer may lose and the model would wrongly count as must-ship.
SETTLE = MAX_BACKOFF + 0.5
SETTLE_COPY = MAX_BACKOFF + 1.6  # after a copytruncate: the copy waits up to 2 * rescan_interval + 1 s for the truncation
# Shrinking replays steps in real time (it took more than five minutes on CI); the unshrunk failing sequence is
# at most STEPS long and printed all the same. LOGFERRY_MODEL_SHRINK=1 shrinks.
PHASES = tuple(p for p in Phase if p is not Phase.shrink or os.environ.get("LOGFERRY_MODEL_SHRINK") == "1")


class ShipperModel(RuleBasedStateMachine):
    bootstrap = ""
    slots = 64

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(mkdtemp(prefix="logferry-model-"))
        self.logs = self.root / "logs"
        self.logs.mkdir()
        self.targets = self.root / "targets"  # symlink targets, outside the glob
        self.targets.mkdir()
        self.topic = new_topic(self.bootstrap, partitions=1, prefix="model")
        self.config = make_config(
            self.root / "state", self.bootstrap, self.topic, [str(self.logs / "*.log*")],
            shipper={**SETTINGS, "max_open_files": self.slots},
        )
        self.serial = 0
        self.active: dict[str, list[str]] = {}  # name in logs/ -> its lines (files the model writes to)
        self.must: set[str] = set()
        self.may: set[str] = set()  # may be lost, must not be duplicated
        self.resendable: set[str] = set()  # may arrive twice under the same event id
        self.copies = 0
        self.link_target: Path | None = None
        self.leftovers: list[Shipper] = []  # shippers stopped without waiting (their producers still deliver)
        self.shipper = self._start()

    # -- the shipper -------------------------------------------------------------------------------------------

    def _start(self) -> Shipper:
        shipper = Shipper(self.config, threading.Event(), once=False)
        shipper.begin()
        return shipper

    def _settle(self, seconds: float = SETTLE) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.shipper.turn()

    def _lines(self, count: int) -> list[str]:
        out = [f"model line {self.serial + i:06d}" for i in range(count)]
        self.serial += count
        return out

    def _write(self, path: Path, lines: list[str], mode: str = "a") -> None:
        with open(path, mode, encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines))

    # -- rules -------------------------------------------------------------------------------------------------

    @rule(name=st.sampled_from(NAMES), count=st.integers(1, 30))
    def write(self, name: str, count: int) -> None:
        """Append to a file (creating it when absent)."""
        lines = self._lines(count)
        self._write(self.logs / f"{name}.log", lines)
        self.active.setdefault(name, []).extend(lines)
        self.must.update(lines)
        self._settle()

    @precondition(lambda self: self.active)
    @rule(data=st.data(), count=st.integers(0, 5))
    def rename_rotate(self, data: st.DataObject, count: int) -> None:
        """logrotate's create: rename to a name the glob matches, the writer adds a few lines to the old file."""
        name = data.draw(st.sampled_from(sorted(self.active)))
        self.copies += 1
        rotated = self.logs / f"{name}.log.{self.copies}"
        os.rename(self.logs / f"{name}.log", rotated)
        late = self._lines(count)
        self._write(rotated, late)
        self.must.update(late)
        del self.active[name]
        self._settle()

    @precondition(lambda self: self.active)
    @rule(data=st.data(), count=st.integers(0, 5))
    def rename_out_of_glob(self, data: st.DataObject, count: int) -> None:
        """Rename to a name the glob does not match; lines appended just before may or may not be read."""
        name = data.draw(st.sampled_from(sorted(self.active)))
        late = self._lines(count)
        self._write(self.logs / f"{name}.log", late)
        self.copies += 1
        os.rename(self.logs / f"{name}.log", self.logs / f"{name}.old{self.copies}")
        self.may.update(late)
        del self.active[name]
        self._settle()

    @precondition(lambda self: self.active)
    @rule(data=st.data(), count=st.integers(0, 10))
    def copytruncate(self, data: st.DataObject, count: int) -> None:
        """Lines appended, then the file copied to a matching name and truncated: each line once."""
        name = data.draw(st.sampled_from(sorted(self.active)))
        path = self.logs / f"{name}.log"
        late = self._lines(count)
        self._write(path, late)
        self.must.update(late)
        self.copies += 1
        shutil.copyfile(path, self.logs / f"{name}.log.{self.copies}")
        os.truncate(path, 0)
        self.active[name] = []
        self._settle(SETTLE_COPY)

    @precondition(lambda self: self.active)
    @rule(data=st.data(), count=st.integers(1, 40))
    def truncate_and_regrow(self, data: st.DataObject, count: int) -> None:
        """O_TRUNC and new lines of the same length, maybe past the old size."""
        name = data.draw(st.sampled_from(sorted(self.active)))
        lines = self._lines(count)
        self._write(self.logs / f"{name}.log", lines, mode="w")
        self.active[name] = lines
        self.must.update(lines)
        self._settle()

    @precondition(lambda self: self.active)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.active)))
        os.unlink(self.logs / f"{name}.log")
        del self.active[name]
        self._settle()

    @precondition(lambda self: self.active)
    @rule(data=st.data(), count=st.integers(1, 10))
    def recreate(self, data: st.DataObject, count: int) -> None:
        """Delete and create again under the same name at once (the inode number is often reused)."""
        name = data.draw(st.sampled_from(sorted(self.active)))
        os.unlink(self.logs / f"{name}.log")
        lines = self._lines(count)
        self._write(self.logs / f"{name}.log", lines)
        self.active[name] = lines
        self.must.update(lines)
        self._settle()

    @rule(target_index=st.integers(0, 2), count=st.integers(1, 10))
    def symlink_swap(self, target_index: int, count: int) -> None:
        """logs/link.log points at one of three files outside the glob; swap it and write through it."""
        target = self.targets / f"t{target_index}.txt"
        target.touch()
        link = self.logs / "link.log"
        temporary = self.logs / "link.tmp"
        os.symlink(target, temporary)
        os.replace(temporary, link)
        self.link_target = target
        lines = self._lines(count)
        self._write(target, lines)
        self.must.update(lines)
        self._settle()

    @rule()
    def restart(self) -> None:
        """A clean stop (acknowledgements awaited, checkpoints written) and a new shipper."""
        self.shipper.finish(flush=True)
        self.shipper.release()
        self.shipper = self._start()
        self._settle()

    @rule(count=st.integers(1, 20))
    def restart_without_waiting(self, count: int) -> None:
        """Lines produced but not acknowledged when the shipper stops: sent again, under the same event ids."""
        assert self.shipper.delivery.flush(60), "what came before is acknowledged"
        name = NAMES[self.serial % len(NAMES)]
        lines = self._lines(count)
        self._write(self.logs / f"{name}.log", lines)
        self.active.setdefault(name, []).extend(lines)
        self.must.update(lines)
        self.resendable.update(lines)
        for _ in range(3):
            self.shipper.turn()
        self.shipper.finish(flush=False)
        self.shipper.release()
        self.leftovers.append(self.shipper)
        self.shipper = self._start()
        self._settle()

    @invariant()
    def the_shipper_turns(self) -> None:
        assert self.shipper.delivery.refused is None

    # -- the check ---------------------------------------------------------------------------------------------

    def teardown(self) -> None:
        try:
            self._settle(SETTLE_COPY)
            self.shipper.finish(flush=True)
            for old in self.leftovers:
                old.delivery.flush(30)
            self.shipper.release()
            self._check(shipped(self.bootstrap, self.topic))
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _check(self, events: list[dict[str, Any]]) -> None:
        ids_of: dict[str, set[str]] = defaultdict(set)
        bodies_of: dict[str, set[str]] = defaultdict(set)
        repeated = Counter(e["event_id"] for e in events if e["body"] not in self.resendable)
        again = sorted(i for i, n in repeated.items() if n > 1)
        assert not again, f"{len(again)} event id(s) shipped twice, e.g. {again[:3]}"
        for event in events:
            ids_of[event["body"]].add(event["event_id"])
            bodies_of[event["event_id"]].add(event["body"])
        written = self.must | self.may
        invented = sorted(set(ids_of) - written)
        assert not invented, f"{len(invented)} line(s) nobody wrote, e.g. {invented[:3]}"
        lost = sorted(self.must - set(ids_of))
        assert not lost, f"{len(lost)} line(s) lost, e.g. {lost[:3]}"
        twice = sorted(body for body, ids in ids_of.items() if len(ids) > 1)
        assert not twice, f"{len(twice)} line(s) shipped under two event ids, e.g. {twice[:3]}"
        shared = sorted(i for i, bodies in bodies_of.items() if len(bodies) > 1)
        assert not shared, f"{len(shared)} event id(s) carry two lines, e.g. {shared[:3]}"


@pytest.mark.slow
@pytest.mark.parametrize("slots", [64, 2], ids=["files-stay-open", "two-slots"])
def test_model(kafka_bootstrap: str, slots: int) -> None:
    """`two-slots`: more files than max_open_files, so files are closed and reopened between changes."""
    ShipperModel.bootstrap = kafka_bootstrap
    ShipperModel.slots = slots
    run_state_machine_as_test(
        ShipperModel,
        settings=settings(
            max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None, phases=PHASES,
            suppress_health_check=list(HealthCheck),
        ),
    )
