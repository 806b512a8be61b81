"""`curate view` over real video-dedup and video-shard outputs: a server process, real HTTP."""

from __future__ import annotations

import json
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tests.support import curate_in_process
from tests.view._output import (
    EMBEDDINGS,
    Viewer,
    dedup_and_shard,
    get,
    get_json,
    make_output,
)

from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.video.shard.dedup_filter import removed_ids

pytestmark = pytest.mark.integration

KITE0, KITE60, CITY = EMBEDDINGS


@pytest.fixture(scope="module")
def outputs(
    ray_cluster: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, Path, Path]:
    """(split, dedup, shards, runs): the split written by its writer, then the two pipelines."""
    root = tmp_path_factory.mktemp("view-dedup")
    runs = root / "runs"
    split = make_output(root, runs)
    dedup, shards = dedup_and_shard(root, split)
    return split, dedup, shards, runs


@pytest.fixture(scope="module")
def dedup_viewer(outputs: tuple[Path, Path, Path, Path]) -> Iterator[Viewer]:
    served = Viewer.start(outputs[1], outputs[3])  # the split found from the run's summary
    yield served
    served.stop()


@pytest.fixture(scope="module")
def shard_viewer(outputs: tuple[Path, Path, Path, Path]) -> Iterator[Viewer]:
    served = Viewer.start(outputs[2], outputs[3], "--split", str(outputs[0]))
    yield served
    served.stop()


def _pairs(viewer: Viewer, query: str) -> dict[str, object]:
    return get_json(viewer.base() + "api/dedup?" + query)


def test_each_eps_keeps_and_removes_what_the_run_wrote(
    dedup_viewer: Viewer, outputs: tuple[Path, Path, Path, Path]
) -> None:
    """Per eps the run computed: the counts of its summary, the ids video-shard would drop."""
    _, dedup, _, _ = outputs
    summary = json.loads((dedup / "summary.json").read_text())
    for eps, removed in ((0.01, 0), (0.05, 1), (0.3, 2)):
        data = _pairs(dedup_viewer, f"eps={eps}")
        assert data["eps_values"] == [0.01, 0.05, 0.3]
        assert (data["eps"], data["removed"], data["kept"], data["total"]) == (
            eps,
            removed,
            3 - removed,
            3,
        )
        tag = f"{eps:g}"
        assert summary["eps"][tag] == {"kept": data["kept"], "removed": removed, "total": 3}
        shown = {p["removed"]["id"] for p in data["pairs"]}  # type: ignore[attr-defined]
        assert shown == removed_ids(str(dedup), eps, StorageOptions())
    # the items API is the split's: the dedup output's grid is the clips it deduplicated
    assert get_json(dedup_viewer.base() + "api/items")["total"] == 3


def test_a_removed_clip_stands_beside_the_clip_it_duplicates(dedup_viewer: Viewer) -> None:
    """At eps 0.05 kite-0 is removed as a near-copy of kite-60 (cosine 0.970), both playable."""
    data = _pairs(dedup_viewer, "eps=0.05")
    [pair] = data["pairs"]  # type: ignore[misc]
    assert (pair["removed"]["id"], pair["duplicate_of"]["id"]) == (KITE0, KITE60)
    assert pair["similarity"] == pytest.approx(1 / np.sqrt(1.0625), abs=1e-4)
    for side in ("removed", "duplicate_of"):
        status, _, body = get(dedup_viewer.base() + pair[side]["media"].lstrip("/"))
        assert status == 200 and body[4:8] == b"ftyp"
    assert data["clusters"] == [{"cluster": 0, "size": 3, "removed": 1}]
    wide = _pairs(dedup_viewer, "eps=0.3")["pairs"]
    assert [(p["removed"]["id"], p["duplicate_of"]["id"]) for p in wide] == [  # type: ignore[attr-defined]
        (KITE0, KITE60),
        (KITE60, CITY),
    ]
    assert _pairs(dedup_viewer, "eps=0.3&cluster=7")["pairs"] == []
    assert _pairs(dedup_viewer, "eps=0.2")["eps"] == 0.3  # snapped to the run's nearest eps


def test_shard_buckets_tars_and_samples(
    shard_viewer: Viewer, outputs: tuple[Path, Path, Path, Path]
) -> None:
    """Buckets with their tars; a tar's samples are the clips dedup kept at eps 0.05."""
    data = get_json(shard_viewer.base() + "api/shards")
    assert data["samples"] == 2 and data["complete"] is True
    [bucket] = data["buckets"]  # type: ignore[misc]
    assert bucket["name"] == "other" and bucket["samples"] == 2
    [tar] = bucket["tars"]
    assert tar["bytes"] == (outputs[2] / tar["path"]).stat().st_size
    samples = get_json(shard_viewer.base() + "api/tar/" + tar["path"])["samples"]
    assert sorted(s["key"] for s in samples) == sorted([KITE60, CITY])  # type: ignore[attr-defined]
    for sample in samples:  # type: ignore[attr-defined]
        assert sorted(m["ext"] for m in sample["members"]) == ["json", "mp4", "npy", "txt"]


def test_a_member_streams_out_of_its_tar_with_ranges(
    shard_viewer: Viewer, outputs: tuple[Path, Path, Path, Path]
) -> None:
    """A sample's mp4 is the clip's bytes, whole or by Range (206); past its end is 416."""
    split, _, shards, _ = outputs
    tar_path = next((shards / "other").rglob("*.tar")).relative_to(shards).as_posix()
    with tarfile.open(shards / tar_path) as opened:
        caption = opened.extractfile(f"{CITY}.txt").read()  # type: ignore[union-attr]
    url = f"{shard_viewer.base()}member/{tar_path}?name={CITY}.mp4"
    whole = (split / "clips" / f"{CITY}.mp4").read_bytes()
    status, headers, body = get(url)
    assert status == 200 and body == whole and headers["content-type"] == "video/mp4"
    status, headers, body = get(url, {"Range": "bytes=100-299"})
    assert status == 206 and body == whole[100:300]
    assert headers["content-range"] == f"bytes 100-299/{len(whole)}"
    assert get(url, {"Range": "bytes=-50"})[2] == whole[-50:]
    assert get(url, {"Range": f"bytes={len(whole)}-"})[0] == 416
    txt = get(f"{shard_viewer.base()}member/{tar_path}?name={CITY}.txt")[2]
    assert txt == caption == b"Night traffic on a wet city street."
    for bad in (f"member/{tar_path}?name=nope.mp4", f"member/other/../{tar_path}?name={CITY}.mp4",
                "member/index.json?name=x", "api/tar/wdinfo_list.csv"):  # fmt: skip
        assert get(shard_viewer.base() + bad)[0] == 404, bad


def test_a_dedup_output_without_its_split_is_rejected(
    outputs: tuple[Path, Path, Path, Path], tmp_path: Path
) -> None:
    """A recorded split that is gone, or --split on a split output: one error line, exit 2.

    Both are refused before anything is served: `curate view` runs in this process."""
    moved = tmp_path / "dedup"
    shutil.copytree(outputs[1], moved)
    summary = json.loads((moved / "summary.json").read_text())
    summary["options"]["input_path"] = str(tmp_path / "gone")
    (moved / "summary.json").write_text(json.dumps(summary))
    result = curate_in_process("view", str(moved), "--port", "0")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("error:") == 1 and "gone" in result.stderr
    result = curate_in_process("view", str(outputs[0]), "--split", str(outputs[0]), "--port", "0")
    assert result.returncode == 2 and result.stdout == "" and "--split" in result.stderr
