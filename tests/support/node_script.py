"""A search-engine node driven by its compose/<engine>/local-<engine> script: run the script, start (or reuse) the
node, and a context manager that yields its URL — from <ENGINE>_URL when set — and stops the node afterwards if it
started it (unless LOGFERRY_KEEP_<ENGINE>=1)."""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class NodeUnavailable(RuntimeError):
    """No node of the engine could be found or started."""


@dataclass(frozen=True)
class NodeScript:
    engine: str  # "opensearch", "elasticsearch": the script is compose/<engine>/local-<engine>

    @property
    def script(self) -> Path:
        return ROOT / "compose" / self.engine / f"local-{self.engine}"

    @property
    def url_variable(self) -> str:
        return f"{self.engine.upper()}_URL"

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 400) -> str:
        """Run the script with `args`; its last output line. Raises NodeUnavailable."""
        result = subprocess.run([str(self.script), *args], capture_output=True, text=True, timeout=timeout,
                                env={**os.environ, **(env or {})})
        if result.returncode != 0:
            raise NodeUnavailable(
                f"local-{self.engine} {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}")
        lines = result.stdout.strip().splitlines()
        return lines[-1] if lines else ""

    def start_node(self, env: dict[str, str] | None = None) -> str:
        """Start (or reuse) a node; its URL."""
        line = self.run("start", env=env)
        if not line.startswith(f"{self.url_variable}="):
            raise NodeUnavailable(f"local-{self.engine} start printed {line!r} instead of the URL line")
        return line.split("=", 1)[1]

    @contextmanager
    def node(self) -> Iterator[str]:
        """Yield the URL of a real node; stop it afterwards if this call started it."""
        configured = os.environ.get(self.url_variable)
        if configured:
            yield configured
            return
        already_running = subprocess.run([str(self.script), "status"], capture_output=True, text=True).returncode == 0
        try:  # the script's start leaves the node running when it gives up waiting for it: stopped here too
            yield self.start_node()
        finally:
            if not already_running and os.environ.get(f"LOGFERRY_KEEP_{self.engine.upper()}") != "1":
                self.run("stop")
