"""`curate slurm submit|status|logs|cancel` on a real two-node Slurm (munged, slurmctld, 2 slurmd).

The Slurm daemons run on this machine (`slurm_cluster.py`: nodes n1 = 127.0.0.11 and
n2 = 127.0.0.12) and are stopped by PID at the end. Each job starts a Ray head on n1 and a
worker on n2 under srun, with token auth (a token made for the job), and runs the test
pipeline `slurm-probe` (one worker per node) against them. `sbatch --wait` (through
`curate slurm submit --wait`) gives the job's exit code: there is no accounting database.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from tests import support
from tests.launch.slurm_cluster import NODES, SlurmCluster, missing_tools, start_slurm_cluster

REPO_ROOT = Path(__file__).resolve().parents[2]
# Small Ray nodes: two of them share this machine with other tests.
RAY_ARGS = ["--ray-arg=--object-store-memory=150000000", "--ray-arg=--memory=1000000000"]

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def slurm() -> Iterator[SlurmCluster]:
    """A two-node Slurm on loopback for this module; every daemon stopped by PID after."""
    missing = missing_tools()
    if missing:
        message = f"not installed: {', '.join(missing)} (apt-get install slurmctld slurmd munge)"
        if os.environ.get("CURATE_REQUIRE_SERVICES") == "1":
            pytest.fail(message + "; CURATE_REQUIRE_SERVICES=1 requires them")
        pytest.skip(message)
    cluster = start_slurm_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def job_env(slurm: SlurmCluster, tmp_path: Path) -> dict[str, str]:
    """The submitting shell: this Slurm, a private runs folder, the probe pipeline, no Ray
    auth settings (the job makes its own token)."""
    env = slurm.client_env()
    for key in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS"):
        env.pop(key, None)
    env.update(
        CURATE_RUNS_DIR=str(tmp_path / "runs"),
        CURATE_PIPELINE_MODULES="tests.launch.slurm_pipeline",
        PYTHONPATH=str(REPO_ROOT),
        HOME=str(tmp_path / "home"),  # no ~/.ray/auth_token: the job generates a token
    )
    return env


def curate(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`curate ARGS` as a process."""
    return support.curate(*args, env=env)


def submit_and_wait(
    args: list[str],
    env: dict[str, str],
    cwd: Path,
    while_running: Callable[[str], None] = lambda _job_id: None,
) -> dict[str, Any]:
    """`curate slurm submit --wait ARGS`: exit code, job id, log, seconds to its first line.

    `while_running(job_id)` is called every 0.2 s until the job ends.
    """
    start = time.monotonic()
    proc = subprocess.Popen(
        [*support.CURATE, "slurm", "submit", "--wait", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    job_id = proc.stdout.readline().strip()
    assert job_id.isdigit(), proc.communicate()
    log = next(Path(env["CURATE_RUNS_DIR"], "slurm").glob("*/job.json")).parent
    log_path = log / f"slurm-{job_id}.out"
    first_output = None
    while proc.poll() is None:
        if first_output is None and log_path.exists() and log_path.stat().st_size:
            first_output = time.monotonic() - start
        while_running(job_id)
        time.sleep(0.2)
    _, stderr = proc.communicate()
    return {
        "code": proc.returncode,
        "job_id": job_id,
        "log": log_path.read_text(errors="replace"),
        "stderr": stderr,
        "first_output_s": first_output,
        "seconds": time.monotonic() - start,
    }


def ray_processes_of_test_nodes() -> list[psutil.Process]:
    """Ray processes bound to the test nodes' addresses (127.0.0.11/.12): none may outlive a job."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if any(f"node-ip-address={ip}" in cmdline or f"node_ip_address={ip}" in cmdline
               for ip in NODES.values()):
            found.append(proc)
    return found


def current_ray_address() -> str:
    """What Ray's default temp folder names as this machine's current cluster ('' if none)."""
    from ray._common.utils import get_ray_address_file

    path = Path(get_ray_address_file(None))
    return path.read_text() if path.exists() else ""


def processed(record_dir: Path) -> list[tuple[int, str, int]]:
    """(input, node ip, restart count) per input the probe stage processed."""
    path = record_dir / "processed.txt"
    lines = path.read_text().split("\n") if path.exists() else []
    return [(int(a), b, int(c)) for a, b, c in (line.split() for line in lines if line)]


def probe(record_dir: Path, *extra: str) -> list[str]:
    """The probe pipeline command line."""
    return [
        "curate", "pipeline", "run", "slurm-probe", "--record-dir", str(record_dir),
        "--no-progress", *extra,
    ]  # fmt: skip


def test_two_node_job_runs_the_pipeline_on_both_nodes(
    job_env: dict[str, str], tmp_path: Path
) -> None:
    """A 2-node job: Ray head on n1, worker on n2, the pipeline used both; job exit code 0."""
    records = tmp_path / "records"
    records.mkdir()
    command = probe(records, "--meet", "2")  # both nodes' workers up before work starts
    args = ["--nodes", "2", "--metrics-port", "0", *RAY_ARGS, "--", *command]
    result = submit_and_wait(args, job_env, tmp_path)
    print(
        f"\n[slurm] passing job: exit {result['code']}, first output after "
        f"{result['first_output_s']:.1f}s, done after {result['seconds']:.1f}s"
    )
    assert result["code"] == 0, result["log"][-4000:]
    assert "all 2 Ray node(s) joined" in result["log"]
    done = processed(records)
    assert sorted(i for i, _, _ in done) == list(range(16))
    assert {ip for _, ip, _ in done} == set(NODES.values())
    assert "ended with exit code 0" in result["stderr"]
    status = curate(["slurm", "status", result["job_id"], "--json"], job_env)
    state = json.loads(status.stdout)
    assert (state["state"], state["exit_code"]) == ("COMPLETED", 0)
    logs = curate(["slurm", "logs", result["job_id"]], job_env)
    assert logs.returncode == 0 and "command exited with 0" in logs.stdout
    assert ray_processes_of_test_nodes() == []
    assert "RAY_AUTH_TOKEN=" not in result["log"]
    # The head's `ray start` wrote its address for plain `ray.init()` calls on the machine;
    # once the job is over nothing may send them to its dead head.
    assert not any(ip in current_ray_address() for ip in NODES.values())


def test_failing_pipeline_fails_the_job_with_its_exit_code(
    job_env: dict[str, str], tmp_path: Path
) -> None:
    """A pipeline whose stage raises exits non-zero (1 or 3, the runtime's table): so does
    the job, with the same code."""
    records = tmp_path / "records"
    records.mkdir()
    command = probe(records, "--fail-at", "3")
    args = ["--nodes", "2", "--metrics-port", "0", *RAY_ARGS, "--", *command]
    result = submit_and_wait(args, job_env, tmp_path)
    print(f"\n[slurm] failing job: exit {result['code']} after {result['seconds']:.1f}s")
    assert result["code"] in (1, 3), result["log"][-4000:]
    assert f"attempt 1: command exited with {result['code']}" in result["log"]
    assert "failing on input 3 as asked" in result["log"]
    state = json.loads(curate(["slurm", "status", result["job_id"], "--json"], job_env).stdout)
    assert (state["state"], state["exit_code"]) == ("FAILED", result["code"])
    assert ray_processes_of_test_nodes() == []


def test_preempted_job_is_requeued_and_resumes_from_the_checkpoint(
    slurm: SlurmCluster, job_env: dict[str, str], tmp_path: Path
) -> None:
    """`scontrol requeue` mid-run (what preemption does): the second attempt resumes from
    the checkpoint folder, skipping the inputs the first one finished; the job ends 0."""
    records = tmp_path / "records"
    records.mkdir()
    checkpoint = tmp_path / "checkpoint"
    command = probe(records, "--count", "40", "--delay", "0.5")
    args = [
        "--nodes", "2", "--metrics-port", "0", "--requeue", "--checkpoint-dir", str(checkpoint),
        *RAY_ARGS, "--", *command,
    ]  # fmt: skip
    requeued: list[str] = []

    def _pending(job_id: str) -> bool:
        return "JobState=PENDING" in slurm.scontrol("show", "job", job_id)

    def preempt_once(job_id: str) -> None:
        if not requeued and len(processed(records)) >= 10:
            slurm.scontrol("requeue", job_id)
            requeued.append(job_id)
        elif requeued and _pending(job_id):
            try:
                slurm.scontrol("update", f"JobId={job_id}", "StartTime=now")  # skip the delay
            except subprocess.CalledProcessError:
                if _pending(job_id):  # still waiting, yet refused: a real error
                    raise
                # it started between the two calls: nothing to skip

    result = submit_and_wait(args, job_env, tmp_path, while_running=preempt_once)
    assert requeued, result["log"][-4000:]
    assert result["code"] == 0, result["log"][-4000:]
    first = {i for i, _, restarts in processed(records) if restarts == 0}
    second = [i for i, _, restarts in processed(records) if restarts == 1]
    assert set(second) | first == set(range(40))
    journal = checkpoint / "journal.jsonl"
    assert journal.exists()
    # resumed: the second attempt skipped what the first one finished (only the inputs in
    # flight when it was stopped run twice)
    assert len(second) < 40 and len(set(second) & first) <= 4, (sorted(first), second)
    assert "attempt 2: command exited with 0" in result["log"]
    print(f"\n[slurm] requeue: attempt 1 did {len(first)}, attempt 2 did {len(second)} of 40")
