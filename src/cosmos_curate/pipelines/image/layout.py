"""The output tree of `image-annotate` (a local folder or a storage prefix).

```
OUT/images/<image_id><ext>            the original bytes of a kept image
OUT/metas/<image_id>.json             its metadata (source, size, format, scores, caption, ...)
OUT/embeddings/<image_id>.npy         its CLIP embedding (float32, unit norm)
OUT/filtered_images/<image_id><ext>   the original bytes of a rejected image
OUT/filtered_images/<image_id>.json   its metadata, with `filtered_by` and `filter_reason`
OUT/failures/<run>.jsonl              failure records of one run (unreadable files)
OUT/summary.json                      the last run's summary
```
The JSON is written last, so its presence means the image is complete; a rerun skips
images that have one. JSON records, durability and storage access are the video flow's
(`OutputLayout`); only the keys differ.
"""

from __future__ import annotations

from cosmos_curate.pipelines.video.layout import OutputLayout


class ImageLayout(OutputLayout):
    """Keys of the image output tree; records and storage as `OutputLayout`."""

    @staticmethod
    def image_file(image_id: str, extension: str) -> str:
        """A kept image's original bytes."""
        return f"images/{image_id}{extension}"

    @staticmethod
    def image_meta(image_id: str) -> str:
        """A kept image's metadata."""
        return f"metas/{image_id}.json"

    @staticmethod
    def image_embedding(image_id: str) -> str:
        """A kept image's embedding."""
        return f"embeddings/{image_id}.npy"

    @staticmethod
    def filtered_image(image_id: str, extension: str) -> str:
        """A rejected image's original bytes."""
        return f"filtered_images/{image_id}{extension}"

    @staticmethod
    def filtered_image_record(image_id: str) -> str:
        """A rejected image's metadata."""
        return f"filtered_images/{image_id}.json"

    def image_done(self, image_id: str) -> bool:
        """Whether an earlier run wrote this image (kept or rejected)."""
        return self.exists(self.image_meta(image_id)) or self.exists(
            self.filtered_image_record(image_id)
        )
