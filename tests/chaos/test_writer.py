"""The chaos writers write what the harness's line-by-line check reads, the hostile ones in their hostile shapes."""

from dataclasses import replace
from pathlib import Path

import pytest

from tests.chaos.harness import TOKEN
from tests.chaos.writer import PHRASES, Writer, WriterSpec, render


def spec(tmp_path: Path, fmt: str = "plain", **extra: object) -> WriterSpec:
    base = WriterSpec(
        writer=7,
        path=str(tmp_path / "app-7.log"),
        format=fmt,
        encoding="utf-8",
        rotation="none",
        lines=25,
        rate=0.0,
        rotate_every=0,
        shipper_config="",
        python="",
        done_path=str(tmp_path / "done"),
        adversarial_every=2,
        huge_line_bytes=20_000,
    )
    return replace(base, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", sorted(PHRASES))
def test_every_line_carries_a_token_with_its_formats_phrase(tmp_path: Path, fmt: str) -> None:
    writer_spec = spec(tmp_path, fmt)
    for sequence in (0, 1):  # an ordinary line and, where the format has one, an adversarial one
        line = render(writer_spec, sequence, 1_700_000_000.5)
        assert TOKEN.findall(line.encode()) == [(b"7", b"%08d" % sequence, PHRASES[fmt].encode())]


def test_the_adversarial_lines_have_the_shapes_that_stall_a_backtracking_or_quadratic_parser(tmp_path: Path) -> None:
    nginx = render(spec(tmp_path, "nginx-xff"), 1, 1_700_000_000.0)
    assert nginx.endswith('"' + ",".join(["a::1"] * 40) + ',!"')
    assert '"' + ",".join(["a::1"] * 40) not in render(spec(tmp_path, "nginx-xff"), 0, 1_700_000_000.0)
    huge = render(spec(tmp_path, "logfmt-huge"), 1, 1_700_000_000.0)
    assert huge.startswith('a=1 b=2 msg="chaos-w7-00000001 hostile line" x x x')
    assert 19_900 <= len(huge) <= 20_000
    fixed = {render(spec(tmp_path, "fixed"), n, 0.0) for n in (0, 1, 99_999_999)}
    assert len({len(line) for line in fixed}) == 1 and len({line[-64:] for line in fixed}) == 1


def test_cr_only_lines_have_no_line_feed(tmp_path: Path) -> None:
    writer = Writer(spec(tmp_path, "plain", newline="\r", lines=5))
    writer.run()
    data = Path(writer.spec.path).read_bytes()
    assert b"\n" not in data and data.count(b"\r") == 5
    assert [int(s) for _, s, _ in TOKEN.findall(data)] == [0, 1, 2, 3, 4]


def test_the_slot_writer_sweeps_one_line_to_each_file_in_turn(tmp_path: Path) -> None:
    writer = Writer(spec(tmp_path, "logfmt", files=10, lines=25))
    writer.run()
    for k in range(10):
        data = (tmp_path / f"app-7-{k}.log").read_bytes()
        assert [int(s) for _, s, _ in TOKEN.findall(data)] == list(range(k, 25, 10))
    assert (tmp_path / "done").read_text().split() == ["25", "0", "0"]
