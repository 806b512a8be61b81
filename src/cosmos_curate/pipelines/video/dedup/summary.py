"""The dedup run's summary files: per-eps counts (CSV as upstream), examples, `summary.json`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cosmos_curate.core.interfaces.results import FailureRecord
from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.video.dedup import semdedup, storage
from cosmos_curate.pipelines.video.dedup.cluster_dedup import ClusterResult, Pair


def per_eps_counts(results: list[ClusterResult], eps: list[float]) -> dict[str, dict[str, int]]:
    """`{eps tag: {"kept", "removed", "total"}}` over all clusters."""
    total = sum(r.total for r in results)
    counts = {}
    for value in eps:
        tag = semdedup.eps_tag(value)
        removed = sum(r.removed.get(tag, 0) for r in results)
        counts[tag] = {"kept": total - removed, "removed": removed, "total": total}
    return counts


def clip_media(clip_id: str) -> str:
    """A split output's clip file, relative to it."""
    return f"clips/{clip_id}.mp4"


def _pair_record(
    pair: Pair, input_path: str, previews: set[str], media: tuple[str, Callable[[str], str]]
) -> dict[str, Any]:
    clip, dup, sim = pair
    key, path_of = media
    record: dict[str, Any] = {
        "id": clip,
        "duplicate_of": dup,
        "similarity": round(sim, 6),
        key: storage.join(input_path, path_of(clip)),
        f"duplicate_of_{key}": storage.join(input_path, path_of(dup)),
    }
    if previews:
        record["previews"] = [
            storage.join(input_path, p) for p in sorted(previews) if clip in p or dup in p
        ]
    return record


def write_examples(
    output_path: str,
    *,
    input_path: str,
    results: list[ClusterResult],
    eps: list[float],
    n: int,
    previews: set[str],
    outputs: StorageOptions,
    media_key: str = "clip",
    media_path: Callable[[str], str] | None = None,
) -> None:
    """`extraction/examples_eps_<tag>.json`: removed pairs nearest the line, and the closest.

    Each pair names both media files (`<media_key>`, `duplicate_of_<media_key>`; paths from
    `media_path`, a split output's clips when unset).
    """
    media = (media_key, media_path or clip_media)
    for value in eps:
        tag = semdedup.eps_tag(value)
        borderline = sorted(
            (p for r in results for p in r.borderline.get(tag, [])), key=lambda p: p[2]
        )
        top = sorted((p for r in results for p in r.most_similar.get(tag, [])), key=lambda p: -p[2])
        data = {
            "eps": value,
            "threshold": 1 - value,
            "rule": "removed when similarity > 1 - eps",
            "nearest_the_threshold": [
                _pair_record(p, input_path, previews, media) for p in borderline[:n]
            ],
            "most_similar": [_pair_record(p, input_path, previews, media) for p in top[:n]],
        }
        path = storage.join(output_path, "extraction", f"examples_eps_{tag}.json")
        storage.write_staged(path, json.dumps(data, indent=2).encode(), outputs)


def write_counts_csv(
    output_path: str, counts: dict[str, dict[str, int]], outputs: StorageOptions
) -> None:
    """`extraction/dedup_summary_<tag>.csv` per eps, as upstream: `eps,kept,removed,total`."""
    for tag, c in counts.items():
        text = f"eps,kept,removed,total\n{tag},{c['kept']},{c['removed']},{c['total']}\n"
        storage.write_staged(
            storage.join(output_path, "extraction", f"dedup_summary_{tag}.csv"),
            text.encode(),
            outputs,
        )


def append_failures(
    path: Path, failures: list[tuple[str, str, str]], stage: str, kind: str = "video"
) -> None:
    """Failure records for groups a stage could not read (one JSON line each, `<kind> <id>`)."""
    if not failures:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        for video_id, error, trace in failures:
            record = FailureRecord(stage, error, trace, 1, f"{kind} {video_id}")
            out.write(record.to_json() + "\n")
