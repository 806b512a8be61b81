"""`ImageTask`: one input image, filled in stage by stage.

Its filter, scoring and caption fields have the names and meaning of the video flow's
`ClipTask` (`filtered_by`, `embedding_inputs`, `embedding`, `aesthetic_score`, `windows`,
`caption`, `check_windows`, `annotations`, `drop`), so the video flow's CLIP + aesthetics
stage (`ClipEmbeddingStage`), caption stage (`CaptionStage`) and semantic check stage
(`SemanticCheckStage`) run on images unchanged; an image is captioned (and judged) as a
single window. Heavy payloads stay out of `repr`, so failure
records stay readable.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from cosmos_curate.core.interfaces.stage_interface import PipelineTask
from cosmos_curate.pipelines.image.tars import TarMember
from cosmos_curate.pipelines.video.windows import CaptionWindow


@attrs.define
class ImageTask(PipelineTask):
    """One image: `source` is a local path or a storage URL, `image_id` its output name."""

    source: str
    image_id: str
    relative_path: str
    extension: str
    """The output file's extension: the source's, lower-cased (`.jpg`, `.png`, ...)."""
    member: TarMember | None = None
    """For an image inside a webdataset tar (`source` is the tar): where its bytes are."""
    data: bytes | None = attrs.field(default=None, repr=False)
    """The original bytes, written out unchanged."""
    rgb: npt.NDArray[np.uint8] | None = attrs.field(default=None, repr=False)
    width: int | None = None
    height: int | None = None
    format: str | None = None
    mode: str | None = None
    exif_orientation: int = 1
    num_frames: int = 1
    filtered_by: str | None = None
    filter_reason: str | None = None
    aesthetic_score: float | None = None
    caption: str | None = None
    embedding_inputs: npt.NDArray[np.float32] | None = attrs.field(default=None, repr=False)
    embedding: npt.NDArray[np.float32] | None = attrs.field(default=None, repr=False)
    windows: list[CaptionWindow] = attrs.field(factory=list, repr=False)
    check_windows: dict[str, list[CaptionWindow]] = attrs.field(factory=dict, repr=False)
    """The semantic checks' inputs and answers by check name (`semantic.py`), as `ClipTask`'s."""
    annotations: dict[str, Any] = attrs.field(factory=dict)

    @property
    def num_bytes(self) -> int | None:
        """Size of the original file."""
        return len(self.data) if self.data is not None else None

    def drop(self, filter_name: str, reason: str | None = None) -> None:
        """Mark the image as rejected by `filter_name` and free what later stages would use.

        The original bytes are kept: the writer stores them under `filtered_images/`.
        """
        self.filtered_by = filter_name
        self.filter_reason = reason
        self.rgb = None
        self.embedding_inputs = None
        self.windows.clear()
        self.check_windows.clear()

    def release_payloads(self) -> None:
        """Free every heavy field (after the writer)."""
        self.data = None
        self.rgb = None
        self.embedding_inputs = None
        self.embedding = None
        for window in self.windows:
            window.inputs = None
        self.check_windows.clear()
