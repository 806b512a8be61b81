"""Synthetic videos and tiny random-init models for the video pipeline tests.

Videos are 160x90 at 10 fps, a few seconds long: colour scenes with hard cuts at known
frames, a static segment, a moving pattern, and a corrupt file.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from cosmos_curate.core.utils.model_utils import get_local_dir_for_weights_name

WIDTH, HEIGHT, FPS = 160, 90, 10
TINY_VLM_ID = "test-org/tiny-llava"


def solid(color: tuple[int, int, int]) -> npt.NDArray[np.uint8]:
    """One frame of a single colour."""
    frame = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    frame[:] = color
    return frame


def moving_square(
    background: tuple[int, int, int], n: int, start: int = 0
) -> Iterator[npt.NDArray[np.uint8]]:
    """`n` frames of a white 24x24 square bouncing 5 px per frame over `background`."""
    span = WIDTH - 24
    for i in range(start, start + n):
        frame = solid(background)
        x = abs((5 * i) % (2 * span) - span)  # triangle wave: no jump a detector could see
        frame[30:54, x : x + 24] = 255
        yield frame


def static(color: tuple[int, int, int], n: int) -> Iterator[npt.NDArray[np.uint8]]:
    """`n` identical frames (a still shot)."""
    for _ in range(n):
        yield solid(color)


def write_video(path: Path, frames: Iterator[npt.NDArray[np.uint8]], fps: int = FPS) -> Path:
    """Encode RGB frames to H.264 in an mp4 with PyAV; returns `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "18", "preset": "ultrafast"}
        for frame in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode(None))
    return path


def scenes_video(path: Path) -> tuple[Path, list[int]]:
    """Three moving scenes on red, green, blue; cuts planted at frames 25 and 55 (80 frames)."""

    def frames() -> Iterator[npt.NDArray[np.uint8]]:
        yield from moving_square((200, 30, 30), 25)
        yield from moving_square((30, 200, 30), 30, start=7)
        yield from moving_square((30, 30, 200), 25, start=3)

    return write_video(path, frames()), [25, 55]


def static_then_moving_video(path: Path) -> tuple[Path, list[int]]:
    """A still grey shot of 30 frames, a cut at 30, then 30 frames of motion on yellow."""

    def frames() -> Iterator[npt.NDArray[np.uint8]]:
        yield from static((128, 128, 128), 30)
        yield from moving_square((220, 220, 40), 30)

    return write_video(path, frames()), [30]


def corrupt_video(path: Path) -> Path:
    """A file with an .mp4 name and no decodable video in it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + rng.integers(0, 256, 4000, np.uint8).tobytes())
    return path


def save_tiny_clip(model_id: str) -> Path:
    """A random-init CLIP (projection dim 16, 32x32 images) and its image processor."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    folder = get_local_dir_for_weights_name(model_id)
    config = CLIPConfig(
        text_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "vocab_size": 64,
            "max_position_embeddings": 16,
            "bos_token_id": 0,
            "eos_token_id": 1,
        },
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    CLIPModel(config).save_pretrained(folder)
    CLIPImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    ).save_pretrained(folder)
    return folder


def save_tiny_aesthetic_head(model_id: str, dim: int = 16) -> Path:
    """A LAION-layout head (`layers.0`, `layers.2`) with a bias so scores are about 5."""
    import torch
    from safetensors.torch import save_file

    folder = get_local_dir_for_weights_name(model_id)
    folder.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    state = {
        "layers.0.weight": torch.randn(8, dim, generator=gen) * 0.1,
        "layers.0.bias": torch.zeros(8),
        "layers.2.weight": torch.randn(1, 8, generator=gen) * 0.1,
        "layers.2.bias": torch.full((1,), 5.0),
    }
    save_file(state, str(folder / "model.safetensors"))
    return folder


_CHAT_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'user' %}USER: {% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<image> {% elif c['type'] == 'text' %}{{ c['text'] }} "
    "{% endif %}{% endfor %}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)
_WORDS = [
    "a",
    "the",
    "video",
    "shows",
    "red",
    "green",
    "blue",
    "yellow",
    "grey",
    "square",
    "moving",
    "static",
    "scene",
    "describe",
    "this",
    "clip",
    "in",
    "one",
    "sentence",
    "camera",
    "pans",
    "slowly",
    "white",
    "box",
]


def save_tiny_vlm(model_id: str = TINY_VLM_ID) -> Path:
    """A random-init LLaVA (tiny CLIP vision tower + tiny Llama) with processor and template."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    folder = get_local_dir_for_weights_name(model_id)
    specials = ["<unk>", "<pad>", "<s>", "</s>", "<image>", "USER:", "ASSISTANT:"]
    vocab = {w: i for i, w in enumerate([*specials, *_WORDS])}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        extra_special_tokens={"image_token": "<image>"},
    )
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessor(
            size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
        ),
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=_CHAT_TEMPLATE,
    )
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=32,
            patch_size=8,
        ),
        text_config=LlamaConfig(
            vocab_size=len(vocab),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
            max_position_embeddings=256,
            pad_token_id=1,
            bos_token_id=2,
            eos_token_id=3,
        ),
        image_token_index=vocab["<image>"],
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
    )
    torch.manual_seed(0)  # the same tiny model every run
    model = LlavaForConditionalGeneration(config)
    # Random weights may emit end-of-text or special tokens first, which decode to an empty
    # caption; make the tiny model always say a few ordinary words.
    model.generation_config.min_new_tokens = 4
    model.generation_config.suppress_tokens = sorted(
        {0, 1, 2, vocab["<image>"]} & set(vocab.values())
    )
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def decode_count(path: Path) -> tuple[int, float, str]:
    """Decoded frame count, stream fps and codec name of a video file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        return count, float(stream.average_rate), stream.codec_context.name
