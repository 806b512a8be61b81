"""Text boxes on video frames: the PP-OCR detection model that the `rapidocr` wheel ships.

Detection only (no recognition): upstream Cosmos-Curate runs PaddleOCR's PP-OCR detector for
its artificial-text filter; the same family of model runs here through ONNX Runtime, on CPU,
or on a GPU when `onnxruntime-gpu` is installed and the worker has one. The weights are in
the wheel, so nothing is downloaded and there is no checkpoint to fetch (`pip install
'cosmos-curate[ocr]'`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from cosmos_curate.core.utils.device import preferred_device

TEXT_DETECTOR_NAME = "PP-OCR text detection (rapidocr)"
DETECT_MAX_SIDE = 640  # upstream scales frames to this longest side before detection


def onnx_gpu_available() -> bool:
    """Whether ONNX Runtime here can run on this worker's GPU."""
    import onnxruntime

    providers: list[str] = onnxruntime.get_available_providers()
    return "CUDAExecutionProvider" in providers and preferred_device() == "cuda"


class TextDetector:
    """Finds text boxes on RGB frames. Call `setup()` once in the worker, then `boxes()`."""

    def __init__(self, use_gpu: bool = False, threads: int = 1) -> None:
        self.use_gpu = use_gpu
        self.threads = threads
        self._engine: Any = None
        self._on_gpu = False

    @property
    def device(self) -> str:
        """Where detection runs once set up: `cuda` or `cpu`."""
        return "cuda" if self._on_gpu else "cpu"

    def setup(self) -> None:
        """Load the detection model from the installed wheel (no network)."""
        try:
            from rapidocr import RapidOCR
        except ImportError as error:
            msg = "the text filter needs the OCR extra: pip install 'cosmos-curate[ocr]'"
            raise RuntimeError(msg) from error
        self._on_gpu = self.use_gpu and onnx_gpu_available()
        params = {
            "Global.use_cls": False,
            "Global.use_rec": False,
            "Global.log_level": "error",
            # Scale frames down to at most 640 px on the long side, never up (a small
            # frame scaled up to the default 736-px short side costs 30x the compute).
            "Det.limit_type": "max",
            "Det.limit_side_len": DETECT_MAX_SIDE,
            "EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            "EngineConfig.onnxruntime.use_cuda": self._on_gpu,
        }
        self._engine = RapidOCR(params=params)

    def boxes(self, frame: npt.NDArray[np.uint8]) -> list[tuple[float, float, float, float]]:
        """Axis-aligned boxes `(x0, y0, x1, y1)` of the text on one RGB frame, in its pixels."""
        if self._engine is None:
            msg = "TextDetector.setup() must run before boxes()"
            raise RuntimeError(msg)
        bgr = np.ascontiguousarray(frame[..., ::-1])  # the engine reads arrays as BGR
        result = self._engine(bgr, use_det=True, use_cls=False, use_rec=False)
        found = getattr(result, "boxes", None)
        if found is None or len(found) == 0:
            return []
        quads = np.asarray(found, dtype=np.float64)  # (n, 4 points, x/y)
        return [
            (float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max()))
            for q in quads
        ]
