#!/usr/bin/env bash
# Install the test dependencies into .venv and run the whole test suite.
# torch is pinned to the CPU wheel (see pyproject); pytest exit 5 (no tests) fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install_system_packages.sh
# Services the integration tests start (Docker, Prometheus, ...) must exist: no silent skips.
export CURATE_REQUIRE_SERVICES=1
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -e ".[test]"
.venv/bin/ruff check src tests benchmarks
.venv/bin/mypy
set +e
.venv/bin/pytest -q -p no:cacheprovider --durations=30 "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi
exit "$rc"
