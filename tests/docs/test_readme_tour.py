"""The README's five-minute tour runs as written, offline, on a CPU.

The shell commands are read from the ```bash blocks of the tour section (a line ending in `\\`
continues on the next). A command whose comment says `[tour test skips: REASON]` is not run,
and `SKIPPED` pins that list, so skipping a command is a visible README edit, never a silent
one. Every other command runs with bash in a scratch working folder, with the weights and runs
folders there, `HF_HUB_OFFLINE=1` and a tiny random GPT-2 where the real one would be; it must
exit 0 and leave what `CHECKS` says the README promises. A command the README gains without a
check fails the test until it gets one (or a skip tag).

The pipeline runs join one Ray node the test starts on loopback (`RAY_ADDRESS`, as a user with
a running cluster has it; `tests/cluster/cluster_helpers.loopback`), so each command pays for
its own work, not for starting and stopping an embedded Ray; the commands run in the node's
working folder, so relative paths mean the same to the driver and the workers. Starting an
embedded Ray is what the CLI tests' own `curate pipeline run` processes check
(tests/cli/test_pipeline_cli.py). Still minutes on 2 shared cores; one test in its own module,
hence its own xdist group (tests/lanes.py).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.cluster.cluster_helpers import loopback

from cosmos_curate.core.utils.model_utils import get_local_dir_for_weights_name
from cosmos_curate.core.weights import store
from cosmos_curate.models.gpt2 import GPT2_MODEL_ID
from cosmos_curate.models.tiny_random_gpt2 import save_tiny_gpt2
from cosmos_curate.models.transnetv2 import TRANSNETV2_MODEL_ID

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"
SKIP_TAG = re.compile(r"\[tour test skips: ([^\]]+)\]")
SKIPPED = {
    "curate model download --models gpt2": "needs the Hugging Face hub",
    "curate metrics tail --once": "needs a running pipeline",
    "curate cluster start --workers 2": "leaves a cluster running",
    "curate view clips/ --port 0": "serves until Ctrl-C",
}
SAMPLE_CLIPS = 4  # the sample's four shots, each long enough to stay a clip


def tour_commands(
    text: str, heading: str = "## A five-minute tour"
) -> list[tuple[str, str, str | None]]:
    """Each shell command of the section under `heading`: its words joined by single spaces
    (to match CHECKS and SKIPPED), the line as written, and its skip reason (None: run it)."""
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    commands: list[tuple[str, str, str | None]] = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            skip = SKIP_TAG.search(line)
            words = shlex.join(shlex.split(line, comments=True))
            commands.append((words, line, skip.group(1) if skip else None))
    return commands


def _clips(folder: Path) -> None:
    clips = sorted((folder / "clips").glob("*.mp4"))
    metas = [json.loads(p.read_text()) for p in sorted((folder / "metas").glob("*.json"))]
    assert len(clips) == len(metas) == SAMPLE_CLIPS, (clips, metas)
    assert (folder / "summary.json").is_file()


def _pipeline_list(work: Path, proc: subprocess.CompletedProcess[str]) -> None:
    assert {"hello-world", "demo-task-chunking", "video-split"} <= set(proc.stdout.split())


def _hello(work: Path, proc: subprocess.CompletedProcess[str]) -> None:
    assert "once upon a time" in proc.stdout and "word_count" in proc.stdout, proc.stdout


def _chunking(work: Path, proc: subprocess.CompletedProcess[str]) -> None:
    assert re.search(r"inputs 2\s+outputs 9\b", proc.stdout), proc.stdout  # 1 -> N


def _model_list(work: Path, proc: subprocess.CompletedProcess[str]) -> None:
    assert "transnetv2" in proc.stdout and GPT2_MODEL_ID in proc.stdout


def _image_dry_run(work: Path, proc: subprocess.CompletedProcess[str]) -> None:
    assert "envs: transformers, video" in proc.stdout + proc.stderr


def _sample(work: Path, proc: subprocess.CompletedProcess[str]) -> None:
    assert (work / "videos" / "sample.mp4").stat().st_size > 0
    assert "20 s, cuts at 5, 10, 15 s" in proc.stdout


def _split_shot(work: Path, proc: subprocess.CompletedProcess[str]) -> None:
    _clips(work / "clips-shot")


def _transnetv2_download(work: Path, proc: subprocess.CompletedProcess[str]) -> None:
    manifest = store.read_manifest(get_local_dir_for_weights_name(TRANSNETV2_MODEL_ID))
    assert manifest is not None and manifest.verified, proc.stderr


def _split_default(work: Path, proc: subprocess.CompletedProcess[str]) -> None:
    _clips(work / "clips")
    metas = [json.loads(p.read_text()) for p in (work / "clips" / "metas").glob("*.json")]
    assert {m["models"]["split"] for m in metas} == {TRANSNETV2_MODEL_ID}


Check = Callable[[Path, subprocess.CompletedProcess[str]], None]
# (start of the command, what the README says it leaves); every command run needs one.
CHECKS: tuple[tuple[str, Check], ...] = (
    ("curate pipeline list", _pipeline_list),
    ("curate pipeline run hello-world", _hello),
    ("curate pipeline run demo-task-chunking", _chunking),
    ("curate model list", _model_list),
    ("curate image build", _image_dry_run),
    ("python -m cosmos_curate.pipelines.video.sample_video", _sample),
    ("curate pipeline run video-split --input-path videos/ --output-path clips-shot/",
     _split_shot),
    ("curate model download --models transnetv2", _transnetv2_download),
    ("curate pipeline run video-split --input-path videos/ --output-path clips/",
     _split_default),
)


def _check_for(command: str) -> Check:
    found = [check for start, check in CHECKS if command.startswith(start)]
    assert len(found) == 1, f"README tour command without one check (add it to CHECKS): {command}"
    return found[0]


def test_tour_commands_parse_with_their_skip_reasons() -> None:
    """The tour has runnable commands; the skipped ones are exactly SKIPPED, with reasons."""
    commands = tour_commands(README.read_text(encoding="utf-8"))
    skipped = {words: reason for words, _, reason in commands if reason is not None}
    assert skipped == SKIPPED
    assert len(commands) - len(skipped) == len(CHECKS)
    for words, _, reason in commands:
        if reason is None:
            _check_for(words)


def test_every_tour_command_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a fresh working folder, offline, with a running Ray node: each command exits 0 and
    leaves what it promises."""
    (tmp_path / "cluster").mkdir()
    with loopback(tmp_path / "cluster") as cluster:
        # The node's weights folder is the one the commands use (and the checks read).
        monkeypatch.setenv("CURATE_WEIGHTS_DIR", str(cluster.weights_dir))
        save_tiny_gpt2(get_local_dir_for_weights_name(GPT2_MODEL_ID))  # what the quickstart does
        work = cluster.workdir  # empty; CURATE_RUNS_DIR: tmp_path (conftest)
        env = {**cluster.env, "HF_HUB_OFFLINE": "1"}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        for words, command, reason in tour_commands(README.read_text(encoding="utf-8")):
            if reason is not None:
                continue
            check = _check_for(words)
            proc = subprocess.run(["bash", "-c", command], cwd=work, env=env,
                                  capture_output=True, text=True, timeout=900, check=False)
            assert proc.returncode == 0, f"{command}\n{proc.stderr[-3000:]}"
            if words.startswith("curate pipeline run"):
                assert "report:" in proc.stderr and "log:" in proc.stderr, proc.stderr[-2000:]
            check(work, proc)
