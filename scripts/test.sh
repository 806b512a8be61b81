#!/usr/bin/env bash
# Install the test dependencies into .venv and run the whole test suite.
# torch is pinned to the CPU wheel (see pyproject); pytest exit 5 (no tests) fails the run.
#
#   scripts/test.sh            everything: install, ruff, mypy, pytest in parallel lanes
#   scripts/test.sh --quick    the inner loop (~1 minute): no install, only the tests that need
#                              no Ray cluster and no service (not marked integration or a lane)
#   scripts/test.sh ARGS       extra pytest arguments (e.g. a folder, -k, -x)
#
# Tests run on CURATE_TEST_WORKERS xdist workers (default 3: measured best on 2 cores, the
# lanes wait on I/O); one xdist group per service (tests/lanes.py), so one dockerd and one
# Slurm per run. The summary gives each lane's wall time and the 30 slowest tests.
# CURATE_TEST_TIMES=FILE writes every test's seconds (total, setup, call, teardown), slowest first,
# then its start (seconds into the run) and its xdist worker: where the time goes, and when.
# Tests that add to, change or remove the user's own caches (curate's runs and weights,
# Hugging Face's) fail the run, as tests that fail do.
set -euo pipefail
cd "$(dirname "$0")/.."

cpu_ticks() {  # busy and total CPU ticks of this machine so far: "BUSY TOTAL"
    local _ user nice system idle iowait irq softirq steal
    read -r _ user nice system idle iowait irq softirq steal _ </proc/stat
    local busy=$((user + nice + system + irq + softirq + steal))
    echo "$busy $((busy + idle + iowait))"
}

user_cache_state() {  # what the user's own curate and Hugging Face caches hold (2 levels)
    local cache=${XDG_CACHE_HOME:-$HOME/.cache}
    { find "$cache/cosmos_curate/runs" "$cache/cosmos_curate/weights" "$cache/huggingface" \
        -maxdepth 2 -printf '%p %T@\n' 2>/dev/null || true; } | sort
}

step() {  # step NAME COMMAND...: run it and print its wall time
    local name=$1 start=$SECONDS
    shift
    "$@"
    echo "[time] $name: $((SECONDS - start)) s"
}

quick=0
if [ "${1:-}" = "--quick" ]; then
    quick=1
    shift
fi
# Let Python cache compiled modules (__pycache__): some machines set PYTHONDONTWRITEBYTECODE,
# and uv installs without .pyc files, so every process of the run (each Ray worker, each
# `curate` the tests start) would compile Ray, transformers and this package from source again:
# about 1.5 CPU s per process. Written once, on first import; never needed for correctness.
unset PYTHONDONTWRITEBYTECODE
# Services the integration tests start (Docker, Prometheus, ...) must exist: no silent skips.
export CURATE_REQUIRE_SERVICES=1
if [ "$quick" -eq 0 ]; then
    step "system packages" bash .ci/install_system_packages.sh
    python3 -m venv .venv
    # torch through pip (it takes the CPU wheel on disk); the rest through uv, which resolves
    # and downloads in parallel (about 20 s instead of pip's 5 minutes) and keeps that torch.
    step "pip install" bash -c '.venv/bin/pip install -q --upgrade pip uv &&
        .venv/bin/pip install -q torch==2.13.0 &&
        .venv/bin/uv pip install -q --python .venv/bin/python -e ".[test]"'
    step ruff .venv/bin/ruff check src tests benchmarks
    # mypy checks while the tests run (it needs one core for a minute); its verdict counts.
    # Its cache lives outside the clone, so a second run on this machine rechecks only what
    # changed (70 -> 4 CPU s; mypy validates each cached module by its source's hash).
    mypy_log=$(mktemp)
    .venv/bin/mypy --cache-dir "${XDG_CACHE_HOME:-$HOME/.cache}/cosmos-curate-ci/mypy" \
        >"$mypy_log" 2>&1 &
    mypy_pid=$!
fi
lanes=(-n "${CURATE_TEST_WORKERS:-3}" --dist loadgroup --no-loadscope-reorder)
# A test that fails is run once more after 10 s: a real failure fails twice and fails the
# run; one that passes the second time is listed as RERUN in the summary (-rR): a flaky test
# to fix, never a silent pass.
retry=(--reruns 1 --reruns-delay 10 -rfER)
select=()
if [ "$quick" -eq 1 ]; then
    select=(-m "not integration and not docker and not slurm and not cluster and not crashloop and not browser and not prometheus")
fi
set +e
start=$SECONDS
read -r busy0 total0 <<<"$(cpu_ticks)"
cache_before=$(user_cache_state)
.venv/bin/pytest -q -p no:cacheprovider --durations=30 "${lanes[@]}" "${retry[@]}" "${select[@]}" "$@"
rc=$?
read -r busy1 total1 <<<"$(cpu_ticks)"
# How busy the machine's CPUs were (all processes, ours and any other): near 100% means the
# suite is CPU-bound here and only less CPU work, not more workers, makes it faster.
echo "[time] pytest: $((SECONDS - start)) s; CPUs busy $(((busy1 - busy0) * 100 / (total1 - total0 + 1)))%:" \
    "$(((busy1 - busy0) / $(getconf CLK_TCK))) CPU s on $(nproc) CPUs"
set -e
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi
# The tests keep their runs, weights and Hugging Face files in temporary folders: anything
# they added to, changed in or removed from the user's own caches fails the run.
cache_after=$(user_cache_state)
if [ "$cache_after" != "$cache_before" ]; then
    echo "the tests changed the user's own caches (runs, weights or Hugging Face):" >&2
    diff <(echo "$cache_before") <(echo "$cache_after") >&2 || true
    exit 1
fi
if [ "$quick" -eq 0 ]; then
    mypy_rc=0
    wait "$mypy_pid" || mypy_rc=$?
    cat "$mypy_log"
    rm -f "$mypy_log"
    if [ "$mypy_rc" -ne 0 ]; then echo "mypy failed" >&2; exit 1; fi
fi
exit "$rc"
