"""Numbers, names and exit codes the docs cite are the ones the code uses.

Each check reads the figure out of the doc's own sentence and compares it with the code, so
changing either side alone fails here.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import attrs

import cosmos_curate.pipelines
from cosmos_curate.cli import errors, pipeline_cli
from cosmos_curate.core.interfaces.errors import PipelineExecutionError
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    CuratorStageSpec,
)
from cosmos_curate.core.ray_cluster.errors import ClusterAuthError, ClusterUnreachableError
from cosmos_curate.core.runs.run import MARKER_FILE, RUN_LOG, RUN_SUMMARY
from cosmos_curate.core.runtime.stage_spec import embedded_cpus
from cosmos_curate.image import errors as image_errors
from cosmos_curate.launch.slurm import SlurmJobSpec
from cosmos_curate.pipelines.video.dedup.pipeline import VideoDedupOptions
from cosmos_curate.pipelines.video.embedding_table import TABLE_DIR
from cosmos_curate.report.series import REPORT_FILE, SERIES_FILE

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# VIDEO_PIPELINE.md stage rows whose CPUs/GPUs follow the run's options (GPU present,
# splitting algorithm, caption backend): checked by the pipeline's own tests, not here.
RESOURCES_FROM_OPTIONS = {
    "TransNetV2SplitStage", "ClipSplitStage", "ArtificialTextFilterStage",
    "ClipEmbeddingStage", "CaptionStage", "VideoEmbeddingStage", "EnhanceCaptionStage",
}  # fmt: skip
READER_NAMES = {"av": "pyav", "faiss-cpu": "faiss"}
"""Distribution names -> the names IMAGE.md gives them."""
PRE_BUILD_ERRORS = (
    image_errors.InvalidEnvNameError, image_errors.UnknownEnvError,
    image_errors.TemplateRenderError, image_errors.DockerUnavailableError,
    image_errors.InvalidNetworkError, image_errors.InvalidImageReferenceError,
)  # fmt: skip


def _text(relative: str) -> str:
    return (ROOT / relative).read_text(encoding="utf-8")


def _cited(relative: str, pattern: str) -> str:
    """The first group of `pattern` in the doc (which must cite it exactly once)."""
    found = re.findall(pattern, _text(relative), flags=re.DOTALL)
    assert len(found) == 1, f"{relative}: {pattern!r} found {len(found)} times"
    return str(found[0])


def _exit_code(exc_type: type[BaseException]) -> int:
    row = errors.row_of(exc_type)
    assert row is not None, exc_type
    return row.exit_code


def test_the_readme_exit_code_table_is_the_cli_table() -> None:
    """The README's table lists exactly the codes the CLI exits with."""
    section = _text("README.md").split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    cited = {int(code) for code in re.findall(r"^\| (\d+) \|", section, flags=re.MULTILINE)}
    exits = {v for k, v in vars(errors).items() if k.startswith("EXIT_") and isinstance(v, int)}
    assert cited == exits


def test_exit_codes_the_guides_cite() -> None:
    """Connection errors (CLUSTERS.md) and pre-build image errors (IMAGE.md) exit 2, a failed
    build 1; failed inputs under --ignore-failures 3, a stopped run 1 (DATA_AND_SECRETS.md)."""
    connect = int(_cited("docs/CLUSTERS.md", r"`curate` exits (\d+) \(nothing started\)"))
    assert connect == _exit_code(ClusterUnreachableError) == _exit_code(ClusterAuthError)
    before = int(_cited("docs/IMAGE.md", r"Exit code (\d+) for what is found before the build"))
    for error in PRE_BUILD_ERRORS:
        assert _exit_code(error) == before, error
    failed_build = int(_cited("docs/IMAGE.md", r"nothing is built\), (\d+) when the build"))
    assert failed_build == _exit_code(image_errors.BuildFailedError)
    records = _cited("docs/DATA_AND_SECRETS.md", r"where the records are and exits (\d+)")
    assert int(records) == errors.EXIT_FAILED_INPUTS
    stopped = _cited("docs/DATA_AND_SECRETS.md", r"first failed input stops the run \(exit (\d+)\)")
    assert int(stopped) == _exit_code(PipelineExecutionError)


def test_defaults_the_docs_cite() -> None:
    """CLUSTERS.md's --join-timeout default and RESULTS.md's dedup --chunk-size default."""
    join = _cited("docs/CLUSTERS.md", r"`--join-timeout`, default (\d+) s")
    assert int(join) == attrs.fields(SlurmJobSpec).join_timeout_s.default
    chunk = _cited("benchmarks/RESULTS.md", r"the pipeline's default is ([\d,]+)\)")
    assert int(chunk.replace(",", "")) == VideoDedupOptions.model_fields["chunk_size"].default


def test_num_cpus_help_says_the_embedded_cluster_may_get_more() -> None:
    """`--num-cpus` help gives the default a run really uses: this machine's logical CPUs,
    or more when one worker per stage needs more (a 2-core laptop runs hello-world on 5)."""
    needy = [CuratorStageSpec(_Cpus(float(os.cpu_count() or 1) + 1))]
    assert embedded_cpus(needy) > (os.cpu_count() or 1)
    flag = next(p for p in pipeline_cli._RUN_PARAMETERS if p.name == "num_cpus")
    help_text = flag.annotation.__metadata__[0].help
    assert "this machine's" in help_text and "or more when" in help_text, help_text


class _Cpus(CuratorStage[Any, Any]):
    def __init__(self, cpus: float) -> None:
        self._cpus = cpus

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=self._cpus)

    def process_data(self, tasks: list[Any]) -> list[Any] | None:
        return tasks


def test_results_header_dates_span_its_sections() -> None:
    """benchmarks/RESULTS.md's header gives the first and last date its sections cite."""
    header, sections = _text("benchmarks/RESULTS.md").split("\n## ", 1)
    span = re.search(r"\((\d{4}-\d\d-\d\d) to\s+(\d{4}-\d\d-\d\d)\)", header)
    assert span is not None, header
    dates = sorted(re.findall(r"\b\d{4}-\d\d-\d\d\b", sections))
    assert (span.group(1), span.group(2)) == (dates[0], dates[-1])


def _package_names(template: str, extras: dict[str, list[str]]) -> set[str]:
    """What an env's build steps install: its extras' packages, quoted pip requirements and
    micromamba packages (Python and pip aside), as a reader would look for them."""
    requirements = [r for x in re.findall(r'optional_deps\["(\w+)"\]', template) for r in extras[x]]
    requirements += re.findall(r"'([A-Za-z][\w.-]*[<>=][^']*)'", template)
    for line in re.findall(r"micromamba install -y (.*)", template):
        words = re.sub(r"\{\{.*?\}\}", "", line).split()
        requirements += [w for w in words if not w.startswith(("python", "pip"))]
    names = {re.split(r"[<>=\[ ]", r, maxsplit=1)[0].lower() for r in requirements}
    return {READER_NAMES.get(name, name) for name in names}


def test_image_env_table_lists_what_each_env_installs() -> None:
    """IMAGE.md has a row per env folder naming every package its build steps install and
    the extras they come from."""
    extras = tomllib.loads(_text("pyproject.toml"))["project"]["optional-dependencies"]
    for folder in sorted((ROOT / "envs").iterdir()):
        template = (folder / "build_steps.dockerfile.j2").read_text(encoding="utf-8")
        row = _cited("docs/IMAGE.md", rf"\n(\| `{folder.name}` \|[^\n]*)").lower()
        for extra in re.findall(r'optional_deps\["(\w+)"\]', template):
            assert f"(extra `{extra}`)" in row, (folder.name, extra)
        missing = {n for n in _package_names(template, extras) if n not in row}
        assert missing == set(), (folder.name, missing)


def _stage_classes() -> dict[str, type[CuratorStage]]:
    classes: dict[str, type[CuratorStage]] = {}
    package = cosmos_curate.pipelines
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, CuratorStage):
                classes[name] = value
    return classes


def test_video_stage_resources_the_guide_cites() -> None:
    """Every row of VIDEO_PIPELINE.md's stage tables gives the CPUs (and GPUs) the stage asks
    for; a stage in two tables has the same figure in both."""
    rows = re.findall(
        r"^\| `(\w+Stage)` \|.*\| ([\d.]+) CPU(?:, ([\d.]+) GPU)?[^|]*\|\s*$",
        _text("docs/VIDEO_PIPELINE.md"), flags=re.MULTILINE,
    )  # fmt: skip
    classes = _stage_classes()
    checked = set()
    for name, cpus, gpus in rows:
        if name in RESOURCES_FROM_OPTIONS:
            continue
        stage = object.__new__(classes[name])  # these stages' resources read no options
        resources = stage.resources
        assert (float(cpus), float(gpus or 0)) == (resources.cpus, resources.gpus), name
        checked.add(name)
    assert {"CaptionPrepStage", "VideoIngestStage", "ClipWriterStage"} <= checked
    assert {name for name, _, _ in rows} >= RESOURCES_FROM_OPTIONS


def test_file_names_the_docs_cite() -> None:
    """The embedding tables' folder (VIDEO_PIPELINE.md, where dedup reads them) and what a
    run folder holds (README's CURATE_RUNS_DIR row) are the names the code writes."""
    video = _text("docs/VIDEO_PIPELINE.md")
    assert f"OUT/{TABLE_DIR}/<video_id>.parquet" in video
    assert f"Embeddings come from `{TABLE_DIR}/<video_id>.parquet`" in video
    assert not re.search(r"embeddings/<\w+>\.parquet", video)
    row = _cited("README.md", r"\n(\| `CURATE_RUNS_DIR` \|[^\n]*)")
    for name in (MARKER_FILE, RUN_LOG, RUN_SUMMARY, SERIES_FILE, REPORT_FILE):
        assert f"`{name}`" in row, name


def test_stage_names_in_the_docs_exist() -> None:
    """Every `SomethingStage` a guide names is a class of this project."""
    source = subprocess.run(
        ["grep", "-rhoE", r"class _?[A-Z]\w*Stage\b", str(ROOT / "src")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    classes = set(re.findall(r"class (\w+)", source))
    for doc in DOCS:
        named = set(re.findall(r"`(_?[A-Z]\w*Stage)\b", doc.read_text(encoding="utf-8")))
        assert named - classes == set(), doc.name
