"""Raw videos -> `video-split` -> `video-dedup` -> `video-shard`, on the session's Ray cluster.

Planted: `scenes.mp4` (three moving scenes) plus three duplicates of it: an exact copy, the
same video re-encoded smaller at a low bitrate, and a near-identical re-render (colours
shifted by 2/255). Negative control: a video of three other scenes, which must all survive.

The tests' tiny random CLIP maps unrelated clips close together, so this test gives it
hand-set weights (`_discriminative_clip`): attention averages the patch features, so the
embedding is a fixed random projection of each frame's colours and layout. Unrelated
colours land far apart (cosine < 0.9), near-identical frames close (> 0.995).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from tests.pipelines.video import _synth

from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
from cosmos_curate.models.aesthetics import AESTHETIC_MODEL_ID
from cosmos_curate.models.clip import CLIP_MODEL_ID
from cosmos_curate.pipelines.video.dedup.pipeline import VideoDedupOptions, dedup_videos
from cosmos_curate.pipelines.video.shard.pipeline import VideoShardOptions, shard_videos
from cosmos_curate.pipelines.video.split.pipeline import VideoSplitOptions, split_videos

pytestmark = pytest.mark.integration

SCENES = ((200, 30, 30), (30, 200, 30), (30, 30, 200))
OTHER_SCENES = ((220, 220, 40), (200, 40, 200), (230, 140, 30))
DUPLICATES = ("copy.mp4", "reencoded.mp4", "near.mp4")


def _scenes(colors: tuple[tuple[int, int, int], ...], shift: int = 0) -> Iterator[Any]:
    for i, color in enumerate(colors):
        shifted = tuple(min(255, c + shift) for c in color)
        yield from _synth.moving_square(shifted, 30, start=7 * i)  # type: ignore[arg-type]


def _discriminative_clip(model_id: str) -> None:
    """Overwrite the tiny CLIP with weights whose image embedding tells colours apart."""
    import torch
    from transformers import CLIPModel

    folder = _synth.save_tiny_clip(model_id)
    model = CLIPModel.from_pretrained(folder)
    gen = torch.Generator().manual_seed(0)
    eye = torch.eye(model.config.vision_config.hidden_size)
    with torch.no_grad():
        emb = model.vision_model.embeddings
        emb.class_embedding.zero_()
        emb.position_embedding.weight.zero_()
        emb.patch_embedding.weight.copy_(
            torch.randn(emb.patch_embedding.weight.shape, generator=gen)
        )
        for layer in model.vision_model.encoder.layers:
            attn = layer.self_attn
            for proj in (attn.q_proj, attn.k_proj):  # uniform attention: a mean over patches
                proj.weight.zero_()
                proj.bias.zero_()
            for proj in (attn.v_proj, attn.out_proj):
                proj.weight.copy_(eye)
                proj.bias.zero_()
            layer.mlp.fc2.weight.zero_()
            layer.mlp.fc2.bias.zero_()
        model.visual_projection.weight.copy_(eye)
    model.save_pretrained(folder)


@pytest.fixture(scope="module")
def raw_videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("raw")
    original = _synth.write_video(folder / "scenes.mp4", _scenes(SCENES))
    (folder / "copy.mp4").write_bytes(original.read_bytes())
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(original), "-vf", "scale=128:72",
         "-c:v", "libx264", "-b:v", "60k", str(folder / "reencoded.mp4")],
        check=True,
    )  # fmt: skip
    _synth.write_video(folder / "near.mp4", _scenes(SCENES, shift=2))
    _synth.write_video(folder / "other.mp4", _scenes(OTHER_SCENES))
    return folder


@pytest.fixture(scope="module")
def flow(
    ray_cluster: dict[str, object], raw_videos: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("flow")
    out = {name: root / name for name in ("weights", "split", "dedup", "shards")}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CURATE_WEIGHTS_DIR", str(out["weights"]))
        _discriminative_clip(CLIP_MODEL_ID)
        _synth.save_tiny_aesthetic_head(AESTHETIC_MODEL_ID)
        split = VideoSplitOptions(
            input_path=str(raw_videos), output_path=str(out["split"]), min_clip_len_s=1.0,
            max_clip_len_s=10.0, skip_captions=True, workers_per_stage=1,
            # the fast frame-difference detector: the planted cuts come out whole
            splitting_algorithm="shot", min_clip_len_frames=0, crop_s=0.0,
        )  # fmt: skip
        split_videos(split, RunOptions(metrics_port=None, check_weights=False))
    dedup = VideoDedupOptions(
        input_path=str(out["split"]), output_path=str(out["dedup"]), n_clusters=2,
        workers_per_stage=1,
    )  # fmt: skip
    dedup_videos(dedup, RunOptions(metrics_port=None))
    shard = VideoShardOptions(
        input_path=str(out["split"]), output_path=str(out["shards"]), dedup_path=str(out["dedup"]),
        duration_buckets_s=[1.0], target_tar_size_mb=0.05, workers_per_stage=1,
    )  # fmt: skip
    shard_videos(shard, RunOptions(metrics_port=None))
    return out


def _groups(split: Path) -> dict[str, list[str]]:
    """Clip ids by source file name."""
    found: dict[str, list[str]] = {}
    for path in sorted((split / "metas").glob("*.json")):
        meta = json.loads(path.read_text())
        found.setdefault(Path(meta["source_video"]).name, []).append(meta["clip_id"])
    return found


def _span_key(clip_id: str) -> str:
    return clip_id.rsplit("_", 2)[1]  # start frame: the same scene in every copy


def _shard_samples(shards: Path) -> list[dict[str, Any]]:
    import webdataset as wds

    tars = sorted(str(p) for p in shards.rglob("*.tar"))
    return list(wds.WebDataset(tars, shardshuffle=False))


def test_split_finds_the_same_three_scenes_in_every_copy(flow: dict[str, Path]) -> None:
    """Each input (original, copies, control) gives three clips at the same frame spans."""
    groups = _groups(flow["split"])
    assert set(groups) == {"scenes.mp4", "other.mp4", *DUPLICATES}
    spans = {name: sorted(_span_key(c) for c in ids) for name, ids in groups.items()}
    assert all(len(s) == 3 for s in spans.values()), spans
    assert len({tuple(s) for s in spans.values()}) == 1, spans


def test_shards_hold_one_clip_per_duplicate_group_and_every_distinct_clip(
    flow: dict[str, Path],
) -> None:
    """Of each scene and its three copies exactly one clip is in the shards; the control all."""
    groups = _groups(flow["split"])
    samples = _shard_samples(flow["shards"])
    keys = [s["__key__"] for s in samples]
    assert len(keys) == len(set(keys)), "a clip is in the shards twice"
    in_shards = set(keys)
    for scene in sorted({_span_key(c) for c in groups["scenes.mp4"]}):
        members = [
            c for n in ("scenes.mp4", *DUPLICATES) for c in groups[n] if _span_key(c) == scene
        ]
        assert len(members) == 4
        assert len(in_shards & set(members)) == 1, (scene, members, sorted(in_shards))
    assert set(groups["other.mp4"]) <= in_shards, "a distinct clip was removed"
    assert len(in_shards) == 3 + 3


def test_shard_samples_are_complete_and_match_the_split_output(flow: dict[str, Path]) -> None:
    """Each sample has the clip's mp4 bytes, its metadata and its embedding."""
    for sample in _shard_samples(flow["shards"]):
        clip_id = sample["__key__"]
        assert sample["mp4"] == (flow["split"] / "clips" / f"{clip_id}.mp4").read_bytes()
        assert json.loads(sample["json"])["clip_id"] == clip_id
        vector: npt.NDArray[np.float32] = np.load(flow["split"] / "embeddings" / f"{clip_id}.npy")
        import io

        np.testing.assert_allclose(np.load(io.BytesIO(sample["npy"])), vector, atol=1e-5)


def test_dedup_summary_and_index_count_the_same_clips(flow: dict[str, Path]) -> None:
    """Dedup removes 9 of 15 clips at eps 0.01; the shard index says 6 samples in one bucket."""
    summary = json.loads((flow["dedup"] / "summary.json").read_text())
    assert summary["eps"]["0.01"] == {"kept": 6, "removed": 9, "total": 15}
    index = json.loads((flow["shards"] / "index.json").read_text())
    assert index["complete"] and index["samples"] == 6 and index["clips_removed_by_dedup"] == 9
    (bucket,) = index["buckets"]
    assert bucket["bucket"] == "resolution_0/aspect_ratio_16_9/duration_1_inf"
    wdinfo = json.loads((flow["shards"] / bucket["wdinfo"]).read_text())
    assert wdinfo["total_key_count"] == 6 and wdinfo["data_list"]
