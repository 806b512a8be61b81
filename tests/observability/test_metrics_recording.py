"""The pure part of metric recording: the GPU share each worker reports.

(The per-stage progress fractions it exports are the progress view's: see
tests/presentation/test_progress_view.py.)
"""

from __future__ import annotations

from cosmos_curate.core.runtime.metrics import gpu_shares


def test_gpu_shares_fractional_whole_and_none() -> None:
    """A 0.25 GPU worker holds a quarter of its GPU; 2 GPUs are held whole; no GPU, nothing."""
    assert gpu_shares(["0"], 0.25) == {"0": 0.25}
    assert gpu_shares(["0", "1"], 2.0) == {"0": 1.0, "1": 1.0}
    assert gpu_shares([], 0.0) == {}
    assert gpu_shares(["3"], 0.0) == {}
