"""The pure parts of the core: the resolver's decisions, FileKey's text form, the checkpoint book."""

import pytest

from shipper.book import CheckpointBook
from shipper.checkpoint import Checkpoint
from shipper.identity import MARKER_BYTES, FileKey, fingerprint_of, line_end_of, marker_of
from shipper.resolve import (
    Adopt,
    Begin,
    Continue,
    CopySource,
    Defer,
    Duplicate,
    FileFacts,
    Known,
    LiveFacts,
    offsets_of,
    resolve,
)
from shipper.streams import StartReason

KEY = FileKey("dev:1/ino:2", "00ff")
TAIL = b"t" * MARKER_BYTES


def checkpoint(offset: int, *, key: FileKey = KEY, marker: str | None = None, **more: object) -> Checkpoint:
    fields: dict[str, object] = {"generation": 2, "path": "/p", "input_id": "i", **more}
    return Checkpoint(
        key=key, stream_identity=str(key), offset=offset, marker=marker or marker_of(TAIL), **fields  # type: ignore[arg-type]
    )


def facts(size: int, before: dict[int, bytes] | None = None, **more: object) -> FileFacts:
    return FileFacts(size, before or {}, **more)  # type: ignore[arg-type]


def test_file_key_text_form_round_trips_and_rejects_other_text() -> None:
    assert str(KEY) == "dev:1/ino:2/fp:00ff"
    assert FileKey.parse(str(KEY)) == KEY
    assert FileKey.parse("fp:abc") == FileKey("", "abc") and str(FileKey("", "abc")) == "fp:abc"
    with pytest.raises(ValueError):
        FileKey.parse("dev:1/ino:2")


def test_line_ends_cr_only_when_a_cr_is_followed_by_something_else_and_no_lf() -> None:
    assert line_end_of(b"a\rb\r") == b"\r"
    assert line_end_of(b"a\r\nb") == b"\n"
    assert line_end_of(b"a\r") == b"\n", "a CR at the end may be a CRLF half written"
    assert fingerprint_of(b"one\rtwo\r") == fingerprint_of(b"one\rother")
    assert fingerprint_of(b"one\r\ntwo") == fingerprint_of(b"one\r\nother"), "CRLF files keep their fingerprints"


def test_a_new_file_begins_at_zero_and_a_good_checkpoint_resumes() -> None:
    decision = resolve(facts(100))
    assert isinstance(decision, Begin) and decision.start.reason is StartReason.NEW and decision.start.offset == 0
    entry = checkpoint(50)
    decision = resolve(facts(100, {50: TAIL}, checkpoint=entry))
    assert isinstance(decision, Begin) and (decision.start.offset, decision.start.reason) == (50, StartReason.RESUMED)
    decision = resolve(facts(100, {50: b"other"}, checkpoint=entry))
    assert isinstance(decision, Begin) and decision.start.reason is StartReason.MARKER_MISMATCH
    assert decision.start.generation == 3
    decision = resolve(facts(40, {}, checkpoint=entry))
    assert isinstance(decision, Begin) and decision.start.reason is StartReason.TRUNCATED


def test_a_live_stream_is_continued_read_once_or_ended() -> None:
    live = LiveFacts(50, TAIL, attached=False, generation=4)
    assert resolve(facts(80, {50: TAIL}, live=live)) == Continue()
    assert resolve(facts(80, {50: TAIL}, live=LiveFacts(50, TAIL, attached=True, generation=4))) == Duplicate()
    decision = resolve(facts(80, {50: b"new bytes"}, live=live))
    assert isinstance(decision, Begin) and decision.retire_live
    assert (decision.start.generation, decision.start.offset, decision.start.reason) == (5, 0, StartReason.REPLACED)


def test_a_parked_stream_is_adopted_by_its_copy_and_an_open_original_makes_a_copy_wait() -> None:
    parked = [Known(70, b"nope"), Known(50, TAIL)]
    assert resolve(facts(80, {50: TAIL, 70: b"x"}, parked=parked)) == Adopt(1)
    original = [Known(50, TAIL)]
    assert resolve(facts(80, {50: TAIL}, open_originals=original)) == Defer()
    decision = resolve(facts(80, {50: TAIL}, open_originals=original, may_wait=False))
    assert isinstance(decision, Begin) and decision.start.reason is StartReason.NEW


def test_a_copy_continues_a_checkpoint_whose_file_no_longer_holds_its_bytes() -> None:
    other = checkpoint(50, key=FileKey("dev:1/ino:9", "00ff"))
    decision = resolve(facts(80, {50: TAIL}, copy_sources=[CopySource(other, still_holds=False)]))
    assert isinstance(decision, Begin) and decision.inherited == other
    assert (decision.start.generation, decision.start.offset, decision.start.reason) == (2, 50, StartReason.COPY)
    assert resolve(facts(80, {50: TAIL}, copy_sources=[CopySource(other, still_holds=True)])) == Defer()
    decision = resolve(facts(80, {50: TAIL}, copy_sources=[CopySource(other, still_holds=True)], may_wait=False))
    assert isinstance(decision, Begin) and decision.inherited is None, "a copy made on purpose is its own stream"


def test_offsets_asked_for_are_those_the_file_reaches() -> None:
    asked = facts(60, checkpoint=checkpoint(50), parked=[Known(70, b"")], open_originals=[Known(10, b"")])
    assert offsets_of(asked) == {50, 10}


def test_the_book_stays_dirty_until_saved_and_finds_same_fingerprint_entries() -> None:
    book = CheckpointBook({KEY: checkpoint(5)})
    assert not book.dirty
    copy = FileKey("dev:1/ino:3", KEY.fingerprint)
    assert book.same_fingerprint(copy) == [book.entries[KEY]]
    assert book.same_fingerprint(KEY) == []
    removed = book.prune(1.0, set(), lambda entry: False)
    assert removed == 1 and book.dirty and book.snapshot() == []
    book.saved()
    assert not book.dirty
