"""Whether a download was verified against its source: in the manifest, in `curate model list`,
and enforced for models that run their checkpoint's own code (`trust_remote_code`)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from tests.core.weights.fake_hf_hub import FakeHub
from tests.core.weights.weights_testlib import GPT2_ID, GPT2_SHA, subprocess_env, write_registry
from tests.pipelines.video import _annotation_fakes as fakes

from cosmos_curate.core.utils.model_utils import get_local_dir_for_weights_name
from cosmos_curate.core.weights import store as weights_store
from cosmos_curate.core.weights.check import check_weights
from cosmos_curate.core.weights.download import download_model
from cosmos_curate.core.weights.errors import UnverifiedWeightsError
from cosmos_curate.core.weights.registry import ModelEntry
from cosmos_curate.core.weights.store import WeightsState
from cosmos_curate.models.video_embedder import VideoEmbedder, VideoEmbedPreprocessor
from cosmos_curate.pipelines.video.embedding import VideoEmbedPrepStage

pytestmark = pytest.mark.integration
CURATE = str(Path(sys.executable).parent / "curate")
VIDEO_ID = fakes.TINY_VIDEO_EMBED_ID
VIDEO_SHA = "7" * 40
ALLOW = "CURATE_ALLOW_UNVERIFIED_WEIGHTS"


def _list_row(name: str, registry: Path) -> list[str]:
    proc = subprocess.run([CURATE, "model", "list", "--models-config", str(registry)],
                          capture_output=True, text=True, timeout=120, check=False,
                          env=subprocess_env(COLUMNS="250"))
    assert proc.returncode == 0, proc.stderr
    rows = [[c.strip() for c in line.split("│")[1:-1]]
            for line in proc.stdout.splitlines() if "│" in line]
    return next(row for row in rows if row[0] == name)


@pytest.fixture
def video_files(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
                ) -> dict[str, bytes]:
    """The tiny video embedder's files (its own modeling code included), as a hub repo."""
    with monkeypatch.context() as mp:
        mp.setenv("CURATE_WEIGHTS_DIR", str(tmp_path_factory.mktemp("made")))
        folder = fakes.save_tiny_video_embedder(VIDEO_ID)
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def video_registry(registry_file: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A registry naming the tiny video embedder `tinyvid` (and gpt2), used by every reader."""
    write_registry(registry_file, {
        "tinyvid": {"model_id": VIDEO_ID, "version": VIDEO_SHA},
        "gpt2": {"model_id": GPT2_ID, "version": GPT2_SHA},
    })
    monkeypatch.setenv("CURATE_MODELS_CONFIG", str(registry_file))
    return registry_file


def _load_both() -> None:
    VideoEmbedPreprocessor(VIDEO_ID).setup()
    VideoEmbedder(VIDEO_ID).setup()


def test_hub_download_is_verified_and_listed_so(
    hub_env: FakeHub, video_files: dict[str, bytes], video_registry: Path
) -> None:
    """Every file matched the hub's checksums of the pin: `verified: true`, list says yes.

    The checkpoint's own code then loads without any opt-in.
    """
    hub_env.add_commit(VIDEO_ID, VIDEO_SHA, video_files)
    download_model("tinyvid", ModelEntry(model_id=VIDEO_ID, version=VIDEO_SHA))
    manifest = weights_store.read_manifest(get_local_dir_for_weights_name(VIDEO_ID))
    assert manifest is not None and manifest.verified
    assert manifest.verified_against.startswith(f"hub {hub_env.url} revision {VIDEO_SHA}")
    assert _list_row("tinyvid", video_registry)[-2:] == ["complete", "yes"]
    _load_both()


def test_extra_file_in_a_verified_folder_is_refused(
    hub_env: FakeHub, video_files: dict[str, bytes], video_registry: Path
) -> None:
    """A file the download did not bring (e.g. dropped-in code) makes the folder untrusted."""
    hub_env.add_commit(VIDEO_ID, VIDEO_SHA, video_files)
    download_model("tinyvid", ModelEntry(model_id=VIDEO_ID, version=VIDEO_SHA))
    (get_local_dir_for_weights_name(VIDEO_ID) / "sitecustomize.py").write_text("import os\n")
    with pytest.raises(UnverifiedWeightsError, match=r"did not bring: sitecustomize\.py"):
        VideoEmbedder(VIDEO_ID).setup()


def test_hand_placed_weights_are_refused_unless_opted_in(
    video_registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No manifest: both model classes refuse with the fix and the setting; opting in loads."""
    monkeypatch.delenv(ALLOW, raising=False)
    folder = fakes.save_tiny_video_embedder(VIDEO_ID)
    for model in (VideoEmbedPreprocessor(VIDEO_ID), VideoEmbedder(VIDEO_ID)):
        with pytest.raises(UnverifiedWeightsError) as info:
            model.setup()
        text = str(info.value)
        assert str(folder) in text and "no download manifest" in text
        assert "curate model download --models tinyvid --force" in text
        assert f"{ALLOW}=1" in text and "\n" not in text
    monkeypatch.setenv(ALLOW, "1")
    _load_both()


def test_run_is_refused_before_workers_start(
    video_registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver's weights check refuses the stage (exit 2 class) unless the user opts in."""
    monkeypatch.delenv(ALLOW, raising=False)
    fakes.save_tiny_video_embedder(VIDEO_ID)
    stages = [VideoEmbedPrepStage(VideoEmbedPreprocessor(VIDEO_ID), 1.0)]
    with pytest.raises(UnverifiedWeightsError, match="no download manifest"):
        check_weights(stages)
    monkeypatch.setenv(ALLOW, "1")
    check_weights(stages)


def test_s3_copy_without_manifest_is_unverified_and_refused(
    s3_env: str, video_files: dict[str, bytes], video_registry: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """S3 files checked against nothing: complete, but `verified: false`, listed `no`, refused."""
    monkeypatch.delenv(ALLOW, raising=False)
    bucket = f"b-{uuid.uuid4().hex[:10]}"
    client = boto3.client("s3")
    client.create_bucket(Bucket=bucket)
    for name, data in video_files.items():
        client.put_object(Bucket=bucket, Key=f"w/{VIDEO_ID}/{name}", Body=data)
    proc = subprocess.run([CURATE, "model", "download", "--models", "tinyvid",
                           "--model-weights-prefix", f"s3://{bucket}/w"],
                          capture_output=True, text=True, timeout=120, check=False,
                          env=subprocess_env())
    assert proc.returncode == 0, proc.stderr
    manifest = weights_store.read_manifest(get_local_dir_for_weights_name(VIDEO_ID))
    assert manifest is not None and manifest.revision == VIDEO_SHA and not manifest.verified
    assert _list_row("tinyvid", video_registry)[-2:] == ["complete", "no"]
    with pytest.raises(UnverifiedWeightsError, match=f"from s3://{bucket}/w was not checked"):
        VideoEmbedder(VIDEO_ID).setup()


def test_old_manifest_counts_as_complete_but_not_verified(
    hub_env: FakeHub, video_files: dict[str, bytes], video_registry: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A manifest written before the field existed: still complete (no re-download), not trusted."""
    monkeypatch.delenv(ALLOW, raising=False)
    hub_env.add_commit(VIDEO_ID, VIDEO_SHA, video_files)
    entry = ModelEntry(model_id=VIDEO_ID, version=VIDEO_SHA)
    download_model("tinyvid", entry)
    path = get_local_dir_for_weights_name(VIDEO_ID) / weights_store.MANIFEST_NAME
    raw = json.loads(path.read_text())
    del raw["verified"], raw["verified_against"]
    path.write_text(json.dumps(raw))
    assert weights_store.weights_status(entry, deep=True).state is WeightsState.COMPLETE
    assert download_model("tinyvid", entry).skipped
    assert _list_row("tinyvid", video_registry)[-2:] == ["complete", "no"]
    with pytest.raises(UnverifiedWeightsError, match="was not checked against checksums"):
        VideoEmbedPreprocessor(VIDEO_ID).setup()
