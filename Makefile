# Developer entry points. `make test` is what CI runs; `make demo` runs the pipeline end to end.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install test test-linux lint unit demo clean-demo console

$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,opensearch,elasticsearch,console]'
	touch $@

install: $(VENV)/.installed

lint: install
	$(VENV)/bin/ruff check logferry shipper consumer schemas tests bench
	$(VENV)/bin/mypy

# Everything: lint, the Linux suite, then the Windows-marked tests under Wine.
# Starts a real Kafka broker by itself (tests/support/kafka.py) unless KAFKA_BOOTSTRAP_SERVERS is set.
# Every stage runs even when an earlier one failed (a red Linux suite must not hide the Windows result); the
# stages' results are printed at the end and the run fails if any stage failed.
TEST_STAGES ?= lint test-linux test-windows
test: install
	@failed=0; summary=""; \
	for stage in $(TEST_STAGES); do \
	  echo "make test: stage $$stage"; \
	  $(MAKE) --no-print-directory $$stage; status=$$?; \
	  if [ $$status -eq 0 ]; then result=passed; else result="FAILED (exit $$status)"; failed=1; fi; \
	  summary="$$summary  $$stage: $$result\n"; \
	done; \
	printf 'make test results:\n%b' "$$summary"; \
	if [ $$failed -ne 0 ]; then echo "make test: FAILED"; else echo "make test: passed"; fi; \
	exit $$failed

# Two pytest workers (pytest-xdist, a test file stays on one worker); the broker and the engines' nodes are started
# once for both by tests/support/session_services.py (or taken from KAFKA_BOOTSTRAP_SERVERS, OPENSEARCH_URL and
# ELASTICSEARCH_URL) and stopped at the end if it started them.
PYTEST_WORKERS ?= 2
test-linux: install
	$(PY) -m tests.support.session_services -- $(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile

unit: install
	$(PY) -m pytest -q tests/unit

demo: install
	bash compose/demo.sh

clean-demo:
	rm -rf demo-state

# The web console over the index `make demo` left in demo-state/ (open http://127.0.0.1:8080/#range=all: the sample
# lines carry their own, older timestamps; Ctrl-C stops it).
console: install
	@test -f demo-state/consumer.toml || { echo "make console: no demo index yet: run make demo first"; exit 2; }
	$(PY) -m consumer serve --config demo-state/consumer.toml --listen $${CONSOLE_LISTEN:-127.0.0.1:8080}

# The Windows-marked tests under Wine, run by the official Windows CPython (see .ci/wine/setup; first run installs
# wine64 with apt-get and downloads into ~/.cache/logferry/wine). Needs a Kafka broker exactly like `test`.
.PHONY: test-windows
test-windows: install
	$(VENV)/bin/mypy --platform win32 --follow-imports=silent shipper/platform shipper/service shipper/jobs logferry/windows logferry/service consumer/service_settings.py
	$(PY) .ci/wine/run_windows_tests.py
