"""`curate slurm submit`: a Ray cluster across a Slurm allocation that runs one command.

`render_script` turns a `SlurmJobSpec` into an sbatch script (template `sbatch.sh.j2` beside
this module): Ray's head on the first node and a worker on each other one, each in the
foreground under `srun` (`curate slurm node`, see `slurm_node`), a driver step that waits
for every node and runs the command against the head, and the command's exit code as the
job's. `submit` writes the script into a job folder under the runs folder, submits it with
`sbatch` and records the job there (see `slurm_jobs`).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import attrs
import jinja2

from cosmos_curate.core.ray_cluster.bind import auth_disabled_message
from cosmos_curate.core.utils import settings
from cosmos_curate.image.errors import InvalidImageReferenceError
from cosmos_curate.image.reference import check_reference
from cosmos_curate.launch.slurm_jobs import SlurmError, SlurmJobRecord, jobs_root, new_job_dir

TEMPLATE = Path(__file__).with_name("sbatch.sh.j2")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$")
# Slurm's time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S (UNLIMITED/INFINITE: no limit).
# (has days, number of ':'-separated fields) -> what the fields after the days are.
_TIME_FIELDS = {
    (False, 1): ("minutes",),
    (False, 2): ("minutes", "seconds"),
    (False, 3): ("hours", "minutes", "seconds"),
    (True, 1): ("hours",),
    (True, 2): ("hours", "minutes"),
    (True, 3): ("hours", "minutes", "seconds"),
}
_TIME_FIELD_MAX = {"hours": 23, "minutes": 59, "seconds": 59}
_TIME_NUMBER = re.compile(r"[0-9]{1,9}")
NO_TIME_LIMIT = ("UNLIMITED", "INFINITE")
# Bounds no real job reaches: a larger value is a typo (UNLIMITED is the way to say none).
MAX_TIME_MINUTES = 365 * 24 * 60
MAX_JOIN_TIMEOUT_S = 24 * 3600  # a day: a node that has not joined by then will not
MAX_NODES = 100_000
MAX_GPUS_PER_NODE = 1024
# What a mount or a squashfs path may hold: no spaces, quotes or shell syntax.
_PLAIN_PATH = re.compile(r"^[^\s,'\"`$;&|<>\\]+$")
PIPELINE_RUN = ("curate", "pipeline", "run")
NO_SBATCH = "sbatch is not installed here: run `curate slurm submit` on a Slurm login node"


@attrs.frozen
class SlurmJobSpec:
    """What `curate slurm submit` was asked for; `check()` validates it."""

    command: tuple[str, ...]
    nodes: int = 1
    gpus_per_node: int = 0
    partition: str | None = None
    account: str | None = None
    time: str | None = None
    container_image: str | None = None
    container_mounts: tuple[str, ...] = ()
    sbatch_lines: tuple[str, ...] = ()
    job_name: str = "curate"
    exclusive: bool = True
    requeue: bool = False
    checkpoint_dir: Path | None = None
    resume: bool = False
    ray_port: int | None = None  # None: 20000 + job id % 10000 (jobs sharing a node differ)
    metrics_port: int = settings.DEFAULT_METRICS_PORT
    ray_args: tuple[str, ...] = ()
    auth: str = "token"
    join_timeout_s: int = 600

    def check(self) -> None:
        """Raise `SlurmError` naming the first bad option."""
        if not self.command:
            _fail("no command given: curate slurm submit [OPTIONS] -- COMMAND...")
        self._check_sizes()
        self._check_names()
        for line in self.sbatch_lines:
            if "\n" in line or "\r" in line or not _sbatch_line(line).startswith("-"):
                _fail(f"--sbatch-line {line!r}: one sbatch option per line, e.g. --mem=0")
        if self.auth not in ("token", "disabled"):
            _fail(f"--auth {self.auth!r}: use token or disabled")
        if self.auth == "disabled":  # nodes listen on their Slurm addresses, never loopback
            _fail(auth_disabled_message("the Slurm nodes", "--auth disabled", "drop it"))
        if (self.checkpoint_dir or self.resume) and self.command[:3] != PIPELINE_RUN:
            _fail("--checkpoint-dir and --resume need a `curate pipeline run ...` command")
        if self.resume and self.checkpoint_dir is None:
            _fail("--resume needs --checkpoint-dir DIR")

    def _check_sizes(self) -> None:
        if not 1 <= self.nodes <= MAX_NODES:
            _fail(f"--nodes {self.nodes}: give a number of nodes from 1 to {MAX_NODES}")
        if not 0 <= self.gpus_per_node <= MAX_GPUS_PER_NODE:
            _fail(f"--gpus-per-node {self.gpus_per_node}: give 0 to {MAX_GPUS_PER_NODE}")
        if self.time is not None:
            time_limit_minutes(self.time)
        if self.ray_port is not None and not 1024 <= self.ray_port <= 65535:
            _fail(f"--ray-port {self.ray_port} is out of range (1024-65535)")
        if not 0 <= self.metrics_port <= 65535:
            _fail(f"--metrics-port {self.metrics_port} is out of range (0-65535)")
        if not 1 <= self.join_timeout_s <= MAX_JOIN_TIMEOUT_S:
            _fail(f"--join-timeout {self.join_timeout_s}: give 1 to {MAX_JOIN_TIMEOUT_S} seconds")

    def _check_names(self) -> None:
        for flag, value in (("--partition", self.partition), ("--account", self.account)):
            if value is not None and not _NAME.fullmatch(value):
                _fail(f"{flag} {value!r}: letters, digits and . _ + - only")
        if not _NAME.fullmatch(self.job_name):
            _fail(f"--job-name {self.job_name!r}: letters, digits and . _ + - only")
        if self.container_image is not None:
            _check_container_image(self.container_image)
        for mount in self.container_mounts:
            if not _PLAIN_PATH.fullmatch(mount) or ":" not in mount:
                _fail(f"--container-mounts {mount!r}: give SRC:DST[:ro]")


def time_limit_minutes(text: str) -> int | None:
    """Minutes of a Slurm time limit (seconds round up), None for UNLIMITED/INFINITE.

    Raises `SlurmError` naming `--time` for a format Slurm does not read, a field past its
    range (hours 23 after days, minutes and seconds 59 after the first field) or a limit
    over a year.
    """
    if text.upper() in NO_TIME_LIMIT:
        return None
    days, dash, clock = text.partition("-") if "-" in text else ("0", "", text)
    parts = clock.split(":")
    names = _TIME_FIELDS.get((bool(dash), len(parts)))
    values = [days, *parts]
    if names is None or not all(_TIME_NUMBER.fullmatch(value) for value in values):
        _fail(f"--time {text!r}: use MINUTES, HH:MM:SS, DAYS-HH:MM:SS or UNLIMITED")
    fields = dict(zip(("days", *names), map(int, values), strict=True))
    leading = ("days",) if dash else ("days", names[0])  # unbounded: the first field
    for name, value in fields.items():
        if name not in leading and value > _TIME_FIELD_MAX[name]:
            _fail(f"--time {text!r}: {name} must be 0-{_TIME_FIELD_MAX[name]} there")
    minutes = (fields["days"] * 24 + fields.get("hours", 0)) * 60 + fields.get("minutes", 0)
    minutes += 1 if fields.get("seconds") else 0
    if minutes > MAX_TIME_MINUTES:
        _fail(f"--time {text!r}: more than a year; give a shorter limit or UNLIMITED")
    return minutes


def _check_container_image(value: str) -> None:
    """Pyxis takes a Docker reference, enroot's `REGISTRY#NAME[:TAG]`, or a squashfs file."""
    if value.startswith("/") and value.endswith(".sqsh") and _PLAIN_PATH.fullmatch(value):
        return
    registry, hash_sign, name = value.partition("#")
    try:
        check_reference(f"{registry}/{name}" if hash_sign else value, "--container-image")
    except InvalidImageReferenceError:
        _fail(
            f"--container-image {value!r} is not an image reference "
            "(NAME[:TAG], REGISTRY#NAME[:TAG] or a /path/to/image.sqsh)"
        )


def _fail(message: str) -> NoReturn:
    raise SlurmError(message)


def _sbatch_line(line: str) -> str:
    return line.strip().removeprefix("#SBATCH").strip()


def _command(spec: SlurmJobSpec) -> str:
    words = list(spec.command)
    if spec.checkpoint_dir is not None:
        words += ["--checkpoint-dir", str(spec.checkpoint_dir.resolve())]
    return shlex.join(words)


def _container_flags(spec: SlurmJobSpec, job_dir: Path) -> list[str]:
    """Flags of pyxis for every step: the image, the job folder and the submit folder mounted."""
    if spec.container_image is None:
        return []
    here = Path.cwd()
    mounts = [f"{job_dir}:{job_dir}", f"{here}:{here}", *spec.container_mounts]
    return [
        shlex.quote(f"--container-image={spec.container_image}"),
        shlex.quote(f"--container-mounts={','.join(mounts)}"),
        shlex.quote(f"--container-workdir={here}"),
    ]


def render_script(spec: SlurmJobSpec, job_dir: Path) -> str:
    """The sbatch script for `spec`, writing its log into `job_dir` (validated first)."""
    spec.check()
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE.parent),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # a shell script: values are shell-quoted here instead
        comment_start_string="{##",  # bash's ${#array[@]} holds the default "{#"
        comment_end_string="##}",
    )
    node_args = [f"--metrics-port={spec.metrics_port}", *(f"--ray-arg={a}" for a in spec.ray_args)]
    return env.get_template(TEMPLATE.name).render(
        job_dir=shlex.quote(str(job_dir)),
        job_name=spec.job_name,
        nodes=spec.nodes,
        gpus_per_node=spec.gpus_per_node,
        partition=spec.partition,
        account=spec.account,
        time=spec.time,
        exclusive=spec.exclusive,
        requeue=spec.requeue,
        sbatch_lines=[_sbatch_line(line) for line in spec.sbatch_lines],
        bin_dir=None if spec.container_image else shlex.quote(str(Path(sys.executable).parent)),
        ray_port=spec.ray_port,
        auth=spec.auth,
        container_flags=_container_flags(spec, job_dir),
        node_args=shlex.join(node_args),
        checkpoint_dir=spec.checkpoint_dir,
        resume=spec.resume,
        join_timeout=spec.join_timeout_s,
        command=_command(spec),
    )


def submit(
    spec: SlurmJobSpec,
    *,
    wait: bool = False,
    on_submitted: Callable[[SlurmJobRecord], None] = lambda _record: None,
) -> tuple[SlurmJobRecord, int | None]:
    """Write the script into a new job folder, `sbatch` it and record the job.

    With `wait`, blocks until the job ends (`sbatch --wait`) and returns its exit code;
    `on_submitted` is called as soon as the job id is known. Raises `SlurmError` if sbatch
    is missing or rejects the job (the job folder is removed again).
    """
    spec.check()
    if shutil.which("sbatch") is None:  # before the job folder: a failed submit leaves nothing
        raise SlurmError(NO_SBATCH)
    root = jobs_root()
    made_from = _first_missing(root)  # folders the job folder's mkdir creates: removed on failure
    job_dir = new_job_dir(root, spec.job_name)
    try:
        script = job_dir / "sbatch.sh"
        script.write_text(render_script(spec, job_dir))
        script.chmod(0o700)
        proc = _start_sbatch(script, wait)
        job_id = _read_job_id(proc)
    except BaseException:
        _remove_job_dir(job_dir, made_from)
        raise
    record = SlurmJobRecord(
        job_id=job_id,
        job_dir=str(job_dir),
        command=list(spec.command),
        nodes=spec.nodes,
        submitted_at=time.time(),
        checkpoint_dir=str(spec.checkpoint_dir.resolve()) if spec.checkpoint_dir else None,
    )
    record.save()
    on_submitted(record)
    if not wait:
        proc.wait()
        return record, None
    return record, proc.wait()


def _start_sbatch(script: Path, wait: bool) -> subprocess.Popen[str]:
    command = ["sbatch", "--parsable", *(["--wait"] if wait else []), str(script)]
    try:
        return subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path.cwd()
        )
    except FileNotFoundError as exc:
        raise SlurmError(NO_SBATCH) from exc


def _read_job_id(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline().strip()
    job_id = first.split(";")[0]
    if not job_id.isdigit():
        proc.wait()
        errors = [line.strip() for line in proc.stderr.read().splitlines() if line.strip()]
        why = errors[-1] if errors else first or f"sbatch exited with {proc.returncode}"
        msg = f"sbatch rejected the job: {why.removeprefix('sbatch: error: ')}"
        raise SlurmError(msg)
    return job_id


def _first_missing(folder: Path) -> Path | None:
    """The topmost of `folder` and its parents that does not exist yet (None: all exist)."""
    missing = None
    for path in (folder, *folder.parents):
        if path.exists():
            break
        missing = path
    return missing


def _remove_job_dir(job_dir: Path, made_from: Path | None) -> None:
    """Remove the job folder, and the empty folders above it up to `made_from` (made for it)."""
    for path in sorted(job_dir.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    job_dir.rmdir()
    if made_from is None:
        return
    for folder in (job_dir.parent, *job_dir.parent.parents):
        try:
            folder.rmdir()
        except OSError:  # another job's folder appeared meanwhile: keep it
            return
        if folder == made_from:
            return


__all__ = ["SlurmError", "SlurmJobSpec", "render_script", "submit"]
