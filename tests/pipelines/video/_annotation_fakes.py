"""Tiny models and a served-model endpoint for the embedding and caption tests.

- a random video embedding model with Cosmos-Embed1's shape (checkpoint code loaded with
  `trust_remote_code`: a processor with `num_video_frames`, `get_video_embeddings`);
- a random GPT-2 as the caption enhancement model;
- an OpenAI-compatible chat completions server on 127.0.0.1 that checks the API key and the
  image parts and answers with how many frames it saw;
- on it, a served VLM for the semantic checks of images and clips (`colour_judge`) that says
  yes to each asked colour dominating a picture it is sent, so decisions follow content.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import attrs
import numpy as np
from tests.pipelines._served import ServedModel

from cosmos_curate.core.utils.model_utils import get_local_dir_for_weights_name

TINY_VIDEO_EMBED_ID = "test-org/tiny-video-embed"
TINY_ENHANCER_ID = "test-org/tiny-enhancer"
SERVED_MODEL = "served-tiny-vlm"
EMBED_DIM, NUM_FRAMES, RESOLUTION = 12, 4, 16
COLOURS = ("red", "green", "blue")

_MODELING = """
import torch
from transformers import PretrainedConfig, PreTrainedModel


class TinyVideoEmbedConfig(PretrainedConfig):
    model_type = "tiny_video_embed"

    def __init__(self, embed_dim=12, num_video_frames=4, resolution=16, **kwargs):
        self.embed_dim = embed_dim
        self.num_video_frames = num_video_frames
        self.resolution = resolution
        super().__init__(**kwargs)


class TinyVideoOutput:
    def __init__(self, visual_proj):
        self.visual_proj = visual_proj


class TinyVideoEmbedModel(PreTrainedModel):
    config_class = TinyVideoEmbedConfig

    def __init__(self, config):
        super().__init__(config)
        size = 3 * config.num_video_frames * 4 * 4
        self.proj = torch.nn.Linear(size, config.embed_dim)
        self.post_init()

    def get_video_embeddings(self, videos):
        pooled = torch.nn.functional.adaptive_avg_pool2d(videos.flatten(0, 1), 4)
        return TinyVideoOutput(self.proj(pooled.reshape(videos.shape[0], -1)))
"""

_PROCESSING = """
import json
import os

import numpy as np
import torch


class TinyVideoEmbedProcessor:
    def __init__(self, num_video_frames, resolution):
        self.num_video_frames = num_video_frames
        self.resolution = resolution

    @classmethod
    def register_for_auto_class(cls, auto_class="AutoProcessor"):
        pass

    @classmethod
    def from_pretrained(cls, path, **kwargs):
        with open(os.path.join(path, "processor_config.json")) as f:
            cfg = json.load(f)
        return cls(cfg["num_video_frames"], cfg["resolution"])

    def __call__(self, videos=None, return_tensors="pt", **kwargs):
        x = torch.from_numpy(np.asarray(videos)).float() / 255.0
        b, t, c, h, w = x.shape
        if t != self.num_video_frames:
            raise ValueError(f"expected {self.num_video_frames} frames, got {t}")
        x = torch.nn.functional.interpolate(
            x.reshape(b * t, c, h, w), size=(self.resolution, self.resolution), mode="bilinear"
        )
        return {"videos": (x.reshape(b, t, c, self.resolution, self.resolution) - 0.5) / 0.5}
"""


def save_tiny_video_embedder(model_id: str = TINY_VIDEO_EMBED_ID) -> Path:
    """A random video model with its own code, in the weights layout."""
    import importlib.util
    import sys

    import torch

    folder = get_local_dir_for_weights_name(model_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "modeling_tiny_video.py").write_text(_MODELING)
    (folder / "processing_tiny_video.py").write_text(_PROCESSING)
    auto_map = {
        "AutoConfig": "modeling_tiny_video.TinyVideoEmbedConfig",
        "AutoModel": "modeling_tiny_video.TinyVideoEmbedModel",
        "AutoProcessor": "processing_tiny_video.TinyVideoEmbedProcessor",
    }
    processor = {"num_video_frames": NUM_FRAMES, "resolution": RESOLUTION, "auto_map": auto_map}
    (folder / "processor_config.json").write_text(json.dumps(processor))
    code = folder / "modeling_tiny_video.py"
    spec = importlib.util.spec_from_file_location("_tiny_video_modeling", code)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["_tiny_video_modeling"] = module
    spec.loader.exec_module(module)
    torch.manual_seed(0)
    config = module.TinyVideoEmbedConfig(EMBED_DIM, NUM_FRAMES, RESOLUTION)
    config.auto_map = auto_map
    module.TinyVideoEmbedModel(config).save_pretrained(folder)
    return folder


def save_tiny_enhancer(model_id: str = TINY_ENHANCER_ID) -> Path:
    """A random GPT-2 (64 positions) as the caption enhancement model."""
    import torch

    from cosmos_curate.models.tiny_random_gpt2 import save_tiny_gpt2

    torch.manual_seed(0)
    return save_tiny_gpt2(get_local_dir_for_weights_name(model_id))


@attrs.define
class FakeOpenAIServer(ServedModel):
    """A chat completions endpoint on 127.0.0.1 (`ServedModel`: `url`, `api_key`, `requests`)."""

    model_id: ClassVar[str] = SERVED_MODEL

    fail_first: int = 0  # answer this many requests with 503 first
    # The reply to a request body (default: how many frames the model saw).
    answer: Callable[[dict[str, Any]], str] | None = None

    def reply(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """Checks the image parts are JPEGs; answers with `answer`'s text."""
        with self.lock:
            if self.fail_first > 0:
                self.fail_first -= 1
                return 503, {"error": {"message": "busy"}}
        content = body["messages"][0]["content"]
        images = [c for c in content if c["type"] == "image_url"]
        for image in images:
            _check_jpeg(image["image_url"]["url"])
        text = f"{body['model']} saw {len(images)} frames"
        if self.answer is not None:
            text = self.answer(body)
        return 200, {"choices": [{"message": {"role": "assistant", "content": text}}]}


def _check_jpeg(url: str) -> None:
    from PIL import Image

    prefix = "data:image/jpeg;base64,"
    assert url.startswith(prefix), url[:40]
    with Image.open(io.BytesIO(base64.b64decode(url[len(prefix) :]))) as image:
        assert image.format == "JPEG"


def colour_answer(body: dict[str, Any]) -> str:
    """A check's JSON answer: yes for each asked colour that dominates one of the pictures."""
    from PIL import Image

    content = body["messages"][0]["content"]
    prompt = next(part["text"] for part in content if part["type"] == "text")
    asked = re.findall(r'"([^"]+)": "yes" or "no"', prompt)
    seen = set()
    for part in content:
        if part["type"] == "image_url":
            data = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
            pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float64)
            seen.add(COLOURS[int(pixels.reshape(-1, 3).mean(axis=0).argmax())])
    return json.dumps({name: "yes" if name in seen else "no" for name in asked})


def colour_judge() -> FakeOpenAIServer:
    """A served VLM answering semantic checks by colour (`colour_answer`), for a `with`."""
    return FakeOpenAIServer(answer=colour_answer)
