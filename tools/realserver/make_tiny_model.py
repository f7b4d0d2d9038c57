#!/usr/bin/env python3
"""A randomly initialised tiny Qwen3.5 text model with the real Qwen3.5 tokenizer and chat
template, saved as a Hugging Face directory that llama.cpp's convert_hf_to_gguf.py accepts.

    python tools/realserver/make_tiny_model.py OUT_DIR [--seed 0]

llama.cpp's Qwen3.5 loader wants the linear-attention key and value heads of one size, so
linear_key_head_dim == linear_value_head_dim here (the `tiny` preset of crates/qwen35 has 16 vs
24); and its M-RoPE sections are the real models' [11, 11, 10] (64 rotary dims), so the
attention head is 256 wide as in the real models (a 16-wide head aborts the server with
`GGML_ASSERT(sect_dims <= ne0)` on the first request). The vocabulary is the tokenizer's, rounded up to a multiple of 64 as Qwen pads its own.
Weights are random: the replies are noise, which is what a check of the wire (empty replies,
replies without a verdict, cut-off replies) wants.
"""
import argparse
import json
import shutil
from pathlib import Path

import torch
from transformers import Qwen3_5ForCausalLM, Qwen3_5TextConfig

ROOT = Path(__file__).resolve().parents[2]
TOKENIZER = ROOT / "datasets" / "tokenizer" / "qwen3.5"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    tok = json.loads((TOKENIZER / "tokenizer.json").read_text())
    n_vocab = max(len(tok["model"]["vocab"]), 1 + max(t["id"] for t in tok["added_tokens"]))
    vocab = -(-n_vocab // 64) * 64
    ids = {t["content"]: t["id"] for t in tok["added_tokens"]}
    cfg = Qwen3_5TextConfig(
        vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
        num_attention_heads=2, num_key_value_heads=1, head_dim=256,
        linear_num_key_heads=2, linear_num_value_heads=4, linear_key_head_dim=16, linear_value_head_dim=16,
        linear_conv_kernel_dim=4, full_attention_interval=4, rms_norm_eps=1e-6, tie_word_embeddings=True,
        max_position_embeddings=4096,
        rope_parameters={"rope_type": "default", "rope_theta": 1e7, "partial_rotary_factor": 0.25},
        eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]], pad_token_id=ids["<|endoftext|>"],
    )
    torch.manual_seed(a.seed)
    model = Qwen3_5ForCausalLM(cfg).eval()
    a.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(a.out)
    for f in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        shutil.copy(TOKENIZER / f, a.out / f)
    print(f"wrote {a.out}: {sum(p.numel() for p in model.parameters()):,} parameters, vocab {vocab}")


if __name__ == "__main__":
    main()
