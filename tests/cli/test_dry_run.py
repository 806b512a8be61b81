"""`curate pipeline run NAME --dry-run`: the plan, without Ray, for every shipped pipeline.

In process through the CLI's entry point (nothing here may start Ray); the connected-cluster
case reads the session cluster's shape from its head.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support import curate_in_process

from cosmos_curate.core.runtime.run_options import RunOptions
from cosmos_curate.models.tiny_random_gpt2 import save_tiny_gpt2
from cosmos_curate.pipelines import registry
from cosmos_curate.pipelines.dry_run import plan_run

HW = ("pipeline", "run", "hello-world", "--dry-run")
HW_STAGES = ["_LowerCaseStage", "_PrintStage", "_GPT2Stage", "WordCountStage"]


@pytest.fixture(autouse=True)
def _no_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_dry_run_shows_the_plan_and_the_missing_weights(tmp_path: Path) -> None:
    """Stages, CPU fallback, workers, inputs; missing weights: exit 2 with the fetch command."""
    result = curate_in_process(*HW, "--num-cpus", "6", "--num-gpus", "0")
    assert result.returncode == 2, result.stderr
    for name in HW_STAGES:
        assert name in result.stdout
    assert "6 CPUs, 0 GPUs" in result.stdout
    assert "CPU fallback" in result.stdout
    assert "2 prompts" in result.stdout and "Once upon a time" in result.stdout
    assert "would not run" in result.stdout
    (line,) = _errors(result.stderr)
    assert "curate model download --models gpt2" in line
    assert not (tmp_path / "runs").exists(), "a dry run made a run folder"


def test_dry_run_with_weights_would_run_and_json_is_the_same_plan(tmp_path: Path) -> None:
    """Weights present: exit 0; --json: one object with the stages, workers and inputs."""
    save_tiny_gpt2(tmp_path / "weights" / "openai-community" / "gpt2")
    text = curate_in_process(*HW, "--num-cpus", "6", "--num-gpus", "1")
    assert text.returncode == 0, text.stderr
    assert "would run" in text.stdout
    result = curate_in_process(*HW, "--num-cpus", "6", "--num-gpus", "1", "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["would_run"] is True and plan["problems"] == []
    assert [s["name"] for s in plan["stages"]] == HW_STAGES
    lower, _, gpt2, _ = plan["stages"]
    assert lower["workers"] == 2 and not lower["autoscaled"]  # num_workers_per_node=2
    assert gpt2["gpus"] == 1.0 and gpt2["workers"] == 1  # one GPU: one GPT-2 worker
    assert gpt2["weights"][0]["present"] is True
    assert plan["cluster"] == {
        "kind": "embedded", "address": None, "cpus": 6.0, "gpus": 1.0,
        "nodes": [{"node_id": "local", "cpus": 6.0, "gpus": 1.0}],
    }  # fmt: skip
    assert sum(s["cpus"] * s["workers"] for s in plan["stages"]) <= 6.0
    assert plan["inputs"]["count"] == 2
    assert not (tmp_path / "runs").exists()


def test_dry_run_lists_every_problem_not_only_the_first() -> None:
    """Bad --num-cpus, --require-gpu without GPUs and missing weights: three error lines."""
    result = curate_in_process(*HW, "--num-cpus", "-1", "--num-gpus", "0", "--require-gpu")
    assert result.returncode == 2, result.stderr
    errors = _errors(result.stderr)
    assert len(errors) == 3, result.stderr
    assert any("--num-cpus" in e for e in errors)
    assert any("--require-gpu" in e for e in errors)
    assert any("curate model download" in e for e in errors)
    assert "Traceback" not in result.stderr


def _split_output(root: Path, videos: int) -> None:
    """A video-split output as dedup and shard read it: metas and clips per video."""
    for v in range(videos):
        (root / "metas").mkdir(parents=True, exist_ok=True)
        (root / "clips").mkdir(parents=True, exist_ok=True)
        (root / "metas" / f"vid{v}_0_1.json").write_text("{}")
        (root / "clips" / f"vid{v}_0_1.mp4").write_bytes(b"x" * 100)


@pytest.mark.parametrize(
    ("name", "kind", "runs"),
    [("video-split", ".mp4", 1), ("image-annotate", ".jpg", 1), ("video-dedup", "split", 3),
     ("video-shard", "split", 2), ("demo-task-chunking", None, 1)],
)  # fmt: skip
def test_every_shipped_pipeline_has_a_dry_run(
    name: str, kind: str | None, runs: int, tmp_path: Path
) -> None:
    """Each pipeline shows its stages (per runtime run), its inputs and its output folder."""
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    if kind == "split":
        _split_output(inputs, 3)
    elif kind is not None:
        for i in range(3):
            (inputs / f"f{i}{kind}").write_bytes(b"x" * 10)
    paths = () if kind is None else ("--input-path", str(inputs), "--output-path", str(out))
    result = curate_in_process(
        "pipeline", "run", name, *paths, "--dry-run", "--json", "--num-cpus", "4",
        "--num-gpus", "1", "--download-missing",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["stages"], plan
    assert {s["run"] for s in plan["stages"]} == set(range(runs))
    assert plan["inputs"]["count"] == (2 if kind is None else 3)
    if kind is not None:
        assert plan["outputs"] == str(out)
        assert plan["inputs"]["bytes"] == (300 if kind == "split" else 30)
        assert not out.exists(), "a dry run created the output folder"
    assert not (tmp_path / "runs").exists()


def test_a_missing_input_is_a_problem_with_the_stages_still_shown(tmp_path: Path) -> None:
    """video-dedup over a folder with no clips: exit 2 naming it; the three runs still listed."""
    (tmp_path / "in").mkdir()
    result = curate_in_process(
        "pipeline", "run", "video-dedup", "--input-path", str(tmp_path / "in"),
        "--output-path", str(tmp_path / "out"), "--dry-run", "--num-cpus", "2",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    (line,) = _errors(result.stderr)
    assert str(tmp_path / "in") in line
    assert "ReadEmbeddingsStage" in result.stdout and "ClusterDedupStage" in result.stdout


def test_ten_thousand_input_files_are_counted_through_the_library(tmp_path: Path) -> None:
    """10,000 videos: counted, summed and the first five named in listing order."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(10_000):
        (inputs / f"v{i:05d}.mp4").write_bytes(b"ab")
    entry = registry.get_pipeline("video-split")
    options = registry.parse_options(
        entry, {"input_path": str(inputs), "output_path": str(tmp_path / "out")}
    )
    assert entry.describe is not None
    plan = plan_run(entry.name, entry.describe(options), RunOptions(num_cpus=8, num_gpus=1))
    assert plan.inputs is not None
    assert (plan.inputs.count, plan.inputs.bytes) == (10_000, 20_000)
    assert plan.inputs.first == tuple(f"v{i:05d}.mp4" for i in range(5))
    assert plan.stages and all(s.workers >= 1 for s in plan.stages)


@pytest.mark.integration
def test_dry_run_reads_the_connected_clusters_shape(
    ray_cluster: dict[str, object], tmp_path: Path
) -> None:
    """--ray-address of a running cluster: its nodes, CPUs and GPUs, read from its head."""
    import ray

    address = ray.get_runtime_context().gcs_address
    save_tiny_gpt2(tmp_path / "weights" / "openai-community" / "gpt2")
    result = curate_in_process(*HW, "--ray-address", address, "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["cluster"]["kind"] == "connected"
    assert plan["cluster"]["cpus"] == ray_cluster["cpus"]
    assert plan["cluster"]["gpus"] == ray_cluster["gpus"]
    gpt2 = plan["stages"][2]
    assert gpt2["gpus"] == 1.0 and gpt2["workers_per_node"] == [1]


def test_an_unreachable_address_is_a_problem(tmp_path: Path) -> None:
    """Nothing at --ray-address: exit 2 naming it; the plan falls back to this machine."""
    save_tiny_gpt2(tmp_path / "weights" / "openai-community" / "gpt2")
    from tests.support import free_port

    address = f"127.0.0.1:{free_port()}"
    result = curate_in_process(*HW, "--ray-address", address, "--num-cpus", "2")
    assert result.returncode == 2, result.stderr
    (line,) = _errors(result.stderr)
    assert address in line
    assert "an embedded Ray cluster" in result.stdout


@pytest.mark.parametrize(
    ("flag", "said"), [((), "4 x clips x dim"), (("--in-process",), "in this process, without Ray"),
                       (("--no-in-process",), None)],
)  # fmt: skip
def test_video_dedup_dry_run_says_whether_it_runs_in_process(
    flag: tuple[str, ...], said: str | None, tmp_path: Path
) -> None:
    """The three runs may go in process (no Ray): the plan says so, or the rule that decides."""
    _split_output(tmp_path / "in", 2)
    result = curate_in_process(
        "pipeline", "run", "video-dedup", "--input-path", str(tmp_path / "in"),
        "--output-path", str(tmp_path / "out"), "--dry-run", "--json", "--num-cpus", "2", *flag,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    notes = " ".join(json.loads(result.stdout)["notes"])
    if said is None:
        assert "in this process" not in notes
    else:
        assert said in notes


@pytest.mark.parametrize(
    ("flags", "note"),
    [((), "the stages run in this process without Ray (--no-in-process: on Ray)"),
     (("--in-process",), "--in-process: the stages run in this process, without Ray"),
     (("--no-in-process",), None), (("--workers-per-stage", "1"), None)],
)  # fmt: skip
def test_image_annotate_dry_run_says_whether_the_stages_run_here(
    flags: tuple[str, ...], note: str | None, tmp_path: Path
) -> None:
    """The plan names the in-process path when the run would take it (or the rule that would)."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jpg").write_bytes(b"x" * 10)
    result = curate_in_process(
        "pipeline", "run", "image-annotate", "--input-path", str(tmp_path / "in"),
        "--output-path", str(tmp_path / "out"), "--dry-run", "--json", "--download-missing",
        *flags,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    notes = [n for n in json.loads(result.stdout)["notes"] if "in this process" in n]
    if note is None:
        assert notes == []
    else:
        assert len(notes) == 1 and note in notes[0], notes
