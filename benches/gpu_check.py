"""GPU correctness of a skillsft build, next to transformers + PEFT on the same device.

    bench check --device cuda --out OUT            # skillsft's side (the carried binary)
    python benches/gpu_check.py --ours OUT --device cuda

For each committed parity fixture (crates/qwen35/tests/fixtures) it runs transformers' forward
in f32 and bf16 on --device and compares skillsft's logits from `bench check` with them; then
one LoRA step with PEFT from the committed initial adapter (crates/train/tests/fixtures/peft_step)
on --device: loss and all 64 adapter gradients against skillsft's. Prints a Markdown table and
exits 1 if a row fails its bound.

Bounds, and why:
- f32 logits: 2.5e-4 absolute, the CPU parity tests' bound (transformers' own f32 logits on these
  fixtures sit up to 1.1e-4 from an f64 run). A GPU matmul in TF32 would miss it by far: that is
  what the row is for.
- bf16 logits: bf16 rounds every activation (8 bits of mantissa); two correct bf16 forwards differ
  by up to ~1 on these fixtures (transformers' own bf16 vs f32: 1.11 max, 0.040 mean). Bound:
  mean |diff| <= 0.1 and top-1 agreement >= 90%.
- LoRA step (f32): loss within 1e-5, gradients within 1e-4 absolute (the CPU PEFT test's bounds).
"""
import argparse
import json
import os
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["vlm_tied", "text_untied_irregular", "interval3", "bf16", "sharded"]


def load(model_dir: Path, dtype, device):
    import transformers
    cfg = json.loads((model_dir / "config.json").read_text())
    cls = transformers.Qwen3_5ForConditionalGeneration if cfg.get("model_type") == "qwen3_5" \
        else transformers.Qwen3_5ForCausalLM
    m = cls.from_pretrained(model_dir, dtype=dtype, attn_implementation="eager").to(device)
    m.eval()
    return m


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ours", required=True, type=Path, help="the --out directory of `bench check`")
    p.add_argument("--device", default="cuda")
    p.add_argument("--fixtures", type=Path, default=ROOT / "crates/qwen35/tests/fixtures")
    p.add_argument("--peft", type=Path, default=ROOT / "crates/train/tests/fixtures/peft_step")
    a = p.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    rows, failed = [], False

    def row(what, value, bound, ok):
        nonlocal failed
        failed |= not ok
        rows.append(f"| {what} | {value} | {bound} | {'ok' if ok else '**FAIL**'} |")

    for name in MODELS:
        d = a.fixtures / name
        ids = load_file(d / "reference.safetensors")["input_ids"].to(torch.long).to(a.device)
        for tag, dtype in [("f32", torch.float32), ("bf16", torch.bfloat16)]:
            path = a.ours / f"logits-{name}-{tag}.safetensors"
            if not path.exists():
                rows.append(f"| logits {name} {tag} | not written by `bench check` | | skipped |")
                continue
            ours = load_file(path)["logits"].to(a.device)
            with torch.no_grad():
                theirs = load(d, dtype, a.device)(input_ids=ids).logits.float()
            diff = (ours - theirs).abs()
            if tag == "f32":
                m = float(diff.max())
                row(f"logits {name} f32 vs transformers on {a.device}", f"max {m:.2e}", "max ≤ 2.5e-4", m <= 2.5e-4)
            else:
                mean, agree = float(diff.mean()), float((ours.argmax(-1) == theirs.argmax(-1)).float().mean())
                row(f"logits {name} bf16 vs transformers on {a.device}", f"max {float(diff.max()):.3f}, mean {mean:.4f}, "
                    f"top-1 {100 * agree:.1f}%", "mean ≤ 0.1, top-1 ≥ 90%", mean <= 0.1 and agree >= 0.9)

    step = a.ours / "lora-step.safetensors"
    if step.exists():
        from peft import PeftModel
        ours = load_file(step)
        ref = load_file(a.peft / "reference.safetensors")
        base = load(a.fixtures / "text_untied_irregular", torch.float32, a.device)
        model = PeftModel.from_pretrained(base, a.peft / "adapter_init", is_trainable=True)
        out = model(input_ids=ref["input_ids"].to(torch.long).to(a.device), labels=ref["labels"].to(torch.long).to(a.device))
        out.loss.backward()
        grads = {}
        for n, prm in model.named_parameters():
            if prm.grad is not None:
                grads[n.replace(".default", "")] = prm.grad.float()
        dl = abs(float(ours["loss"][0]) - float(out.loss))
        row(f"LoRA step loss vs PEFT on {a.device}", f"{float(ours['loss'][0]):.6f} vs {float(out.loss):.6f}", "≤ 1e-5", dl <= 1e-5)
        worst, missing = 0.0, []
        for k, g in ours.items():
            if not k.startswith("grad."):
                continue
            key = k[len("grad."):]
            if key not in grads:
                missing.append(key)
                continue
            worst = max(worst, float((g.to(a.device) - grads[key].reshape(g.shape)).abs().max()))
        row(f"LoRA step gradients vs PEFT on {a.device} ({len(ours) - 1} tensors)",
            f"max {worst:.2e}" + (f", {len(missing)} unmatched" if missing else ""), "max ≤ 1e-4",
            worst <= 1e-4 and not missing)
    else:
        rows.append("| LoRA step | not written by `bench check` | | skipped |")

    import transformers
    print(f"\nCorrectness on {a.device} ({torch.cuda.get_device_name() if a.device.startswith('cuda') else 'cpu'}; "
          f"torch {torch.__version__}, transformers {transformers.__version__})\n")
    print("| check | skillsft vs reference | bound | |\n|---|---|---|---|")
    print("\n".join(rows))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
