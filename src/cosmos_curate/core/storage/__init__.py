"""Storage shared by every pipeline, the weights code, the report and the run records.

`publish` is the one way a file is made visible: all of it, durably, or nothing.
"""

from cosmos_curate.core.storage.publish import (
    fsync_dir,
    publish_bytes,
    publish_json,
    publish_staged,
    publish_text,
    publishing,
)

__all__ = [
    "fsync_dir",
    "publish_bytes",
    "publish_json",
    "publish_staged",
    "publish_text",
    "publishing",
]
