"""The `image-annotate` run summary, counted from the files written (not driver memory)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cosmos_curate.pipelines.image.layout import ImageLayout
from cosmos_curate.pipelines.video.summary import failure_entries


def build_image_summary(
    layout: ImageLayout,
    *,
    image_ids: Iterable[str],
    images_found: int,
    images_skipped: int,
    failures_path: Path | None,
    wall_s: float,
) -> dict[str, Any]:
    """Counts for the images this run processed (skipped ones are only counted).

    Names follow upstream's image summary where they mean the same (`num_input_images`,
    `num_images_passed`, `num_images_filtered`, `num_images_with_caption`, ...).
    """
    passed = filtered = captioned = embedded = missing = 0
    by_filter: Counter[str] = Counter()
    ids = list(image_ids)
    for image_id in ids:
        record = layout.read_json(layout.image_meta(image_id))
        if isinstance(record, dict):
            passed += 1
            captioned += int(bool(record.get("caption")))
            embedded += int(record.get("embedding_path") is not None)
            continue
        record = layout.read_json(layout.filtered_image_record(image_id))
        if isinstance(record, dict):
            filtered += 1
            by_filter[str(record.get("filtered_by"))] += 1
        else:
            missing += 1  # a failure record says why
    failures = failure_entries(failures_path)
    return {
        "num_images_found": images_found,
        "num_images_skipped_already_done": images_skipped,
        "num_input_images": len(ids),
        "num_images_passed": passed,
        "num_images_filtered": filtered,
        "images_filtered_by": dict(sorted(by_filter.items())),
        "num_images_with_caption": captioned,
        "num_images_with_embeddings": embedded,
        "num_images_not_written": missing,
        "failures": len(failures),
        "failure_records": failures[:100],
        "failures_path": str(failures_path) if failures else None,
        "wall_time_s": round(wall_s, 3),
        "images_per_s": round(len(ids) / wall_s, 3) if wall_s > 0 else None,
    }
