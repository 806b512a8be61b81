"""`video-shard`: pack `video-split` clips into webdataset tars, bucketed, resumable, atomic."""
