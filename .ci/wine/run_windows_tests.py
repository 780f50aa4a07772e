"""`make test-windows`: the Windows-marked tests, run by the Windows CPython under Wine, against a real Kafka broker.

Runs on the Linux side with the project's venv. The broker comes from tests/support/kafka.py exactly as for the
Linux tests (KAFKA_BOOTSTRAP_SERVERS, else a local one started and stopped here). Fails (exit 1) when Wine cannot
run the tests, when any test fails, and when no test ran or every test was skipped.
"""

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.kafka import kafka_broker  # noqa: E402

REPORT = ROOT / ".cache" / "wine-junit.xml"


def main(pytest_args: list[str]) -> int:
    started = time.monotonic()
    if subprocess.run([str(HERE / "setup")]).returncode != 0:
        print("wine-tests: FAILED: Wine or the Windows CPython could not be set up (see above)", file=sys.stderr)
        return 1
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.unlink(missing_ok=True)
    with kafka_broker() as bootstrap:
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "PYTHONUNBUFFERED": "1"}
        command = [
            str(HERE / "python"), "-m", "pytest", "-m", "windows and not real_windows", "-p", "no:cacheprovider", "-q",
            "--junitxml", str(REPORT.relative_to(ROOT)), *(pytest_args or ["tests/windows"]),
        ]
        print("wine-tests: " + " ".join(command[1:]), flush=True)
        code = subprocess.run(command, cwd=ROOT, stdin=subprocess.DEVNULL, env=env).returncode
    if not REPORT.exists():
        print(f"wine-tests: FAILED: pytest under Wine wrote no report (exit {code})", file=sys.stderr)
        return 1
    suite = ET.parse(REPORT).getroot()
    nested = suite.find("testsuite")
    if nested is not None:
        suite = nested
    total, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
    failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    ran = total - skipped
    summary = f"{ran} ran, {failed} failed, {skipped} skipped, {time.monotonic() - started:.0f} s in all"
    if code != 0 or failed or ran == 0 or skipped:
        print(f"wine-tests: FAILED ({summary}; pytest exit {code})", file=sys.stderr)
        return 1
    print(f"wine-tests: passed ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
