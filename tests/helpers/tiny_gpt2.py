"""A tiny random-init GPT-2 with a real byte-level BPE tokenizer, saved in the weights layout."""

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
    tokenizer = PreTrainedTokenizerFast(
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
