"""format = "auto" recognises every format's golden samples, line by line and as files."""

from pathlib import Path

import pytest

from tests.parsers.support import make_settings, parse_bytes, parse_golden, parse_settings

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
# Folders whose files are recognised as that format in auto mode (regex needs the user's pattern;
# plain files stay plain; multiline pattern settings are input-specific).
RECOGNISED = ["json", "logfmt", "syslog", "nginx", "apache_error", "iis", "golog", "python", "java", "cri", "docker"]


@pytest.mark.parametrize("folder", RECOGNISED)
def test_auto_gives_the_declared_formats_events(folder: str) -> None:
    for path in sorted((GOLDEN / folder).glob("*.log")):
        declared = parse_golden(path)
        settings = parse_settings(path)
        overrides = {"multiline": {"max_lines": settings.multiline.max_lines}, "encoding": settings.encoding}
        automatic = parse_bytes(path.read_bytes(), make_settings("auto", overrides), path=f"/logs/{path.name}")
        # Lines the declared parser rejects are plain (or json errors) in auto; every other event is identical.
        assert len(automatic) == len(declared)
        for auto_event, declared_event in zip(automatic, declared, strict=True):
            if declared_event["parse_error"]:
                assert auto_event["attributes"].get("log.record.original", auto_event["body"]) == declared_event["body"]
                continue
            assert auto_event == declared_event


def test_apache_access_is_recognised_as_the_nginx_access_format() -> None:
    events = parse_bytes((GOLDEN / "apache" / "access.log").read_bytes(), make_settings("auto"))
    assert {e["format"] for e in events} == {"nginx"}
