"""A real `curate image build` against a Docker daemon, then `docker run` of the image.

The image is built from the debootstrap base (conftest) with the stand-in micromamba, the
shipped `default` env and the small test env `probe` (tests/image/envs/probe). Inside the
container `curate pipeline run env-probe` must run its stage with the probe env's Python.
The project is a copy (CURATE_REPO_ROOT) so the code-change rebuild never touches the repo.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from tests.image.docker_fixtures import IMAGE
from tests.support import free_port

from cosmos_curate.image import BuildFailedError, PushFailedError, build_image, plan_image
from cosmos_curate.image.build import push_image
from cosmos_curate.image.render import LABEL_BUILT_BY, LABEL_ENVS, RenderOptions

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]

pytestmark = [pytest.mark.docker, pytest.mark.integration, pytest.mark.timeout(1800)]


def test_cold_build_streams_log_and_reports_the_image(
    cold_build: dict[str, Any], docker_client: Any
) -> None:
    """The build log arrives while building; the result names id, size and envs (also labels)."""
    lines = cold_build["lines"]
    first_step = next(t for t, line in lines if line.startswith("Step 1/"))
    # streamed live: the first step is printed long before the build ends
    assert cold_build["seconds"] - first_step > 10
    assert "micromamba test double: created venv /opt/conda/envs/probe" in cold_build["log"]
    out = cold_build["out"]
    assert f"image   {IMAGE}:cold\n" in out and "envs    probe, default\n" in out
    assert "id      sha256:" in out
    image = docker_client.images.get(f"{IMAGE}:cold")
    labels = image.labels
    assert labels[LABEL_ENVS] == "probe,default"
    assert labels[LABEL_BUILT_BY] == "curate image build"
    config = image.attrs["Config"]
    assert "CURATE_ENVS_DIR=/opt/conda/envs" in config["Env"]
    assert {"9002/tcp", "6379/tcp", "10001/tcp", "8265/tcp"} <= set(config["ExposedPorts"])
    print(f"[image] {len(image.attrs['RootFS']['Layers'])} filesystem layers incl. base")


def test_image_runs_curate_pipeline_with_stage_in_the_env_python(
    cold_build: dict[str, Any], docker_client: Any
) -> None:
    """`docker run IMAGE curate pipeline run env-probe`: the stage runs in probe's Python.

    The driver runs in the default env; setup and processing in /opt/conda/envs/probe.
    """
    container = docker_client.containers.run(
        f"{IMAGE}:cold",
        ["curate", "pipeline", "run", "env-probe", "--num-cpus", "2", "--no-progress"],
        environment={
            "PYTHONPATH": "/opt/curate-probe:/opt/cosmos-curate/src",
            "HF_HUB_OFFLINE": "1",
        },
        volumes={str(HERE / "probe"): {"bind": "/opt/curate-probe", "mode": "ro"}},
        network_mode="none",
        shm_size="512m",
        detach=True,
    )
    try:
        status = container.wait(timeout=600)
        logs = container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
    assert status["StatusCode"] == 0, logs[-4000:]
    probes = [line for line in logs.splitlines() if line.startswith("ENV_PROBE ")]
    assert len(probes) == 2, logs[-4000:]
    for line in probes:
        assert line == (
            "ENV_PROBE driver=/opt/conda/envs/default/bin/python "
            "setup=/opt/conda/envs/probe/bin/python process=/opt/conda/envs/probe/bin/python"
        )


def test_entrypoint_runs_curate_subcommands_directly(
    cold_build: dict[str, Any], docker_client: Any
) -> None:
    """`docker run IMAGE image build --dry-run` is `curate image build --dry-run` in the image."""
    output = docker_client.containers.run(
        f"{IMAGE}:cold",
        ["image", "build", "--envs", "probe", "--dry-run"],
        network_mode="none",
        remove=True,
        stderr=False,
    ).decode()
    assert output.startswith("# Rendered from Dockerfile.j2")
    assert output.rstrip().endswith("COPY . /opt/cosmos-curate")


def test_image_list_shows_the_envs_from_labels(
    cold_build: dict[str, Any], docker_host: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """`curate image list` shows images built by the tool with their envs, not the base image."""
    from cosmos_curate.cli.main import main

    monkeypatch.setenv("DOCKER_HOST", docker_host)
    with pytest.raises(SystemExit) as info:  # click's standalone mode exits, 0 on success
        main(["image", "list"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["IMAGE", "ID", "ENVS", "SIZE", "CREATED"]
    row = next(line for line in out.splitlines() if f"{IMAGE}:cold" in line)
    assert row.split()[2] == "probe,default"
    assert "curate-test-base" not in out


def test_failing_recipe_step_is_one_line_naming_the_step(
    cold_build: dict[str, Any], docker_client: Any, base_image: str
) -> None:
    """A RUN that fails stops the build with one line naming the step and the exit code."""
    project = cold_build["project"]
    broken = project / "envs" / "broken"
    broken.mkdir()
    (broken / "build_steps.dockerfile.j2").write_text("RUN echo about to fail && exit 7\n")
    image = plan_image(["broken"], repo_root=project, options=RenderOptions(base_image=base_image))
    logged: list[str] = []
    with pytest.raises(BuildFailedError) as info:
        build_image(
            image,
            image_name=IMAGE,
            image_tag="broken",
            repo_root=project,
            on_log=logged.append,
            client=docker_client,
        )
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("docker build failed at Step ")
    assert "RUN echo about to fail && exit 7" in message
    assert message.endswith("returned a non-zero code: 7")
    assert any("about to fail" in line for line in logged)
    shutil.rmtree(broken)


def test_push_to_unreachable_registry_is_one_line(
    cold_build: dict[str, Any], docker_client: Any
) -> None:
    """--push to a registry nobody serves fails with one line naming the image."""
    reference = f"127.0.0.1:{free_port()}/{IMAGE}:push"  # a port nothing listens on
    repository, _, tag = reference.rpartition(":")
    docker_client.images.get(f"{IMAGE}:cold").tag(repository, tag)
    with pytest.raises(PushFailedError) as info:
        push_image(reference, client=docker_client)
    assert str(info.value).startswith(f"push of {reference} failed: ")
    assert "\n" not in str(info.value)


def test_code_only_change_rebuilds_only_the_code_layer(
    cold_build: dict[str, Any], docker_client: Any, base_image: str
) -> None:
    """After a code edit only the last layer (the code COPY) differs; envs come from cache."""
    project = cold_build["project"]
    init = project / "src" / "cosmos_curate" / "__init__.py"
    init.write_text(init.read_text() + "# a code-only change\n")
    image = plan_image(["probe"], repo_root=project, options=RenderOptions(base_image=base_image))
    start = time.monotonic()
    result = build_image(
        image,
        image_name=IMAGE,
        image_tag="rebuild",
        network_mode="host",
        repo_root=project,
        client=docker_client,
    )
    seconds = time.monotonic() - start
    cold = docker_client.images.get(f"{IMAGE}:cold").attrs["RootFS"]["Layers"]
    warm = docker_client.images.get(result.image_id).attrs["RootFS"]["Layers"]
    print(
        f"\n[image] rebuild after a code-only change {seconds:.0f}s "
        f"(cold {cold_build['seconds']:.0f}s)"
    )
    assert len(warm) == len(cold)
    assert warm[:-1] == cold[:-1]
    assert warm[-1] != cold[-1]
    assert seconds < cold_build["seconds"]
