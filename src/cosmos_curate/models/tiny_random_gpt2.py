"""A tiny random-init GPT-2 for offline machines and tests (its text is gibberish).

It has GPT-2's architecture and file layout (config, safetensors weights, a byte-level BPE
tokenizer) so `GPT2.setup()` loads it like the real weights. Write it where the real
weights would go with:

    python -m cosmos_curate.models.tiny_random_gpt2
"""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "the key to creating good art is",
    "once upon a time there was a curious robot",
    "video clips and captions for world models",
] * 20


def save_tiny_gpt2(folder: Path) -> Path:
    """Write config, weights and tokenizer files that `from_pretrained(folder)` loads offline."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        CORPUS, vocab_size=300, min_frequency=1, special_tokens=["<|endoftext|>"]
    )
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=bpe, eos_token="<|endoftext|>", bos_token="<|endoftext|>"
    )
    tokenizer.save_pretrained(folder)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=64,
        n_embd=32,
        n_layer=1,
        n_head=2,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    GPT2LMHeadModel(config).save_pretrained(folder)
    return folder


def main() -> None:
    """Write the tiny model into the GPT-2 weights folder unless real weights are there."""
    from cosmos_curate.core.utils.model_utils import get_local_dir_for_weights_name, weights_present
    from cosmos_curate.models.gpt2 import GPT2_MODEL_ID

    folder = get_local_dir_for_weights_name(GPT2_MODEL_ID)
    if weights_present(GPT2_MODEL_ID):
        print(f"weights already present in {folder}; nothing written")
        return
    save_tiny_gpt2(folder)
    print(f"wrote a tiny RANDOM GPT-2 (gibberish output) to {folder}")


if __name__ == "__main__":
    main()
