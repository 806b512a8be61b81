"""The jobs `curate slurm submit` made: one folder each under `<runs>/slurm/`, and their state.

A job folder holds the batch script (`sbatch.sh`), Slurm's log of every attempt
(`slurm-<id>.out`, appended on requeue) and `job.json`, the record `status`, `logs` and
`cancel` look jobs up by. The runs folder (`CURATE_RUNS_DIR`) must be on a filesystem the
compute nodes share, as home folders on Slurm clusters usually are.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import attrs

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.utils import settings

RECORD_NAME = "job.json"
# Slurm job states after which nothing more happens (unless someone requeues the job).
FINISHED_STATES = frozenset(
    {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL",
     "DEADLINE", "PREEMPTED"}
)  # fmt: skip


class SlurmError(CurateError):
    """A Slurm job could not be prepared, submitted or found."""


@attrs.frozen
class SlurmJobRecord:
    """A submitted job: its Slurm id, folder, command and when it was submitted."""

    job_id: str
    job_dir: str
    command: list[str]
    nodes: int
    submitted_at: float
    checkpoint_dir: str | None = None

    @property
    def path(self) -> Path:
        """Where this record is kept."""
        return Path(self.job_dir) / RECORD_NAME

    def save(self) -> None:
        """Write the record into its job folder."""
        self.path.write_text(json.dumps(attrs.asdict(self), indent=2) + "\n")

    def log_path(self) -> Path:
        """Slurm's log of the job (every attempt, appended)."""
        return Path(self.job_dir) / f"slurm-{self.job_id}.out"


@attrs.frozen
class SlurmJobState:
    """What Slurm says about a job now: state, reason, exit code, restarts and nodes."""

    state: str
    reason: str = ""
    exit_code: int | None = None
    restarts: int = 0
    nodes: str = ""

    @property
    def finished(self) -> bool:
        """Whether the job has ended (it may still be requeued by hand)."""
        return self.state in FINISHED_STATES


def jobs_root() -> Path:
    """`<runs folder>/slurm`: one folder per submitted job."""
    return settings.runs_root() / "slurm"


def new_job_dir(root: Path, job_name: str) -> Path:
    """A fresh, empty job folder `<root>/<time>-<name>-<random>`, named as a run's id is."""
    from cosmos_curate.core.runs import mint_run  # not at import: `slurm status` needs no fsspec

    path = mint_run(job_name, root=root).folder
    path.mkdir(parents=True)
    return path


def find_job(job_id: str) -> SlurmJobRecord:
    """The record of a job submitted by `curate slurm submit`; `SlurmError` if none."""
    if not job_id.isdigit():
        msg = f"job {job_id!r}: give the numeric Slurm job id that `curate slurm submit` printed"
        raise SlurmError(msg)
    for path in jobs_root().glob(f"*/{RECORD_NAME}"):
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if str(data.get("job_id")) == job_id:
            return SlurmJobRecord(**data)
    msg = f"job {job_id} was not submitted by `curate slurm submit` (no record under {jobs_root()})"
    raise SlurmError(msg)


def all_jobs() -> list[SlurmJobRecord]:
    """Every recorded job, newest first."""
    records = []
    for path in jobs_root().glob(f"*/{RECORD_NAME}"):
        try:
            records.append(SlurmJobRecord(**json.loads(path.read_text())))
        except (OSError, json.JSONDecodeError, TypeError):
            continue
    return sorted(records, key=lambda r: r.submitted_at, reverse=True)


def _slurm(*command: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    except FileNotFoundError as exc:
        msg = f"{command[0]} is not installed here: run this on a Slurm login node"
        raise SlurmError(msg) from exc


def job_state(job_id: str) -> SlurmJobState:
    """The job's state from `scontrol show job` (Slurm forgets finished jobs after a while)."""
    result = _slurm("scontrol", "show", "job", "--oneliner", job_id)
    if result.returncode != 0:
        return SlurmJobState(state="UNKNOWN", reason="Slurm no longer knows this job")
    fields = dict(re.findall(r"(\w+)=(\S*)", result.stdout))
    exit_code = fields.get("ExitCode", "")
    return SlurmJobState(
        state=fields.get("JobState", "UNKNOWN"),
        reason=fields.get("Reason", ""),
        exit_code=int(exit_code.split(":")[0]) if exit_code[:1].isdigit() else None,
        restarts=int(fields.get("Restarts", "0") or 0),
        nodes=fields.get("NodeList", ""),
    )


def cancel_job(record: SlurmJobRecord) -> None:
    """`scancel` the job; `SlurmError` with scancel's message if it refuses."""
    result = _slurm("scancel", record.job_id)
    if result.returncode != 0:
        why = (result.stderr.strip().splitlines() or ["scancel failed"])[-1]
        msg = f"cannot cancel job {record.job_id}: {why.removeprefix('scancel: error: ')}"
        raise SlurmError(msg)


__all__ = [
    "SlurmError",
    "SlurmJobRecord",
    "SlurmJobState",
    "all_jobs",
    "cancel_job",
    "find_job",
    "job_state",
    "jobs_root",
    "new_job_dir",
]
