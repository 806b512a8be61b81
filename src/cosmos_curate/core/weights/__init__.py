"""Model weights: the registry, the local store, hub and S3 downloads, and the pre-run check."""
