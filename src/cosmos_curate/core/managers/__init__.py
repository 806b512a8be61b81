"""Upstream Cosmos-Curate's `python -m cosmos_curate.core.managers.*` entry points."""
