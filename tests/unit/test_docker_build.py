"""The image's wheel, built the way compose/Dockerfile builds it (its COPY lines, its `pip wheel` command, in a tree
holding nothing else), installs into a fresh environment whose per-line modules are the compiled ones.

No Docker engine runs here; what the image adds beyond this (the slim base, the user, the HEALTHCHECK) is checked by
reading the Dockerfile."""

import re
import shlex
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "compose" / "Dockerfile"
# One module of each mypyc group (setup.py GROUPS).
COMPILED = ("shipper.parsers.jsonlines", "shipper.parsers.auto", "shipper.delivery.producer", "shipper.harvest.framing",
            "consumer.alerting.fastpath")


def _stages() -> list[list[str]]:
    stages: list[list[str]] = []
    logical = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    for raw in logical.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def test_the_image_is_built_in_two_stages_and_runs_as_a_user_with_a_healthcheck() -> None:
    build, runtime = _stages()
    assert build[0].endswith(" AS build") and any(line.startswith("RUN python -m pip wheel") for line in build)
    assert any("COPY --from=build /wheels" in line for line in runtime)
    assert not any(line.startswith("COPY ") and "--from" not in line for line in runtime), "no sources in the image"
    assert any(line == "USER logferry" for line in runtime)
    [health] = [line for line in runtime if line.startswith("HEALTHCHECK ")]
    assert "/health" in health


def test_the_wheel_built_as_the_dockerfile_does_loads_its_compiled_modules(tmp_path: Path) -> None:
    build, _ = _stages()
    source = tmp_path / "src"
    source.mkdir()
    for line in build:
        if line.startswith("COPY "):
            *names, _target = shlex.split(line)[1:]
            for name in names:
                origin = ROOT / name
                if origin.is_dir():
                    shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns(
                        "__pycache__", "*.so", "*.pyd", "*.c", "_native.sha256"))
                else:
                    shutil.copy2(origin, source / name)
    [command] = [line.removeprefix("RUN ") for line in build if line.startswith("RUN python -m pip wheel")]
    argv = shlex.split(command.replace("/wheels", str(tmp_path / "wheels")))
    result = subprocess.run([sys.executable, *argv[1:]], cwd=source, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [wheel] = (tmp_path / "wheels").glob("logferry-*.whl")
    assert re.search(r"-cp3\d+-cp3\d+-linux", wheel.name), f"{wheel.name} is not a platform wheel: nothing was compiled"

    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True, system_site_packages=False)
    python = environment / "bin" / "python"
    # Only the wheel's own files matter here: its dependencies come from the running interpreter's site-packages.
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], capture_output=True,
                             text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]
    probe = ("import importlib, json, sys; sys.path.extend(json.loads(sys.argv[1])); "
             "print(json.dumps({m: importlib.import_module(m).__file__ for m in sys.argv[2:]}))")
    site = [p for p in sys.path if p.endswith("site-packages")]
    loaded = subprocess.run([str(python), "-W", "error::RuntimeWarning", "-c", probe, _json(site), *COMPILED],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    files = __import__("json").loads(loaded.stdout)
    for module, file in files.items():
        assert str(environment) in file and file.endswith(".so"), f"{module} loads from {file}, not its compiled module"


def _json(value: object) -> str:
    import json

    return json.dumps(value)
