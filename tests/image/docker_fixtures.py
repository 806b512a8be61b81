"""Docker fixtures (a plugin of tests/conftest.py, so the image and launcher tests share them).

A real Docker daemon started by PID, a debootstrap base image, and the test image built once.

The daemon (`dockerd`, no iptables/bridge) lives under a temp folder for the session and is
stopped by its PID. Storage: overlay2 where the kernel allows it (copy-on-write layers: a build
step does not copy the whole image before it), else vfs; `CURATE_TEST_DOCKER_STORAGE` names the
drivers to try in order (default `overlay2,vfs`). The base image is Debian bookworm made with
debootstrap (cached as a tar under `CURATE_TEST_CACHE_DIR`, default
`~/.cache/cosmos_curate/tests`), imported once per session, plus the stand-in `micromamba` (a
test double) and this machine's CA bundle so that pip inside builds trusts the same TLS roots
as the host.
Missing `dockerd`/`debootstrap`: the tests skip, or fail when CURATE_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cosmos_curate.image import plan_image
from cosmos_curate.image.render import RenderOptions

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
MICROMAMBA_DOUBLE = HERE / "micromamba_test_double.sh"
BASE_PACKAGES = "python3,python3-venv"
BASE_REPOSITORY = "curate-test-base"
IMAGE = "curate-test-image"


def _need(tool: str) -> str:
    """Path of `tool`, else skip (or fail when CI requires its services)."""
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed (apt-get install -y docker.io debootstrap)"
        if os.environ.get("CURATE_REQUIRE_SERVICES") == "1":
            pytest.fail(message + "; CURATE_REQUIRE_SERVICES=1 requires it")
        pytest.skip(message)
    return path


def _start_dockerd(dockerd: str, root: Path, driver: str) -> subprocess.Popen[bytes] | None:
    """A dockerd on `root`/docker.sock that answers a ping; None if it exits (no such driver)."""
    import docker

    host = f"unix://{root}/docker.sock"
    with (root / f"dockerd-{driver}.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                dockerd,
                f"--data-root={root}/data-{driver}",
                f"--exec-root={root}/exec",
                f"--pidfile={root}/docker.pid",
                f"--host={host}",
                f"--storage-driver={driver}",
                "--iptables=false",
                "--bridge=none",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            docker.DockerClient(base_url=host, timeout=5).ping()
            return proc
        except Exception:
            if proc.poll() is not None:
                return None
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                tail = (root / f"dockerd-{driver}.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"dockerd did not come up: {tail}")
            time.sleep(0.5)


@pytest.fixture(scope="session")
def docker_host() -> Iterator[str]:
    """DOCKER_HOST of a dockerd this session starts (overlay2 else vfs, legacy builder)."""
    dockerd = _need("dockerd")
    # a short folder: the socket path must stay under the 108-byte unix socket limit
    root = Path(tempfile.mkdtemp(prefix="curate-dockerd-"))
    drivers = os.environ.get("CURATE_TEST_DOCKER_STORAGE", "overlay2,vfs").split(",")
    proc = None
    for driver in drivers:
        proc = _start_dockerd(dockerd, root, driver.strip())
        if proc is not None:
            break
    if proc is None:
        logs = "".join(p.read_text(errors="replace")[-1000:] for p in root.glob("*.log"))
        pytest.fail(f"dockerd did not start with any of {drivers}: {logs}")
    host = f"unix://{root}/docker.sock"
    try:
        yield host
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        # dockerd can leave its netns bind mount behind; unmount what lies under our root
        for line in Path("/proc/mounts").read_text().splitlines():
            mount_point = line.split()[1]
            if mount_point.startswith(str(root)):
                subprocess.run(["umount", "-l", mount_point], check=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def docker_client(docker_host: str) -> object:
    """A docker SDK client of the session's daemon."""
    import docker

    return docker.DockerClient(base_url=docker_host, timeout=900)


def _debootstrap_tar() -> Path:
    """bookworm minbase + python3 as a rootfs tar, made once and kept in the test cache."""
    cache = Path(
        os.environ.get("CURATE_TEST_CACHE_DIR", Path.home() / ".cache" / "cosmos_curate" / "tests")
    )
    tar_path = cache / f"bookworm-minbase-{BASE_PACKAGES.replace(',', '-')}.tar"
    if tar_path.is_file():
        return tar_path
    debootstrap = _need("debootstrap")
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="curate-rootfs-", dir=cache))
    try:
        subprocess.run(
            [
                debootstrap,
                "--variant=minbase",
                f"--include={BASE_PACKAGES}",
                "bookworm",
                str(work / "rootfs"),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        partial = work / "rootfs.tar"
        subprocess.run(
            ["tar", "--numeric-owner", "-C", str(work / "rootfs"), "-cf", str(partial), "."],
            check=True,
        )
        partial.replace(tar_path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tar_path


@pytest.fixture(scope="session")
def base_image(docker_client: object) -> str:
    """`curate-test-base:bookworm`: debootstrap rootfs + micromamba test double + CA bundle."""
    client = docker_client  # typed loosely: docker is imported lazily
    tar_path = _debootstrap_tar()
    client.api.import_image_from_file(str(tar_path), repository=BASE_REPOSITORY, tag="rootfs")  # type: ignore[attr-defined]
    dockerfile = (
        f"FROM {BASE_REPOSITORY}:rootfs\n"
        "COPY micromamba /usr/local/bin/micromamba\n"
        "COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n"
    )
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, data, mode in (
            ("Dockerfile", dockerfile.encode(), 0o644),
            ("micromamba", MICROMAMBA_DOUBLE.read_bytes(), 0o755),
            ("ca-certificates.crt", Path("/etc/ssl/certs/ca-certificates.crt").read_bytes(), 0o644),
        ):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    reference = f"{BASE_REPOSITORY}:bookworm"
    client.images.build(fileobj=context, custom_context=True, tag=reference, rm=True)  # type: ignore[attr-defined]
    return reference


def copy_project(dest: Path) -> Path:
    """The files an image build reads, with envs `default` and the test env `probe`."""
    dest.mkdir(parents=True)
    for name in ("Dockerfile.j2", "pyproject.toml"):
        shutil.copy(REPO_ROOT / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("src", "configs"):
        shutil.copytree(REPO_ROOT / name, dest / name, ignore=ignore)
    shutil.copytree(REPO_ROOT / "envs" / "default", dest / "envs" / "default")
    shutil.copytree(HERE / "envs" / "probe", dest / "envs" / "probe")
    return dest


def run_build_cli(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run `curate image build ARGS` as a process, timestamping each stderr line as it comes."""
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosmos_curate.cli.main", "image", "build", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stderr is not None and proc.stdout is not None
    lines = [(time.monotonic() - start, line) for line in proc.stderr]
    out = proc.stdout.read()
    code = proc.wait()
    return {"code": code, "out": out, "lines": lines, "seconds": time.monotonic() - start}


@pytest.fixture(scope="session")
def cold_build(
    docker_host: str, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The test image (envs `probe` and `default`) built cold through the CLI, once per session.

    The image tests check the build itself; the launcher tests run commands in it.
    """
    project = copy_project(tmp_path_factory.mktemp("image") / "project")
    env = {**os.environ, "DOCKER_HOST": docker_host, "CURATE_REPO_ROOT": str(project)}
    args = ["--envs", "probe", "--base-image", base_image, "--network", "host"]
    result = run_build_cli([*args, "--image-name", IMAGE, "--image-tag", "cold"], env)
    text = "".join(line for _, line in result["lines"])
    assert result["code"] == 0, text[-4000:]
    stats = plan_image(["probe"], repo_root=project, options=RenderOptions(base_image=base_image))
    print(
        f"\n[image] cold build {result['seconds']:.0f}s; rendered Dockerfile: "
        f"{stats.stats.instructions} instructions, {stats.stats.filesystem_layers} fs layers"
    )
    return {**result, "project": project, "env": env, "log": text}
