"""Upstream Cosmos-Curate v1.0.2+ import paths (`cosmos_curate.core.utils.model.*`).

Stages written against upstream import `conda_utils` and `model_utils` from here; both
modules re-export ours, so there is one implementation.
"""
