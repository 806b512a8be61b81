"""Curate large datasets (video first) with AI models on Ray GPU clusters."""

__version__ = "0.1.0"
