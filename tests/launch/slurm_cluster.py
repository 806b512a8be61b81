"""A real two-node Slurm on this machine: munged, slurmctld and two slurmd, all on loopback.

Everything lives under one temp folder (key, sockets, spool, state, logs, pid files) and
every daemon is stopped by the PID in its pid file. Node `n1` is 127.0.0.11 and `n2` is
127.0.0.12 (both `NodeHostname=localhost`), each with its own slurmd port; proctrack and task
plugins that need no cgroups. Clients find it through `SLURM_CONF` (see `client_env`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import attrs
from tests.support import free_port

NODES = {"n1": "127.0.0.11", "n2": "127.0.0.12"}
CPUS_PER_NODE = 2


def missing_tools() -> list[str]:
    """The daemons and client commands this needs that are not installed."""
    tools = ("munged", "slurmctld", "slurmd", "sbatch", "srun", "scontrol", "squeue", "scancel")
    return [t for t in tools if shutil.which(t) is None]


def _slurm_conf(root: Path, munge_socket: Path) -> str:
    ctld_port, node_ports = free_port(), {name: free_port() for name in NODES}
    lines = [
        "ClusterName=curatetest",
        "SlurmctldHost=localhost",
        f"SlurmctldPort={ctld_port}",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={munge_socket}",
        "SlurmUser=root",
        "SlurmdUser=root",
        f"StateSaveLocation={root}/state",
        f"SlurmdSpoolDir={root}/spool%n",
        f"SlurmctldPidFile={root}/slurmctld.pid",
        f"SlurmdPidFile={root}/slurmd-%n.pid",
        f"SlurmctldLogFile={root}/slurmctld.log",
        f"SlurmdLogFile={root}/slurmd-%n.log",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SchedulerType=sched/builtin",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_CPU",
        "SlurmdParameters=config_overrides",
        "ReturnToService=2",
        "MpiDefault=none",
        "JobCompType=jobcomp/none",
        "AccountingStorageType=accounting_storage/none",
        "JobAcctGatherType=jobacct_gather/none",
        "MinJobAge=3600",
        "InactiveLimit=0",
        "KillWait=10",
    ]
    for name, addr in NODES.items():
        lines.append(
            f"NodeName={name} NodeHostname=localhost NodeAddr={addr} Port={node_ports[name]} "
            f"CPUs={CPUS_PER_NODE} RealMemory=4000 State=UNKNOWN"
        )
    nodes = ",".join(NODES)
    lines.append(f"PartitionName=debug Nodes={nodes} Default=YES MaxTime=INFINITE State=UP")
    return "\n".join(lines) + "\n"


@attrs.define
class SlurmCluster:
    """A running test Slurm; `stop()` ends every daemon it started, by PID."""

    root: Path
    conf: Path
    pid_files: list[Path] = attrs.field(factory=list)

    def client_env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """An environment in which sbatch/srun/squeue/scontrol talk to this cluster."""
        env = dict(os.environ if base is None else base)
        env["SLURM_CONF"] = str(self.conf)
        return env

    def scontrol(self, *args: str) -> str:
        """`scontrol ARGS` output."""
        return subprocess.run(
            ["scontrol", *args], env=self.client_env(), capture_output=True, text=True, check=True
        ).stdout

    def log(self, name: str) -> str:
        """A daemon's log (`slurmctld`, `slurmd-n1`, `munged`)."""
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """SIGTERM each daemon by its pid file (slurmds, slurmctld, munged last); wait."""
        for pid_file in reversed(self.pid_files):
            _stop_pid_file(pid_file)
        shutil.rmtree(self.root, ignore_errors=True)


def _stop_pid_file(pid_file: Path, timeout_s: float = 20.0) -> None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


def _wait_for(path: Path, what: str, log: Path, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not (path.exists() and path.read_text().strip()):
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
            msg = f"{what} did not start: {tail}"
            raise RuntimeError(msg)
        time.sleep(0.2)


def _start_munged(root: Path) -> tuple[Path, Path]:
    key = root / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    socket_path, pid_file = root / "munge.sock", root / "munged.pid"
    subprocess.run(
        [
            "munged",
            f"--key-file={key}",
            f"--socket={socket_path}",
            f"--pid-file={pid_file}",
            f"--log-file={root}/munged.log",
            f"--seed-file={root}/munge.seed",
            "--force",
        ],
        check=True,
    )
    _wait_for(pid_file, "munged", root / "munged.log")
    return socket_path, pid_file


def start_slurm_cluster() -> SlurmCluster:
    """munged, slurmctld, then slurmd n1 and n2; returns once both nodes are idle."""
    # short folder: the munge socket path must stay under the unix socket limit
    root = Path(tempfile.mkdtemp(prefix="curate-slurm-", dir="/tmp"))
    root.chmod(0o755)
    (root / "state").mkdir()
    cluster = SlurmCluster(root=root, conf=root / "slurm.conf")
    try:
        munge_socket, munge_pid = _start_munged(root)
        cluster.pid_files.append(munge_pid)
        cluster.conf.write_text(_slurm_conf(root, munge_socket))
        env = cluster.client_env()
        subprocess.run(["slurmctld", "-f", str(cluster.conf)], env=env, check=True)
        cluster.pid_files.append(root / "slurmctld.pid")
        _wait_for(root / "slurmctld.pid", "slurmctld", root / "slurmctld.log")
        for name in NODES:
            subprocess.run(["slurmd", "-f", str(cluster.conf), "-N", name], env=env, check=True)
            cluster.pid_files.append(root / f"slurmd-{name}.pid")
            _wait_for(root / f"slurmd-{name}.pid", f"slurmd {name}", root / f"slurmd-{name}.log")
        _wait_idle(cluster)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait_idle(cluster: SlurmCluster, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    states = ""
    while time.monotonic() < deadline:
        states = subprocess.run(
            ["sinfo", "-h", "-N", "-o", "%N %t"],
            env=cluster.client_env(),
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if states.count("idle") == len(NODES):
            return
        time.sleep(0.5)
    log = cluster.log("slurmctld")[-2000:]
    msg = f"slurm nodes not idle after {timeout_s:g}s: {states!r}\n{log}"
    raise RuntimeError(msg)
