"""compose/prometheus/: the alerting rules and the scrape config pass Debian's promtool (`check rules`, `check config`,
and the rules' unit tests `test rules`), and the dashboards' queries parse as PromQL. promtool is required: .ci/run
installs Debian's `prometheus` package, and a missing promtool fails these tests rather than skipping them."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.compose.dashboards import DASHBOARDS, PROMETHEUS, dashboard_expressions, rules
from tests.support.promql import grafana_free

RULES_TEST = Path(__file__).resolve().parent / "prometheus" / "rules_test.yml"


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    assert path is not None, "promtool is missing: install Debian's prometheus package (.ci/run does: apt-get install prometheus)"
    return path


def run(promtool: str, *args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_the_rules_pass_promtool_check_rules(promtool: str) -> None:
    result = run(promtool, "check", "rules", PROMETHEUS / "rules.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_promtool_refuses_a_rule_file_with_a_broken_expression(promtool: str, tmp_path: Path) -> None:
    broken = tmp_path / "rules.yml"
    broken.write_text((PROMETHEUS / "rules.yml").read_text().replace(
        "expr: up{job=\"logferry-shipper\"} == 0", "expr: up{job=\"logferry-shipper\" == 0", 1))
    assert broken.read_text() != (PROMETHEUS / "rules.yml").read_text()
    result = run(promtool, "check", "rules", broken)
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr


def test_the_scrape_config_is_valid_and_loads_the_rules(promtool: str) -> None:
    result = run(promtool, "check", "config", PROMETHEUS / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout


def test_the_rules_alert_on_the_jobs_the_scrape_config_defines() -> None:
    jobs = {job["job_name"] for job in yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())["scrape_configs"]}
    assert jobs == {"logferry-shipper", "logferry-consumer"}
    named = {name for rule in rules() for name in _jobs_named(rule["expr"])}
    assert named and named <= jobs, f"rules.yml names jobs {sorted(named - jobs)} the scrape config does not define"


def _jobs_named(expr: str) -> list[str]:
    return re.findall(r'job="([^"]+)"', expr)


def test_the_alert_rules_pass_their_unit_tests(promtool: str) -> None:
    result = run(promtool, "test", "rules", RULES_TEST.name, cwd=RULES_TEST.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_unit_test_that_makes_it_fire() -> None:
    cases = yaml.safe_load(RULES_TEST.read_text())["tests"]
    fired = {check["alertname"] for case in cases for check in case["alert_rule_test"] if check["exp_alerts"]}
    quiet = {check["alertname"] for case in cases for check in case["alert_rule_test"] if not check["exp_alerts"]}
    alerts = {rule["alert"] for rule in rules() if "alert" in rule}
    assert alerts - fired == set(), "alerts no case makes fire"
    assert alerts - quiet == set(), "alerts no case shows quiet"


def test_a_unit_test_expecting_the_wrong_alert_fails(promtool: str, tmp_path: Path) -> None:
    """The unit tests compare what fires, labels and annotations: a wrong expectation is caught."""
    wrong = tmp_path / "rules_test.yml"
    text = RULES_TEST.read_text().replace("../../../compose/prometheus/rules.yml", str(PROMETHEUS / "rules.yml"))
    wrong.write_text(text.replace("3 records went to the dead letters", "4 records went to the dead letters"))
    assert wrong.read_text() != text
    result = run(promtool, "test", "rules", wrong)
    assert result.returncode != 0 and "LogferryConsumerDeadLetters" in result.stdout + result.stderr


def test_the_dashboards_queries_parse_as_promql(promtool: str, tmp_path: Path) -> None:
    """Each query, Grafana's variables replaced, as a recording rule: promtool parses every expression."""
    queries = [(where, grafana_free(expr)) for path in DASHBOARDS for where, expr in dashboard_expressions(path)]
    assert len(queries) > 20
    rule_file = tmp_path / "dashboards.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": [
        {"record": f"dashboard:query_{i}", "expr": expr} for i, (_, expr) in enumerate(queries)]}]}))
    result = run(promtool, "check", "rules", rule_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(queries)} rules found" in result.stdout
