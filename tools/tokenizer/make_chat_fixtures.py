#!/usr/bin/env python3
"""Render Qwen3.5 chat-template oracle fixtures with transformers' own `apply_chat_template`.

Run from the workspace root after tools/tokenizer/make_qwen35_tokenizer.py:

    /work/pyenv/bin/python tools/tokenizer/make_chat_fixtures.py \
        --tokenizer datasets/tokenizer/qwen3.5 \
        --input crates/data/tests/fixtures/chat/sample_conversations.jsonl \
        --out crates/data/tests/fixtures/chat/sample_expected.jsonl

Input: JSONL, one `{"messages": [...]}` per line (Hugging Face messages convention; assistant
messages may carry `reasoning_content`; an optional `"id"` string names the case).

Output (--out): JSONL, one object per input line, in input order:
  id                   the input "id", or "conv_<line number>"
  messages             the input messages, verbatim
  full                 {"text", "ids"}: the whole conversation, template defaults
                       (no add_generation_prompt, enable_thinking not passed)
  prompt_messages      number of messages in the prompt: everything before the final assistant
                       message (all messages if there is no assistant message)
  prompt_thinking      {"text", "ids"}: prompt, add_generation_prompt=True, enable_thinking=True
  prompt_no_thinking   {"text", "ids"}: prompt, add_generation_prompt=True, enable_thinking=False
  assistant_masks      only if the template has a {% generation %} block (the official Qwen3.5
                       template has none, so this key is absent)

`ids` always come from `apply_chat_template(..., tokenize=True)` and are asserted equal to
`tokenizer.encode(text, add_special_tokens=False)`.

Also writes reference_encodings.json next to --out: token ids of the three reference strings
(asserted against the official values), plus versions and the tokenizer.json sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

REFERENCE_ENCODINGS = [
    ("Hello, world!", [9419, 11, 1814, 0]),
    ("What is 2 + 2?", [3710, 369, 220, 17, 478, 220, 17, 30]),
    ("<|im_start|>user\nHi<|im_end|>", [248045, 846, 198, 12675, 248046]),
]


def check(cond: bool, msg: str) -> None:
    if not cond:
        raise AssertionError(msg)


def render(tok, messages, **kw) -> dict:
    text = tok.apply_chat_template(messages, tokenize=False, **kw)
    enc = tok.apply_chat_template(messages, tokenize=True, return_dict=True, **kw)
    ids = list(enc["input_ids"])
    check(ids == tok.encode(text, add_special_tokens=False), f"apply_chat_template ids != encode(text) for {text!r}")
    return {"text": text, "ids": ids}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", default="datasets/tokenizer/qwen3.5", help="tokenizer dir (AutoTokenizer)")
    ap.add_argument("--input", default="crates/data/tests/fixtures/chat/sample_conversations.jsonl")
    ap.add_argument("--out", default="crates/data/tests/fixtures/chat/sample_expected.jsonl")
    args = ap.parse_args()

    import tokenizers
    import transformers
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(args.tokenizer)
    template = tok.chat_template
    check(isinstance(template, str) and template, "tokenizer has no chat_template")
    has_generation = re.search(r"\{\%-?\s*generation\s*-?\%\}", template) is not None
    print(f"tokenizer: {type(tok).__name__}, {len(tok)} tokens; template has {{% generation %}}: {has_generation}")

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    with open(args.input, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            conv = json.loads(line)
            messages = conv["messages"]
            check(isinstance(messages, list) and messages, f"line {lineno}: no messages")
            last_asst = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
            prompt = messages[:last_asst] if last_asst is not None else list(messages)

            row = {"id": conv.get("id", f"conv_{lineno}"), "messages": messages}
            row["full"] = render(tok, messages)
            row["prompt_messages"] = len(prompt)
            row["prompt_thinking"] = render(tok, prompt, add_generation_prompt=True, enable_thinking=True)
            row["prompt_no_thinking"] = render(tok, prompt, add_generation_prompt=True, enable_thinking=False)
            if has_generation:
                enc = tok.apply_chat_template(
                    messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
                )
                row["assistant_masks"] = list(enc["assistant_masks"])
            rows.append(row)

    with open(out, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} conversations to {out} ({out.stat().st_size} bytes)")

    refs = []
    for s, expected in REFERENCE_ENCODINGS:
        ids = tok.encode(s, add_special_tokens=True)
        check(ids == expected, f"reference encoding {s!r}: {ids} != {expected}")
        refs.append({"text": s, "ids": ids})
    tj = Path(args.tokenizer) / "tokenizer.json"
    ref_doc = {
        "source": "transformers.AutoTokenizer.from_pretrained(tokenizer dir).encode(text); equal to the official Qwen3.5 tokenizer",
        "versions": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__},
        "tokenizer_json_sha256": hashlib.sha256(tj.read_bytes()).hexdigest() if tj.is_file() else None,
        "special_tokens": {t: tok.convert_tokens_to_ids(t) for t in ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]},
        "encodings": refs,
    }
    ref_path = out.parent / "reference_encodings.json"
    ref_path.write_text(json.dumps(ref_doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {ref_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
