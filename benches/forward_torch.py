"""PyTorch + transformers side of `benches/forward_cpu.sh`: full-forward tokens/s of a randomly
initialised Qwen3.5 text decoder with the same shapes, dtype and thread count as `bench forward`.

    python benches/forward_torch.py --size tiny --batch 1 --seq 256 --iters 5 --threads 2

Prints one Markdown table row (and JSON with --json). transformers uses its torch fallback for
the gated delta rule here (no `fla` on CPU).
"""
import argparse
import json
import statistics
import time

import torch
from transformers import Qwen3_5ForCausalLM, Qwen3_5TextConfig

# The text configs of the presets in crates/qwen35/src/config.rs.
PRESETS = {
    "tiny": dict(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                 num_attention_heads=4, num_key_value_heads=2, head_dim=16, linear_num_key_heads=2,
                 linear_num_value_heads=4, linear_key_head_dim=16, linear_value_head_dim=24),
    "0.8b": dict(vocab_size=248320, hidden_size=1024, intermediate_size=3584, num_hidden_layers=24,
                 num_attention_heads=8, num_key_value_heads=2, head_dim=256, linear_num_key_heads=16,
                 linear_num_value_heads=16, linear_key_head_dim=128, linear_value_head_dim=128),
    "2b": dict(vocab_size=248320, hidden_size=2048, intermediate_size=6144, num_hidden_layers=24,
               num_attention_heads=8, num_key_value_heads=2, head_dim=256, linear_num_key_heads=16,
               linear_num_value_heads=16, linear_key_head_dim=128, linear_value_head_dim=128),
    "4b": dict(vocab_size=248320, hidden_size=2560, intermediate_size=9216, num_hidden_layers=32,
               num_attention_heads=16, num_key_value_heads=4, head_dim=256, linear_num_key_heads=16,
               linear_num_value_heads=32, linear_key_head_dim=128, linear_value_head_dim=128),
}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--size", default="tiny", choices=PRESETS)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dtype", default="f32", choices=["f32", "bf16"])
    p.add_argument("--json")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dtype = torch.float32 if a.dtype == "f32" else torch.bfloat16
    cfg = Qwen3_5TextConfig(**PRESETS[a.size], linear_conv_kernel_dim=4, rms_norm_eps=1e-6,
                            tie_word_embeddings=True, full_attention_interval=4,
                            rope_parameters={"rope_type": "default", "rope_theta": 1e7,
                                             "partial_rotary_factor": 0.25})
    t0 = time.perf_counter()
    model = Qwen3_5ForCausalLM(cfg).to(dtype).eval()
    init_s = time.perf_counter() - t0
    ids = torch.randint(0, cfg.vocab_size, (a.batch, a.seq))

    def run():
        start = time.perf_counter()
        with torch.inference_mode():
            logits = model(input_ids=ids, use_cache=False).logits
            logits.sum().item()
        return time.perf_counter() - start

    run()  # warm-up
    times = sorted(run() for _ in range(a.iters))
    median = statistics.median(times)
    tps = a.batch * a.seq / median
    print(f"| torch {torch.__version__} + transformers (cpu) | {a.size} | cpu | {a.dtype} | {a.batch} | {a.seq} "
          f"| {median:.4f} | {tps:.1f} |")
    print(f"model init {init_s:.1f} s; torch threads {torch.get_num_threads()}; times {times}", flush=True,
          file=__import__("sys").stderr)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(impl="torch", size=a.size, dtype=a.dtype, batch=a.batch, seq=a.seq, iters=a.iters,
                           median_s=median, tokens_per_s=tps, times_s=times, threads=a.threads,
                           torch=torch.__version__), f, indent=2)


if __name__ == "__main__":
    main()
