"""LLaVA's processor (chat template, CLIP pixels, image tokens, tokenizer) without torch.

`transformers.processing_utils` imports torch and its model-loading modules (~6.5 CPU s per
process), which a CPU stage that renders a prompt, resizes an image and tokenises does not
need. `LlavaInputs.from_folder` reads the checkpoint's processor, tokenizer and template
files (they stay the source of truth) and returns `None` for a checkpoint it does not
reproduce exactly, so the caller falls back to transformers' processor. Reproduced: a
`LlavaProcessor` over a CLIP image processor that `ClipPixels` reproduces and a tokenizer
fully described by `tokenizer.json` (run by the `tokenizers` library that transformers'
fast tokenizers wrap), with a `chat_template.jinja`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import jinja2
import jinja2.ext
import jinja2.sandbox
import numpy as np
import numpy.typing as npt

from cosmos_curate.models.clip_pixels import ClipPixels

PROCESSOR_CONFIG = "processor_config.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
TOKENIZER_FILE = "tokenizer.json"
TEMPLATE_FILE = "chat_template.jinja"
_PROCESSOR_KEYS = frozenset(
    {
        "image_processor",
        "image_token",
        "num_additional_image_tokens",
        "patch_size",
        "processor_class",
        "vision_feature_select_strategy",
    }
)
_TOKENIZER_CLASSES = frozenset({"TokenizersBackend", "PreTrainedTokenizerFast"})
_SPECIAL_TOKENS = ("bos_token", "eos_token", "unk_token", "pad_token")
_TOKENIZER_KEYS = frozenset(
    {
        *_SPECIAL_TOKENS,
        "backend",
        "extra_special_tokens",
        "image_token",
        "model_max_length",
        "processor_class",
        "tokenizer_class",
    }
)


def _json(path: Path) -> dict[str, Any] | None:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _template(text: str) -> jinja2.Template | None:
    """The chat template in a sandbox with transformers' whitespace rules; `None` if it fails."""
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols]
    )
    try:
        return env.from_string(text)
    except jinja2.TemplateError:
        return None


def _tokenizer(path: Path, image_token: str) -> Any:
    """`tokenizer.json` as transformers' fast tokenizers run it; `None` where they differ."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    # transformers calls the tokenizer without padding or truncation by default
    if tokenizer.padding is not None or tokenizer.truncation is not None:
        return None
    return tokenizer if tokenizer.token_to_id(image_token) is not None else None


def _image_token_count(processor: dict[str, Any], crop: tuple[int, int]) -> int | None:
    """Tokens one image takes in the prompt, as `LlavaProcessor` counts them."""
    patch = processor.get("patch_size")
    extra = processor.get("num_additional_image_tokens", 0)
    if not isinstance(patch, int) or patch <= 0 or not isinstance(extra, int):
        return None
    count = (crop[0] // patch) * (crop[1] // patch) + extra
    return count - 1 if processor.get("vision_feature_select_strategy") == "default" else count


@attrs.frozen
class LlavaInputs:
    """A LLaVA checkpoint's processor: one clip's frames and a prompt -> model inputs."""

    pixels: ClipPixels
    template: jinja2.Template
    tokenizer: Any  # tokenizers.Tokenizer (untyped)
    special_tokens: dict[str, str]
    image_token: str
    tokens_per_image: int

    @classmethod
    def from_folder(cls, folder: Path) -> LlavaInputs | None:
        """The processor of the checkpoint in `folder`; `None` where this cannot match it."""
        processor = _json(folder / PROCESSOR_CONFIG)
        tok_config = _json(folder / TOKENIZER_CONFIG)
        if (
            processor is None
            or tok_config is None
            or processor.get("processor_class") != "LlavaProcessor"
            or set(processor) - _PROCESSOR_KEYS
            or not isinstance(processor.get("image_processor"), dict)
            or tok_config.get("tokenizer_class") not in _TOKENIZER_CLASSES
            or set(tok_config) - _TOKENIZER_KEYS
            or tok_config.get("extra_special_tokens") not in (None, [], {})
            or not (folder / TOKENIZER_FILE).is_file()
            or not (folder / TEMPLATE_FILE).is_file()
        ):
            return None
        pixels = ClipPixels.from_config(processor["image_processor"])
        image_token = tok_config.get("image_token", processor.get("image_token", "<image>"))
        special = {name: tok_config[name] for name in _SPECIAL_TOKENS if name in tok_config}
        if pixels is None or image_token != processor.get("image_token", image_token):
            return None
        count = _image_token_count(processor, pixels.crop)
        template = _template((folder / TEMPLATE_FILE).read_text())
        tokenizer = _tokenizer(folder / TOKENIZER_FILE, image_token)
        if count is None or template is None or tokenizer is None:
            return None
        if not all(isinstance(v, str) for v in special.values()):
            return None
        inputs = cls(pixels, template, tokenizer, special, image_token, count)
        try:  # a template that needs more than this sandbox offers goes to the processor
            inputs.render(1, "probe")
        except jinja2.TemplateError:
            return None
        return inputs

    def render(self, images: int, prompt: str) -> str:
        """The chat template's text for one user turn of `images` images and `prompt`."""
        content: list[dict[str, Any]] = [{"type": "image"} for _ in range(images)]
        content.append({"type": "text", "text": prompt})
        return self.template.render(
            messages=[{"role": "user", "content": content}],
            add_generation_prompt=True,
            image_token=self.image_token,
            **self.special_tokens,
        )

    def __call__(
        self, frames: Sequence[npt.NDArray[np.uint8]], prompt: str
    ) -> dict[str, npt.NDArray[Any]]:
        """RGB frames of one clip and the prompt -> arrays with a leading batch dim of 1."""
        text = self.render(len(frames), prompt)
        if text.count(self.image_token) != len(frames):  # as the processor, which raises too
            found = text.count(self.image_token)
            msg = f"the prompt holds {found} {self.image_token} for {len(frames)} images"
            raise ValueError(msg)
        bos = self.special_tokens.get("bos_token")
        # the processor adds no special tokens when the template already starts with BOS
        add_special = not (bos is not None and text.startswith(bos))
        expanded = text.replace(self.image_token, self.image_token * self.tokens_per_image)
        encoded = self.tokenizer.encode(expanded, add_special_tokens=add_special)
        return {
            "input_ids": np.asarray([encoded.ids], dtype=np.int64),
            "attention_mask": np.asarray([encoded.attention_mask], dtype=np.int64),
            "pixel_values": np.stack([self.pixels(f) for f in frames]),
        }
