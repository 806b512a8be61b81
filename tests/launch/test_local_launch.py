"""`curate local launch` against a real Docker daemon, with an image `curate image build` made.

The daemon and the debootstrap base image come from the image tests' fixtures (a `dockerd`
started by PID, no bridge network, so containers here use host networking). The image is
the image tests' session image (its `default` env has no torch): it runs the demo pipeline
that needs no model. The launcher runs as a process, as a user runs it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import docker
import psutil
import pytest
from tests.image.docker_fixtures import IMAGE
from tests.support import free_port

from cosmos_curate.launch.local import LABEL_LAUNCHED_BY, GpuRequest, LaunchSpec
from cosmos_curate.launch.local import launch as launch_container

REPO_ROOT = Path(__file__).resolve().parents[2]


def docker_test(test: Any) -> Any:
    """Marks of a test that needs the Docker daemon (and, for most, the slow image build)."""
    return pytest.mark.docker(pytest.mark.integration(pytest.mark.timeout(2400)(test)))


@pytest.fixture(scope="module")
def image(cold_build: dict[str, Any]) -> str:
    """The image tests' image (envs `probe` and `default`), built once per session."""
    return f"{IMAGE}:cold"


def launch(args: list[str], host: str, cwd: Path, **env: str) -> subprocess.Popen[str]:
    """`curate local launch ARGS` as a process."""
    return subprocess.Popen(
        [sys.executable, "-m", "cosmos_curate.cli.main", "local", "launch", *args],
        env={**os.environ, "DOCKER_HOST": host, "PYTHONPATH": str(REPO_ROOT), **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def launched_containers(client: Any) -> list[Any]:
    """Containers `curate local launch` made that still exist (running or not).

    One removed while the list is read (another test's launcher finishing) is left out.
    """
    return list(
        client.containers.list(all=True, filters={"label": LABEL_LAUNCHED_BY}, ignore_removed=True)
    )


def listeners(port: int) -> set[str]:
    """Addresses something listens on at TCP `port`."""
    return {
        c.laddr.ip
        for c in psutil.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    }


def test_dry_run_prints_docker_run_without_secrets(tmp_path: Path) -> None:
    """--dry-run prints the docker run line: GPUs, 127.0.0.1-only port, mounts; HF_TOKEN by name."""
    result = subprocess.run(
        [sys.executable, "-m", "cosmos_curate.cli.main", "local", "launch", "--dry-run",
         "--gpus", "2", "--", "curate", "pipeline", "list"],
        env={**os.environ, "HF_TOKEN": "hf_secret_value", "PYTHONPATH": str(REPO_ROOT)},
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert "hf_secret_value" not in result.stdout + result.stderr
    assert " --env=HF_TOKEN " in line and " --env=CURATE_BIND_HOST=auto " in line
    assert " --gpus=2 " in line and " --publish=127.0.0.1:" in line
    assert f" --volume={tmp_path}:{tmp_path}:rw " in line and f" --workdir={tmp_path} " in line
    assert line.endswith("cosmos-curate:latest curate pipeline list")


def test_dry_run_never_prints_env_values(tmp_path: Path) -> None:
    """`--env NAME` (from the shell) and `--env NAME=VALUE` appear by name only: the secret
    strings are in neither stdout nor stderr, and the line still names both variables."""
    result = subprocess.run(
        [sys.executable, "-m", "cosmos_curate.cli.main", "local", "launch", "--dry-run",
         "--env", "OPENAI_API_KEY", "--env", "FOO=s3cr3t-foo", "-e", "EMPTY=",
         "--", "curate", "pipeline", "list"],
        env={**os.environ, "OPENAI_API_KEY": "sk-shell-secret", "PYTHONPATH": str(REPO_ROOT)},
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    both = result.stdout + result.stderr
    assert "sk-shell-secret" not in both and "s3cr3t-foo" not in both
    assert " --env=OPENAI_API_KEY " in result.stdout and " --env=FOO " in result.stdout
    assert "values are not shown" in result.stderr


def test_host_network_keeps_ray_on_loopback() -> None:
    """`--network host`: the container's Ray would bind the host's interfaces with
    CURATE_BIND_HOST=auto, so it is not set there (Ray stays on 127.0.0.1) and nothing is
    published; on Docker's bridge the container's own interface is used, as before."""
    host = LaunchSpec(command=("true",), network="host")
    assert "CURATE_BIND_HOST" not in host.create_kwargs()["environment"]
    assert "CURATE_BIND_HOST" not in host.docker_command()
    assert host.create_kwargs()["ports"] == {}
    bridge = LaunchSpec(command=("true",))
    assert bridge.create_kwargs()["environment"]["CURATE_BIND_HOST"] == "auto"


def test_spec_publishes_metrics_on_loopback_and_requests_gpus() -> None:
    """The docker SDK arguments: the metrics port on 127.0.0.1 only; GPUs as device requests."""
    spec = LaunchSpec(command=("true",), gpus=GpuRequest.parse("all"), metrics_port=9123)
    kwargs = spec.create_kwargs()
    assert kwargs["ports"] == {"9002/tcp": ("127.0.0.1", 9123)}
    [request] = kwargs["device_requests"]
    assert (request["Count"], request["Capabilities"]) == (-1, [["gpu"]])
    assert GpuRequest.parse("none").device_requests() == []
    assert kwargs["environment"]["CURATE_BIND_HOST"] == "auto"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--gpus", "lots", "--", "true"], "--gpus 'lots'"),
        (["--image", "bad name\nFROM x", "--", "true"], "--image"),
        (["--env", "1BAD=x", "--", "true"], "--env '1BAD'"),
        ([], "no command given"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], needle: str, tmp_path: Path) -> None:
    """Bad options: exit 2, one `error:` line naming the option, nothing started."""
    # a free metrics port: with the default, another test lane holding 9002 adds a note line
    proc = launch(["--metrics-port", str(free_port()), *args], "unix:///nonexistent.sock", tmp_path)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and needle in err, err


def test_no_daemon_is_one_line(tmp_path: Path) -> None:
    """No Docker daemon: exit 2 with one line naming DOCKER_HOST."""
    args = ["--metrics-port", str(free_port()), "--", "true"]  # not 9002: another lane may hold it
    proc = launch(args, f"unix://{tmp_path}/none.sock", tmp_path)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and err.startswith("error: no Docker daemon answers at unix://")


@docker_test
def test_missing_image_is_one_line(docker_host: str, tmp_path: Path) -> None:
    """An image the daemon does not have: exit 2, the line says how to build it."""
    proc = launch(["--image", "nope:none", "--", "true"], docker_host, tmp_path)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert err.startswith("error: image nope:none is not on this Docker daemon: build it with")


@docker_test
def test_pipeline_runs_in_the_image_and_host_network_stays_on_loopback(
    image: str, docker_host: str, docker_client: Any, tmp_path: Path
) -> None:
    """`curate local launch --network host -- curate pipeline run demo-task-chunking`:
    output, exit 0, and while it runs the embedded Ray's metrics port answers on 127.0.0.1
    and never listens on another address (the container shares this machine's interfaces,
    so CURATE_BIND_HOST=auto would open Ray on all of them). The test daemon has no bridge."""
    port = free_port("0.0.0.0")
    command = [
        "curate", "pipeline", "run", "demo-task-chunking", "--no-progress",
        "--num-cpus", "2", "--metrics-port", str(port),
    ]  # fmt: skip
    start = time.monotonic()
    proc = launch(["--image", image, "--network", "host", "--", *command], docker_host, tmp_path)
    seen: set[str] = set()
    answered = False
    while proc.poll() is None:
        seen |= listeners(port)
        if not answered and seen:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2):
                    answered = True
            except OSError:
                pass
        time.sleep(0.1)
    out, err = proc.communicate()
    print(f"\n[launch] demo pipeline in the container: {time.monotonic() - start:.1f}s")
    assert proc.returncode == 0, err[-4000:]
    assert "QUICK" in out and "LAZY" in out
    assert launched_containers(docker_client) == []
    assert seen == {"127.0.0.1"}, f"metrics port listened on {seen}"
    assert answered, f"no answer at http://127.0.0.1:{port}/metrics"


@docker_test
def test_exit_code_output_mounts_and_token_come_through(
    image: str, docker_host: str, docker_client: Any, tmp_path: Path
) -> None:
    """A failing command's exit code is the launcher's; stdout/stderr stay apart; the working
    folder is mounted at its own path; HF_TOKEN arrives; the container is removed."""
    (tmp_path / "marker.txt").write_text("from the host\n")
    script = (
        'cat marker.txt; test "$HF_TOKEN" = hf_test_token && echo token-ok; '
        "test -d /config/models && echo weights-ok; echo to-stderr >&2; exit 7"
    )
    proc = launch(
        ["--image", image, "--network", "host", "--", "sh", "-c", script],
        docker_host, tmp_path, HF_TOKEN="hf_test_token",
    )  # fmt: skip
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 7, err
    assert out.split() == ["from", "the", "host", "token-ok", "weights-ok"]
    assert "to-stderr" in err and "hf_test_token" not in err
    assert launched_containers(docker_client) == []


@docker_test
def test_ctrl_c_stops_and_removes_the_container(
    image: str, docker_host: str, docker_client: Any, tmp_path: Path
) -> None:
    """Ctrl-C (SIGINT) on the launcher stops the container: exit 130, nothing left behind."""
    before = {c.id for c in launched_containers(docker_client)}
    args = ["--image", image, "--network", "host", "--", "sleep", "600"]
    proc = launch(args, docker_host, tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not [
            c for c in launched_containers(docker_client)
            if c.id not in before and c.status == "running"
        ]:  # fmt: skip
            assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
            time.sleep(0.3)
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        print(f"\n[launch] Ctrl-C to container gone: {time.monotonic() - start:.1f}s")
        assert proc.returncode == 130, err
        assert [c.id for c in launched_containers(docker_client) if c.id not in before] == []
    finally:  # a failed try leaves no launcher or `sleep 600` container for the rerun
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        for container in launched_containers(docker_client):
            if container.id not in before:
                with contextlib.suppress(docker.errors.NotFound):
                    container.remove(force=True)


class _InterruptedAfterCreate:
    """A Docker client whose `containers.create` is cut short by Ctrl-C after the daemon made
    the container (the reply never reaches the launcher); everything else is the real client."""

    def __init__(self, client: Any) -> None:
        self.api = client.api
        self.images = client.images
        self._client = client
        self.containers = self

    def create(self, **kwargs: Any) -> Any:
        self._client.containers.create(**kwargs)
        raise KeyboardInterrupt


@docker_test
def test_ctrl_c_during_create_leaves_no_container(
    image: str, docker_client: Any, tmp_path: Path
) -> None:
    """Ctrl-C while the daemon creates the container: the interrupt goes on and the container
    the daemon made is removed by its name (nothing `sleep 600` is left behind)."""
    spec = LaunchSpec(
        command=("sleep", "600"), image=image, network="host",
        working_dir=tmp_path, weights_dir=tmp_path / "weights",
    )  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        launch_container(spec, client=_InterruptedAfterCreate(docker_client))  # type: ignore[arg-type]
    assert [c.name for c in launched_containers(docker_client) if c.name == spec.name] == []
