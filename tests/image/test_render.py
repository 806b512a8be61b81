"""Rendering Dockerfile.j2 with the env recipes: order, variables, strictness, bad names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cosmos_curate.image import (
    InvalidEnvNameError,
    RenderOptions,
    TemplateRenderError,
    UnknownEnvError,
    plan_image,
)
from cosmos_curate.image.render import dockerfile_stats, project_dependencies

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_ENVS = ("default", "transformers", "video")


def env_blocks(dockerfile: str) -> list[str]:
    """Env names in the order their blocks appear in a rendered Dockerfile."""
    return [
        line.split()[3].rstrip(":")
        for line in dockerfile.splitlines()
        if line.startswith("# ---- env ")
    ]


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A copy of the templates and pyproject that a test may edit."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(REPO_ROOT / "Dockerfile.j2", root)
    shutil.copy(REPO_ROOT / "pyproject.toml", root)
    shutil.copytree(REPO_ROOT / "envs", root / "envs")
    return root


@pytest.mark.parametrize("env", SHIPPED_ENVS)
def test_each_shipped_env_renders_alone_before_default(env: str) -> None:
    """Each shipped env renders on its own, always followed by `default` (the runtime)."""
    image = plan_image([env], repo_root=REPO_ROOT)
    expected = ["default"] if env == "default" else [env, "default"]
    assert image.envs == tuple(expected)
    assert env_blocks(image.dockerfile) == expected
    text = image.dockerfile
    assert "{{" not in text and "{%" not in text
    assert f"RUN micromamba create -y -p /opt/conda/envs/{env}" in text
    assert f"/opt/conda/envs/{env}/bin/python -m pip install" in text
    assert "ENV CONDA_PREFIX=/opt/conda/envs/" + env in text


def test_all_envs_together_in_one_image_with_code_last() -> None:
    """All envs in one Dockerfile: others sorted, default last, labels, then the code COPY."""
    image = plan_image(["video", "transformers", "video"], repo_root=REPO_ROOT)
    assert image.envs == ("transformers", "video", "default")
    assert env_blocks(image.dockerfile) == ["transformers", "video", "default"]
    instructions = [ln for ln in image.dockerfile.splitlines() if ln and ln[0].isupper()]
    assert instructions[0].startswith("FROM ")
    assert instructions[-1] == "COPY . /opt/cosmos-curate"
    assert instructions[-2] == (
        'LABEL org.cosmos-curate.built-by="curate image build" '
        'org.cosmos-curate.envs="transformers,video,default" org.cosmos-curate.version="0.1.0"'
    )
    assert sum(ln.startswith("COPY") for ln in instructions) == 1
    # the image is active in the default env and runtime settings point at the env prefix
    env_lines = [ln for ln in image.dockerfile.splitlines() if ln.startswith("ENV CONDA_PREFIX=")]
    last_env = env_lines[-1]
    assert last_env == "ENV CONDA_PREFIX=/opt/conda/envs/default \\"
    assert "CURATE_ENVS_DIR=/opt/conda/envs" in image.dockerfile
    assert "EXPOSE 6379 10001 8265 9002" in image.dockerfile
    assert 'ENTRYPOINT ["/usr/local/bin/curate-entrypoint"]' in image.dockerfile


def test_env_order_does_not_depend_on_the_order_given() -> None:
    """`--envs a,b` and `--envs b,a` render the same Dockerfile (one build cache)."""
    first = plan_image(["video", "transformers"], repo_root=REPO_ROOT)
    second = plan_image(["transformers", "video", "default"], repo_root=REPO_ROOT)
    assert first.dockerfile == second.dockerfile


def test_install_regular_deps_lists_every_runtime_dependency_of_pyproject() -> None:
    """install_regular_cosmos_curator_deps_str installs pyproject's dependencies in that env."""
    deps, extras = project_dependencies(REPO_ROOT)
    image = plan_image(["transformers"], repo_root=REPO_ROOT)
    line = next(
        ln
        for ln in image.dockerfile.splitlines()
        if ln.startswith("RUN /opt/conda/envs/transformers/bin/python -m pip install")
    )
    for dep in deps:
        assert f"'{dep}'" in line or f" {dep}" in line, dep
    # the transformers env gets the `models` extra (torch, transformers) from pyproject
    for req in extras["models"]:
        assert req in image.dockerfile


def test_cache_mounts_only_for_buildkit() -> None:
    """cache_mount_str is empty for the legacy builder and a cache mount under BuildKit."""
    legacy = plan_image(["video"], repo_root=REPO_ROOT)
    assert "--mount=" not in legacy.dockerfile
    assert "PIP_NO_CACHE_DIR=1" in legacy.dockerfile
    assert "# syntax=" not in legacy.dockerfile
    kit = plan_image(["video"], repo_root=REPO_ROOT, options=RenderOptions(buildkit=True))
    assert kit.dockerfile.startswith("# syntax=docker/dockerfile:1")
    assert "RUN --mount=type=cache,target=/root/.cache/pip" in kit.dockerfile
    assert "PIP_NO_CACHE_DIR" not in kit.dockerfile


def test_base_image_and_python_version_are_variables() -> None:
    """--base-image and the python version reach FROM and each env's python install."""
    image = plan_image(
        ["transformers"],
        repo_root=REPO_ROOT,
        options=RenderOptions(base_image="example.org/base:1", python_version="3.12"),
    )
    assert "\nFROM example.org/base:1\n" in image.dockerfile
    assert image.dockerfile.count("micromamba install -y python=3.12 pip") == 2


@pytest.mark.parametrize("name", ["../x", "a/b", "/etc", "", ".hidden", "a b", "x;rm -rf /", "é"])
def test_unsafe_env_names_are_rejected_listing_known_envs(name: str) -> None:
    """Names with anything but letters, digits, '-', '_' are refused with the known envs."""
    with pytest.raises(InvalidEnvNameError) as info:
        plan_image([name], repo_root=REPO_ROOT)
    message = str(info.value)
    assert "\n" not in message
    assert repr(name) in message
    assert "known envs: default, transformers, video" in message


def test_unknown_env_is_rejected_listing_known_envs() -> None:
    """An env without a recipe folder is an error naming it and the known envs."""
    with pytest.raises(UnknownEnvError, match=r"unknown env 'nope'.*known envs: default, "):
        plan_image(["transformers", "nope"], repo_root=REPO_ROOT)


def test_undefined_variable_names_env_file_and_line(repo_copy: Path) -> None:
    """StrictUndefined: an unknown variable fails, naming the snippet file and its line."""
    recipe = repo_copy / "envs" / "video" / "build_steps.dockerfile.j2"
    recipe.write_text("RUN echo one\n\nRUN pip install {{ torch_version }}\n")
    with pytest.raises(TemplateRenderError) as info:
        plan_image(["video"], repo_root=repo_copy)
    message = str(info.value)
    assert message.startswith(
        "envs/video/build_steps.dockerfile.j2 line 3: 'torch_version' is undefined"
    )
    assert "install_regular_cosmos_curator_deps_str" in message  # lists what is defined
    assert "\n" not in message


def test_unknown_extra_is_undefined_too(repo_copy: Path) -> None:
    """A missing key of optional_deps is an error, never an empty `pip install`."""
    recipe = repo_copy / "envs" / "video" / "build_steps.dockerfile.j2"
    recipe.write_text("RUN pip install {{ optional_deps['nope'] }}\n")
    expected = r"^envs/video/build_steps.dockerfile.j2 line 1: "
    with pytest.raises(TemplateRenderError, match=expected):
        plan_image(["video"], repo_root=repo_copy)


def test_syntax_error_names_file_and_line(repo_copy: Path) -> None:
    """A jinja syntax error in a snippet names the snippet and the line."""
    recipe = repo_copy / "envs" / "transformers" / "build_steps.dockerfile.j2"
    recipe.write_text("RUN true\n{% if %}\n")
    with pytest.raises(TemplateRenderError) as info:
        plan_image(["transformers"], repo_root=repo_copy)
    assert str(info.value).startswith(
        "envs/transformers/build_steps.dockerfile.j2 line 2: template syntax error"
    )


def test_error_in_main_template_names_dockerfile_j2(repo_copy: Path) -> None:
    """An undefined variable in Dockerfile.j2 itself names Dockerfile.j2 and its line."""
    template = repo_copy / "Dockerfile.j2"
    lines = template.read_text().splitlines()
    lines.append("# {{ not_a_variable }}")
    template.write_text("\n".join(lines) + "\n")
    expected = rf"^Dockerfile.j2 line {len(lines)}: 'not_a_variable' is undefined"
    with pytest.raises(TemplateRenderError, match=expected):
        plan_image([], repo_root=repo_copy)


def test_missing_default_env_is_an_error(repo_copy: Path) -> None:
    """Without envs/default (the runtime) there is no image to build."""
    shutil.rmtree(repo_copy / "envs" / "default")
    with pytest.raises(UnknownEnvError, match="'default' env"):
        plan_image(["video"], repo_root=repo_copy)


def test_layer_counts() -> None:
    """Stats count instructions and filesystem layers, skipping comments and continuations."""
    text = (
        "# syntax=docker/dockerfile:1\nFROM x\nARG A=1\nENV A=1 \\\n    B=2\n"
        "RUN a \\\n    # a comment inside\n    && b\nCOPY . /c\nLABEL x=y\n"
    )
    stats = dockerfile_stats(text)
    assert (stats.instructions, stats.filesystem_layers) == (4, 2)
    shipped = plan_image(["transformers", "video"], repo_root=REPO_ROOT)
    lines = shipped.dockerfile.splitlines()
    # in the shipped templates every RUN/COPY starts a line; continuations are indented
    assert shipped.stats.filesystem_layers == sum(ln.startswith(("RUN ", "COPY ")) for ln in lines)
    assert shipped.stats.filesystem_layers >= 2 + 3 * 2  # micromamba, code, 2+ per env
