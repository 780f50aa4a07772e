"""The text format: timestamps found by their components, levels in the first tokens, the learned layout's fast path,
continuation lines, and auto's fallback to it (issue #12 items 1-3). Layouts from the products' documented defaults."""

from typing import Any

import pytest

from shipper.config import InputSettings
from shipper.parsers.base import ParseEnv
from shipper.parsers.clock import Clock
from shipper.parsers.layout.scan import Scanner
from shipper.parsers.text import TextParser
from tests.parsers.support import make_settings, parse_bytes

# observed 2024-05-01T02:00:05Z; the input's zone is UTC so the expected times read as written
LAYOUTS: list[tuple[str, str, str, str | None, int]] = [
    ("issue", "2024-05-01 02:00:01 [ERROR] payment failed", "2024-05-01T02:00:01.000000000Z", "ERROR", 17),
    ("log4j/hadoop", "2024-04-30 18:01:47,978 INFO [main] org.apache.hadoop.Foo: started", "2024-04-30T18:01:47.978000000Z",
     "INFO", 9),
    ("zookeeper", "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - time out",
     "2015-07-29T17:41:44.747000000Z", "INFO", 9),
    ("hdfs", "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 terminating",
     "2008-11-09T20:36:15.000000000Z", "INFO", 9),
    ("spark", "17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers",
     "2017-06-09T20:10:40.000000000Z", "INFO", 9),
    ("logcat threadtime", "04-30 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogs",
     "2024-04-30T16:13:38.811000000Z", "D", 5),
    ("healthapp", "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579", "2017-12-23T22:15:29.606000000Z", None, 0),
    ("proxifier", "[04.30 16:49:06] chrome.exe - proxy.example.com:5070 open through proxy", "2024-04-30T16:49:06.000000000Z",
     None, 0),
    ("windows cbs", "2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1.7601.23505",
     "2016-09-28T04:30:30.000000000Z", "Info", 9),
    ("openstack", "nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO nova.osapi_compute.wsgi.server x",
     "2017-05-16T00:00:00.008000000Z", "INFO", 9),
    ("postgresql", "2024-05-01 02:00:01.123 UTC [1234] LOG:  database system is ready", "2024-05-01T02:00:01.123000000Z",
     "LOG", 9),
    ("mysql", "2024-05-01T02:00:01.123456Z 0 [Warning] [MY-010068] [Server] CA certificate is self signed.",
     "2024-05-01T02:00:01.123456000Z", "Warning", 13),
    ("redis", "1234:M 01 May 2024 02:00:01.123 # Server initialized", "2024-05-01T02:00:01.123000000Z", "#", 13),
    ("nginx error", "2024/05/01 02:00:01 [error] 1234#0: *1 open() failed", "2024-05-01T02:00:01.000000000Z", "error", 17),
    ("squid cache", "2024/05/01 02:00:01 kid1| WARNING: disk space low", "2024-05-01T02:00:01.000000000Z", "WARNING", 13),
    ("klog", "E0501 02:00:01.123456    1234 controller.go:42] sync failed", "2024-05-01T02:00:01.123456000Z", "E", 17),
    ("kafka", "[2024-05-01 02:00:01,123] WARN [KafkaServer id=0] slow (kafka.server.KafkaServer)",
     "2024-05-01T02:00:01.123000000Z", "WARN", 13),
    ("rails", "E, [2024-05-01T02:00:01.123456 #1234] ERROR -- : boom", "2024-05-01T02:00:01.123456000Z", "ERROR", 17),
    ("erlang", "=ERROR REPORT==== 1-May-2024::02:00:01 ===", "2024-05-01T02:00:01.000000000Z", "ERROR", 17),
    ("nlog", "2024-05-01 02:00:01.1234|WARN|App.Worker|queue full", "2024-05-01T02:00:01.123400000Z", "WARN", 13),
    ("serilog", "2024-05-01 02:00:01.123 +02:00 [ERR] failed", "2024-05-01T00:00:01.123000000Z", "ERR", 17),
    ("tomcat", "01-May-2024 02:00:01.123 SEVERE [main] org.apache.catalina.core.StandardService.startInternal x",
     "2024-05-01T02:00:01.123000000Z", "SEVERE", 17),
    ("mongodb", "2024-05-01T02:00:01.123+0000 W  NETWORK  [listener] connection refused", "2024-05-01T02:00:01.123000000Z",
     "W", 13),
    ("rfc 1123", "Wed, 01 May 2024 02:00:01 GMT notice: reload", "2024-05-01T02:00:01.000000000Z", "notice", 10),
    ("ctime", "Wed May  1 02:00:01 2024 [crit] disk", "2024-05-01T02:00:01.000000000Z", "crit", 18),
    ("squid access epoch", "1714528801.450    350 10.0.0.1 TCP_MISS/200 1234 GET http://x/ - DIRECT/1.2.3.4 text/html",
     "2024-05-01T02:00:01.450000000Z", None, 0),
    ("epoch ms", "1714528801450 fatal: out of memory", "2024-05-01T02:00:01.450000000Z", "fatal", 21),
    ("supervisord-like", "2024-05-01 02:00:01,123 CRIT Supervisor is running as root", "2024-05-01T02:00:01.123000000Z",
     "CRIT", 18),
    ("spring boot", "2024-05-01T02:00:01.123Z  WARN 1234 --- [           main] o.s.b.StartupInfoLogger : slow",
     "2024-05-01T02:00:01.123000000Z", "WARN", 13),
    ("zap console", "2024-05-01T02:00:01.123Z\tDEBUG\tworker\tpolling", "2024-05-01T02:00:01.123000000Z", "DEBUG", 5),
    ("dotnet", "5/1/2024 2:00:01 AM panic: nil map", "2024-05-01T02:00:01.000000000Z", "panic", 21),
    ("journalctl short-iso", "2024-05-01T02:00:01+0000 host app[12]: <warning> low", "2024-05-01T02:00:01.000000000Z",
     None, 0),
]


def _auto(lines: list[str], **overrides: Any) -> list[dict[str, Any]]:
    settings = make_settings("auto", {"timezone": "UTC", **overrides})
    return parse_bytes("".join(line + "\n" for line in lines).encode(), settings)


@pytest.mark.parametrize(("name", "line", "timestamp", "level", "number"), LAYOUTS, ids=[case[0] for case in LAYOUTS])
def test_a_layout_gets_its_own_timestamp_and_level_in_auto(name: str, line: str, timestamp: str, level: str | None,
                                                            number: int) -> None:
    (event,) = _auto([line])
    assert event["parse_error"] is False
    assert (event["timestamp"], event["severity_text"], event["severity_number"]) == (timestamp, level, number), event


def test_the_issue_line_is_text_with_its_message_as_body() -> None:
    (event,) = _auto(["2024-05-01 02:00:01 [ERROR] payment failed"])
    assert event["format"] == "text"
    assert event["body"] == "payment failed"
    assert event["attributes"]["log.record.original"] == "2024-05-01 02:00:01 [ERROR] payment failed"
    assert event["attributes"]["event.timezone"] == "UTC"


def test_a_stream_of_one_layout_reads_every_line_through_the_learned_layout() -> None:
    lines = [f"2024-05-01 02:00:{second:02d}.{second * 7:03d} [WARN] job {second} slow" for second in range(60)]
    events = _auto(lines)
    assert [event["timestamp"] for event in events] == [
        f"2024-05-01T02:00:{second:02d}.{second * 7:03d}000000Z" for second in range(60)]
    assert {event["format"] for event in events} == {"text"}
    assert {event["severity_number"] for event in events} == {13}


def test_the_learned_layout_reads_lines_of_its_shape_and_refuses_others_without_learning() -> None:
    parser = TextParser(ParseEnv(Clock("UTC"), make_settings("auto", {"timezone": "UTC"}), {}))
    assert parser.parse("2024-05-01 02:00:01 [INFO] first") is None  # in auto, parse reads learned layouts only
    assert parser.learn("2024-05-01 02:00:01 [INFO] first") is not None
    event = parser.parse("2024-05-01 02:00:02.5 [ERROR] a new second, a fraction")
    assert event is None  # another shape (a fraction): auto probes the structured formats first
    event = parser.parse("2024-05-01 02:07:09 [ERROR] a new second")
    assert event is not None and (event["timestamp"], event["severity_number"]) == ("2024-05-01T02:07:09.000000000Z", 17)
    assert parser.parse("2024-05-01 02:07:09x") is None
    assert parser.parse("2024-13-01 02:07:09 month 13") is None
    assert len(parser.layouts) == 1


def test_a_line_in_another_shape_is_rescanned_and_both_layouts_are_kept() -> None:
    events = _auto(["2024-05-01 02:00:01 [INFO] a", "01 May 2024 02:00:02 ERROR b", "2024-05-01 02:00:03 [INFO] c"])
    assert [event["timestamp"][:19] for event in events] == ["2024-05-01T02:00:01", "2024-05-01T02:00:02",
                                                             "2024-05-01T02:00:03"]
    assert [event["severity_text"] for event in events] == ["INFO", "ERROR", "INFO"]


def test_lines_without_a_timestamp_continue_the_event_before() -> None:
    events = _auto([
        "2024-05-01 02:00:01 [ERROR] request failed",
        "java.lang.IllegalStateException: boom",
        "\tat com.example.App.main(App.java:5)",
        "2024-05-01 02:00:02 [INFO] next",
        "SELECT *",
        "  FROM orders",
    ])
    assert len(events) == 2
    first, second = events
    assert first["attributes"]["exception.type"] == "java.lang.IllegalStateException"
    assert first["attributes"]["exception.stacktrace"].endswith("(App.java:5)")
    assert second["body"] == "next\nSELECT *\n  FROM orders"


def test_continuation_is_bounded_by_max_lines() -> None:
    events = _auto(["2024-05-01 02:00:01 [ERROR] trace follows", *("\tat frame" for _ in range(9))],
                   multiline={"max_lines": 4})
    assert len(events) == 3
    assert "multiline_truncated" in events[1]["flags"]


def test_a_json_line_after_text_is_not_swallowed() -> None:
    events = _auto(["2024-05-01 02:00:01 [INFO] text", '{"msg": "json", "level": "warn"}'])
    assert [event["format"] for event in events] == ["text", "json"]


def test_ambiguous_dates_follow_date_order_until_the_stream_shows_a_value_over_12() -> None:
    lines = ["02/03/2024 10:00:00 INFO a", "13/03/2024 10:00:00 INFO b", "02/03/2024 10:00:01 INFO c"]
    events = _auto(lines)
    assert [event["timestamp"][:10] for event in events] == ["2024-02-03", "2024-03-13", "2024-03-02"]
    day_first = _auto(lines[:1], date_order="dmy")
    assert day_first[0]["timestamp"][:10] == "2024-03-02"


def test_a_year_less_date_is_never_more_than_a_day_ahead() -> None:
    (event,) = _auto(["12-31 23:00:00.000  1  2 I Tag: last year"])  # observed 2024-05-01
    assert event["timestamp"] == "2023-12-31T23:00:00.000000000Z"
    (event,) = _auto(["05-01 23:00:00.000  1  2 I Tag: later today"])
    assert event["timestamp"] == "2024-05-01T23:00:00.000000000Z"


def test_words_after_the_first_token_are_levels_only_in_upper_case_or_decorated() -> None:
    (event,) = _auto(["2024-05-01 02:00:01 job 42 error count rose"])
    assert event["severity_number"] == 0
    (event,) = _auto(["2024-05-01 02:00:01 I think so"])
    assert event["severity_number"] == 0


def test_a_number_that_is_no_plausible_epoch_is_not_a_timestamp() -> None:
    (event,) = _auto(["9999999999 items processed"])
    assert event["format"] == "plain"


def test_numeric_attributes_of_the_message_are_merged() -> None:
    """The message after the timestamp goes through shipper.parsers.numbers (its naming rule: schemas/README.md)."""
    parser = TextParser(ParseEnv(Clock("UTC"), make_settings("text", {"timezone": "UTC"}), {}))
    event = parser.parse("2024-05-01 02:00:00,CPU: 12.5%, MEM: 40.10%")
    assert event is not None
    assert event["timestamp"] == "2024-05-01T02:00:00.000000000Z"
    assert event["attributes"]["cpu_pct"] == 12.5
    assert event["attributes"]["mem_pct"] == 40.1


def test_date_order_is_validated() -> None:
    from logferry.errors import ConfigError

    settings = InputSettings(id="x", paths=["/x/*.log"], date_order="ydm")
    with pytest.raises(ConfigError, match="date_order"):
        settings.check("inputs[0]")


def test_the_scanner_reads_components_in_its_head_only() -> None:
    scanner = Scanner("mdy")
    assert scanner.find("x" * 70 + " 2024-05-01 02:00:01") is None
    stamp = scanner.find("host-1 2024-05-01T02:00:01.5+01:00 up")
    assert stamp is not None and (stamp.start, stamp.offset_s, stamp.hour) == (7, 3600, 2)
