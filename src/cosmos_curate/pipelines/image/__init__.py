"""The image pipelines: `image-annotate` (load, filter, score, embed, caption, write)."""
