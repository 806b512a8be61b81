"""`video-dedup`: semantic dedup (SemDeDup) of `video-split` clips by their embeddings.

`storage` and `split_output` are shared with `video-shard` (local folders and S3 alike).
"""
