"""Reading an `image-annotate` output (local or object storage) for `image-dedup` and `image-shard`.

A kept image belongs to the dataset when `metas/<id>.json` exists (written last, so the
image is complete; rejected images have none). One listing finds its file under `images/`
and its embedding under `embeddings/`. Each image is its own group (`VideoClips` of one
item), so the video flow's dedup and shard machinery reads images as it reads clips:
`split_output.read_video_embeddings` finds `embeddings/<id>.npy`.
"""

from __future__ import annotations

from pathlib import PurePosixPath

import attrs

from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.sketch import InputSummary, summarize
from cosmos_curate.pipelines.video.dedup import storage
from cosmos_curate.pipelines.video.dedup.split_output import VideoClips
from cosmos_curate.pipelines.video.storage import StoragePathError


class ImageOutputError(StoragePathError):
    """The input is not an `image-annotate` output (no `metas/` with images)."""


@attrs.frozen
class AnnotatedImage:
    """One kept image of an `image-annotate` output."""

    image_id: str
    image_file: str | None
    """Its file relative to the output (`images/<id><ext>`); None when the listing has none."""
    num_bytes: int
    has_embedding: bool

    def group(self) -> VideoClips:
        """The image as a group of one, for the video flow's dedup and shard stages."""
        npy = frozenset({self.image_id}) if self.has_embedding else frozenset()
        return VideoClips(self.image_id, (self.image_id,), (), npy, (self.num_bytes,))


def list_annotated(root: str, inputs: StorageOptions) -> list[AnnotatedImage]:
    """Every kept image of the output at `root`, sorted by id; raises when there is none."""
    if not storage.is_dir(root, inputs):
        msg = f"input path {root} does not exist (expected an image-annotate output folder)"
        raise ImageOutputError(msg)
    metas: set[str] = set()
    files: dict[str, tuple[str, int]] = {}
    npy: set[str] = set()
    for rel, size in storage.list_files(root, inputs):
        path = PurePosixPath(rel)
        if len(path.parts) != 2:
            continue
        top = path.parts[0]
        if top == "metas" and path.suffix == ".json":
            metas.add(path.stem)
        elif top == "images":
            files[path.stem] = (rel, size)
        elif top == "embeddings" and path.suffix == ".npy":
            npy.add(path.stem)
    if not metas:
        msg = f"input path {root} has no images (no metas/*.json): is it an image-annotate output?"
        raise ImageOutputError(msg)
    return [
        AnnotatedImage(
            image_id,
            files[image_id][0] if image_id in files else None,
            files[image_id][1] if image_id in files else 0,
            image_id in npy,
        )
        for image_id in sorted(metas)
    ]


def list_image_groups(root: str, inputs: StorageOptions) -> list[VideoClips]:
    """The kept images as groups of one (see the module docstring)."""
    return [image.group() for image in list_annotated(root, inputs)]


def summarize_annotated(root: str, inputs: StorageOptions) -> InputSummary:
    """The kept images of an output as a run's inputs: count, bytes, first ids."""
    images = list_annotated(root, inputs)
    return summarize(root, "images", ((i.image_id, i.num_bytes) for i in images))
