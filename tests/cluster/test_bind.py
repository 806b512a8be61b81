"""Nothing listens beyond loopback by default: an embedded run and `curate cluster start`.

The sockets are listed from the kernel (psutil) for every process of the run or cluster.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from tests.cluster.cluster_helpers import base_env, free_port, start_cluster, stop_cluster
from tests.cluster.listening import exposed, listening, tree
from tests.support import fresh_python

from cosmos_curate.core.ray_cluster.bind import bind_host, is_loopback
from cosmos_curate.core.ray_cluster.errors import BindHostError
from cosmos_curate.core.ray_cluster.ports import is_free

REPO = Path(__file__).resolve().parents[2]


def test_bind_host_defaults_to_loopback_and_rejects_garbage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unset: 127.0.0.1; an IP is taken as is; anything else is one clear error."""
    monkeypatch.delenv("CURATE_BIND_HOST", raising=False)
    assert bind_host() == "127.0.0.1"
    monkeypatch.setenv("CURATE_BIND_HOST", "10.1.2.3")
    assert bind_host() == "10.1.2.3"
    monkeypatch.setenv("CURATE_BIND_HOST", "auto")
    assert not is_loopback(bind_host()) or bind_host().startswith("127.")
    monkeypatch.setenv("CURATE_BIND_HOST", "banana")
    with pytest.raises(BindHostError, match="CURATE_BIND_HOST"):
        bind_host()


def test_loopback_recognises_mapped_addresses() -> None:
    """`::ffff:127.0.0.1` (how gRPC reports an IPv4 loopback bind) counts as loopback."""
    assert is_loopback("::ffff:127.0.0.1") and is_loopback("::1") and is_loopback("127.0.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("10.0.0.1")


def test_port_probe_ignores_time_wait() -> None:
    """A port whose last connection is in TIME_WAIT is free (SO_REUSEADDR probe)."""
    import socket

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    assert not is_free("127.0.0.1", port)
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    conn.close()  # the server side closes first: its end goes to TIME_WAIT
    client.close()
    server.close()
    assert is_free("127.0.0.1", port)


@pytest.mark.integration
def test_embedded_run_listens_on_loopback_only() -> None:
    """GCS, raylet, workers, agents and the metrics export of an embedded Ray: loopback."""
    env = base_env(PYTHONPATH=str(REPO), RAY_AUTH_MODE="disabled")
    env.pop("CURATE_BIND_HOST", None)
    result = subprocess.run(
        [sys.executable, "-m", "tests.cluster.embedded_listen", str(free_port())],
        capture_output=True, text=True, env=env, timeout=300, check=False, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    sockets = [tuple(s) for s in json.loads(result.stdout.strip().splitlines()[-1])]
    assert len(sockets) >= 5, sockets  # driver, GCS, raylet, agents, metrics, worker
    assert exposed(sockets) == [], sockets  # type: ignore[arg-type]


@pytest.mark.integration
def test_cluster_start_listens_on_loopback_only(tmp_path: Path) -> None:
    """Every process of a head + 1 worker `curate cluster start` cluster: loopback only."""
    env = base_env(RAY_AUTH_MODE="disabled")
    env.pop("CURATE_BIND_HOST", None)
    state_file = tmp_path / "state.json"
    state = start_cluster(state_file, env, workers=1, auth="disabled")
    try:
        procs = []
        for node in state.nodes:
            launcher = node.launcher.live()
            assert launcher is not None
            procs += tree(launcher)
        sockets = listening(procs)
        gcs_port = int(state.address.rsplit(":", 1)[1])
        assert any(port == gcs_port for *_, port in sockets), sockets
        assert exposed(sockets) == [], sockets
        assert {n.ip for n in state.nodes} == {"127.0.0.1"}
    finally:
        stop_cluster(state_file, env)
    assert not [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _probe(address: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`probe_address` (TCP connect, then one RPC with the token if any) from a new process."""
    code = (
        "import sys; "
        "from cosmos_curate.core.ray_cluster.address import parse_address, probe_address; "
        "probe_address(parse_address(sys.argv[1]))"
    )
    return fresh_python(code, address, env=env, cwd=REPO)


def _token_of_children(driver: psutil.Process) -> str:
    """The token the driver's Ray processes were started with (their initial environment)."""
    for child in driver.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            token = child.environ().get("RAY_AUTH_TOKEN")
            if token:
                return token
    return ""


@pytest.mark.integration
def test_open_bind_turns_token_auth_on_and_never_shows_the_token(tmp_path: Path) -> None:
    """CURATE_BIND_HOST beyond 127.0.0.1 (here 127.0.0.2: Ray then listens on every
    interface): the embedded Ray requires a token, a client without it is refused, one with
    it gets in, the token was made for the run (nothing under ~/.ray) and is in no output."""
    home = tmp_path / "home"
    home.mkdir()
    env = base_env(PYTHONPATH=str(REPO), HOME=str(home), CURATE_BIND_HOST="127.0.0.2")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.cluster.embedded_open", str(free_port())],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env, cwd=REPO,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdin is not None
        started = json.loads(proc.stdout.readline() or "null")
        assert started, proc.communicate(timeout=60)
        token = _token_of_children(psutil.Process(proc.pid))
        assert len(token) >= 32
        sockets = [tuple(s) for s in started["sockets"]]
        assert exposed(sockets), sockets  # type: ignore[arg-type]  # truly beyond loopback
        without = _probe(started["address"], base_env(PYTHONPATH=str(REPO), HOME=str(home)))
        assert without.returncode != 0 and "requires an auth token" in without.stderr
        with_token = _probe(started["address"], base_env(
            PYTHONPATH=str(REPO), HOME=str(home), RAY_AUTH_TOKEN=token, RAY_AUTH_MODE="token",
        ))  # fmt: skip
        assert with_token.returncode == 0, with_token.stderr[-2000:]
        out, err = proc.communicate(input="", timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    outputs = out + err + without.stdout + without.stderr + with_token.stdout + with_token.stderr
    assert token not in outputs + json.dumps(started)
    assert not (home / ".ray" / "auth_token").exists()


def test_open_bind_refuses_ray_auth_disabled() -> None:
    """CURATE_BIND_HOST beyond 127.0.0.1 with RAY_AUTH_MODE=disabled: one error line, exit
    2, no Ray started."""
    env = base_env(
        PYTHONPATH=str(REPO), CURATE_BIND_HOST="127.0.0.2", RAY_AUTH_MODE="disabled",
    )  # fmt: skip
    before = {p.pid for p in psutil.process_iter()}
    result = subprocess.run(
        [sys.executable, "-m", "cosmos_curate.cli.main", "pipeline", "run", "demo-task-chunking",
         "--no-progress", "--num-cpus", "1", "--metrics-port", str(free_port())],
        capture_output=True, text=True, env=env, timeout=300, check=False, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.startswith("error: RAY_AUTH_MODE=disabled: Ray on 127.0.0.2 listens")
    assert result.stderr.count("\n") == 1, result.stderr
    # a raylet of this run would be on 127.0.0.2; other test lanes start Ray elsewhere meanwhile
    started = [p for p in psutil.process_iter(["name", "cmdline"]) if p.pid not in before]
    assert not [
        p for p in started
        if "raylet" in (p.info["name"] or "") and "127.0.0.2" in " ".join(p.info["cmdline"] or ())
    ]
