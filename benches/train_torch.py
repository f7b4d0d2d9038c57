"""PyTorch side of the skillsft benchmarks: the same work as `bench train|layer|rule|attention|forward|generate`, done
with torch + transformers (+ PEFT for LoRA, + `fla` / `causal-conv1d` kernels where installed).

    python benches/train_torch.py train --size 4b --mode lora --batch 4 --seq 2048 --device cuda --dtype bf16
    python benches/train_torch.py train --size tiny --mode lora --batch 4 --seq 256 --threads 2
    python benches/train_torch.py layer --size 0.8b --kind gdn --batch 4 --seq 2048 --device cuda --dtype bf16
    python benches/train_torch.py rule --heads 16 --dk 128 --dv 128 --batch 4 --seq 2048 --device cuda
    python benches/train_torch.py generate --size 0.8b --batch 8 --seq 64 --new 32 --threads 2
    python benches/train_torch.py train ... --kernels none      # block fla and causal-conv1d

Prints one Markdown row in the layout `bench` prints, and writes the same JSON keys with --json,
so `benches/compare.py` can pair them. Timing: `--warmup` untimed runs, then `--iters` timed ones,
each closed by `torch.cuda.synchronize()` on GPU; the median is reported.

The training step is what a transformers user runs: the model's own loss (full logits, upcast to
f32 inside transformers' `ForCausalLMLoss`), `loss.backward()`, `torch.optim.AdamW` with
PyTorch's defaults. LoRA: PEFT with the trainer's default targets (q/k/v/o, in_proj_qkv,
in_proj_z, out_proj, gate/up/down), alpha = 2·rank, no dropout, as `bench train` uses.
"""
import argparse
import importlib.util
import json
import resource
import statistics
import sys
import time

# What the released sizes (0.8b, 2b, 4b) share; each preset below adds what sets it apart.
RELEASED = dict(vocab_size=248320, head_dim=256, linear_num_key_heads=16, linear_key_head_dim=128,
                linear_value_head_dim=128)
# The text configs of the presets in crates/qwen35/src/config.rs.
PRESETS = {
    "tiny": dict(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                 num_attention_heads=4, num_key_value_heads=2, head_dim=16, linear_num_key_heads=2,
                 linear_num_value_heads=4, linear_key_head_dim=16, linear_value_head_dim=24),
    "0.8b": dict(RELEASED, hidden_size=1024, intermediate_size=3584, num_hidden_layers=24,
                 num_attention_heads=8, num_key_value_heads=2, linear_num_value_heads=16),
    "2b": dict(RELEASED, hidden_size=2048, intermediate_size=6144, num_hidden_layers=24,
               num_attention_heads=8, num_key_value_heads=2, linear_num_value_heads=16),
    "4b": dict(RELEASED, hidden_size=2560, intermediate_size=9216, num_hidden_layers=32,
               num_attention_heads=16, num_key_value_heads=4, linear_num_value_heads=32),
}
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "in_proj_qkv", "in_proj_z", "out_proj",
                "gate_proj", "up_proj", "down_proj"]


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="bench", required=True)

    def common(sp):
        sp.add_argument("--batch", type=int, default=1)
        sp.add_argument("--seq", type=int, default=256)
        sp.add_argument("--iters", type=int, default=5)
        sp.add_argument("--warmup", type=int, default=1)
        sp.add_argument("--device", default="cpu", help="cpu or cuda")
        sp.add_argument("--dtype", default="f32", choices=["f32", "bf16"])
        sp.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
        sp.add_argument("--kernels", default="auto", choices=["auto", "none"],
                        help="auto: fla / causal-conv1d when importable; none: the torch fallbacks")
        sp.add_argument("--peak-tflops", type=float, help="device peak TFLOP/s, to report MFU")
        sp.add_argument("--json")

    sp = sub.add_parser("forward"); sp.add_argument("--size", default="tiny", choices=PRESETS); common(sp)
    sp = sub.add_parser("generate")
    sp.add_argument("--size", default="tiny", choices=PRESETS)
    sp.add_argument("--new", type=int, default=32, help="tokens generated per row (greedy, no early stop)")
    common(sp)
    sp = sub.add_parser("train")
    sp.add_argument("--size", default="tiny", choices=PRESETS)
    sp.add_argument("--mode", default="lora", choices=["lora", "full"])
    sp.add_argument("--rank", type=int, default=16)
    sp.add_argument("--gradient-checkpointing", action="store_true")
    common(sp)
    sp = sub.add_parser("layer")
    sp.add_argument("--size", default="0.8b", choices=PRESETS)
    sp.add_argument("--kind", default="gdn", choices=["gdn", "attention"])
    common(sp)
    sp = sub.add_parser("rule")
    sp.add_argument("--heads", type=int, default=16)
    sp.add_argument("--dk", type=int, default=128)
    sp.add_argument("--dv", type=int, default=128)
    common(sp)
    sp = sub.add_parser("attention")
    sp.add_argument("--heads", type=int, default=16)
    sp.add_argument("--kv-heads", type=int, default=4)
    sp.add_argument("--head-dim", type=int, default=256)
    sp.add_argument("--form", default="fused", choices=["fused", "plain"],
                    help="fused: SDPA's best kernel (flash on CUDA); plain: SDPA's math backend")
    common(sp)
    return p.parse_args()


def main():
    a = parse()
    if a.kernels == "none":
        # transformers picks fla / causal-conv1d when it can import them: make both imports fail.
        for name in ("fla", "causal_conv1d"):
            sys.modules[name] = None
    import torch
    from transformers import Qwen3_5ForCausalLM, Qwen3_5TextConfig
    from transformers.models.qwen3_5 import modeling_qwen3_5 as mq

    kernels = [n for n in ("fla", "causal_conv1d") if a.kernels == "auto" and importlib.util.find_spec(n)]
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    dtype = torch.float32 if a.dtype == "f32" else torch.bfloat16
    cuda = dev.type == "cuda"

    def config(size, **over):
        kw = dict(PRESETS[size], linear_conv_kernel_dim=4, rms_norm_eps=1e-6, tie_word_embeddings=True,
                  full_attention_interval=4,
                  rope_parameters={"rope_type": "default", "rope_theta": 1e7, "partial_rotary_factor": 0.25})
        kw.update(over)
        cfg = Qwen3_5TextConfig(**kw)
        cfg._attn_implementation = "sdpa"
        return cfg

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def timed(fn):
        for _ in range(a.warmup):
            fn()
        sync()
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        times = []
        for _ in range(a.iters):
            start = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - start)
        return sorted(times)

    extra, flops = {}, None
    tokens = a.batch * a.seq
    if a.bench == "generate":
        # Greedy decoding as the eval runs it: prefill the --seq prompt tokens of each row, then
        # --new tokens one at a time from the caches; no end-of-sequence stop, so every row
        # makes all of them. tokens/s counts the generated tokens.
        cfg = config(a.size)
        model = Qwen3_5ForCausalLM(cfg).to(device=dev, dtype=dtype).eval()
        ids = torch.randint(0, cfg.vocab_size, (a.batch, a.seq), device=dev)
        mask = torch.ones_like(ids)

        def step():
            with torch.inference_mode():
                model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=a.new, min_new_tokens=a.new,
                               do_sample=False, eos_token_id=None, pad_token_id=0, use_cache=True)
        tokens = a.batch * a.new
        label = f"generate {a.size}"
        extra = dict(size=a.size, new=a.new)
    elif a.bench in ("forward", "train"):
        cfg = config(a.size)
        t0 = time.perf_counter()
        model = Qwen3_5ForCausalLM(cfg).to(device=dev, dtype=dtype)
        init_s = time.perf_counter() - t0
        n_mm = matmul_params(cfg)
        ids = torch.randint(0, cfg.vocab_size, (a.batch, a.seq), device=dev)
        if a.bench == "forward":
            model.eval()

            def step():
                with torch.inference_mode():
                    model(input_ids=ids, use_cache=False).logits.sum().item()
            flops = 2.0 * n_mm * tokens
            label = f"forward {a.size}"
        else:
            if a.gradient_checkpointing:
                model.gradient_checkpointing_enable()
            if a.mode == "lora":
                from peft import LoraConfig, get_peft_model
                model = get_peft_model(model, LoraConfig(r=a.rank, lora_alpha=2 * a.rank, lora_dropout=0.0,
                                                         target_modules=LORA_TARGETS))
            model.train()
            params = [p for p in model.parameters() if p.requires_grad]
            opt = torch.optim.AdamW(params, lr=1e-5)
            losses = []

            def step():
                loss = model(input_ids=ids, labels=ids, use_cache=False).loss
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
                losses.append(loss.item())
            flops = train_flops_per_token(cfg, a.seq, a.mode == "full") * tokens
            label = f"train {a.size} {a.mode}" + ("" if a.mode == "full" else f" r{a.rank}")
            extra = dict(mode=a.mode, rank=a.rank, trainable_params=sum(p.numel() for p in params),
                         gradient_checkpointing=a.gradient_checkpointing, losses=losses)
        extra.update(size=a.size, params=sum(p.numel() for p in model.parameters()), init_s=init_s)
    elif a.bench == "layer":
        kind = {"gdn": "linear_attention", "attention": "full_attention"}[a.kind]
        cfg = config(a.size, num_hidden_layers=1, layer_types=[kind], vocab_size=64)
        layer = mq.Qwen3_5DecoderLayer(cfg, layer_idx=0).to(device=dev, dtype=dtype)
        rope = mq.Qwen3_5TextRotaryEmbedding(cfg).to(dev)
        x0 = torch.randn(a.batch, a.seq, cfg.hidden_size, device=dev, dtype=dtype)
        pos = torch.arange(a.seq, device=dev).unsqueeze(0).expand(a.batch, -1)
        cos_sin = rope(x0, pos)  # expands to the 3 mrope rows itself

        def step():
            x = x0.detach().requires_grad_()
            layer(x, position_embeddings=cos_sin, position_ids=pos).float().sum().backward()
            x.grad.sum().item()
        flops = (train_flops_per_token(cfg, a.seq, True) - 6.0 * cfg.vocab_size * cfg.hidden_size) * tokens
        label = f"layer {a.size} {a.kind}"
        extra = dict(size=a.size, kind=a.kind)
    elif a.bench == "attention":
        from torch.nn.attention import SDPBackend, sdpa_kernel
        import contextlib
        b, t, h, hkv, d = a.batch, a.seq, a.heads, a.kv_heads, a.head_dim
        qkv = [torch.randn(b, n, t, d, device=dev, dtype=dtype) for n in (h, hkv, hkv)]
        def backend():
            return sdpa_kernel(SDPBackend.MATH) if a.form == "plain" else contextlib.nullcontext()

        def step():
            q, k, v = [x.detach().requires_grad_() for x in qkv]
            with backend():
                out = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
            out.float().sum().backward()
            q.grad.sum().item()
        flops = 7.0 * b * h * t * t * d
        label = f"attention h{h}/{hkv} d{d} ({a.form})"
        extra = dict(heads=h, kv_heads=hkv, head_dim=d, form=a.form)
    else:
        fn = mq.torch_chunk_gated_delta_rule  # fla's chunk_gated_delta_rule when fla imports
        b, t, h = a.batch, a.seq, a.heads
        q0 = torch.nn.functional.normalize(torch.randn(b, t, h, a.dk, device=dev), dim=-1)
        k0 = torch.nn.functional.normalize(torch.randn(b, t, h, a.dk, device=dev), dim=-1)
        v0 = torch.randn(b, t, h, a.dv, device=dev)
        g0 = torch.empty(b, t, h, device=dev).uniform_(-0.1, -0.001)
        beta0 = torch.empty(b, t, h, device=dev).uniform_(0.05, 0.95)
        inputs = [x.to(dtype) if a.dtype == "bf16" else x for x in (q0, k0, v0)] + [g0, beta0]

        def step():
            q, k, v, g, beta = [x.detach().requires_grad_() for x in inputs]
            out, _ = fn(q, k, v, g=g, beta=beta, initial_state=None, output_final_state=False,
                        use_qk_l2norm_in_kernel=False)
            out.float().sum().backward()
            q.grad.sum().item()
        label = f"GDN rule h{h} dk{a.dk} dv{a.dv}"
        extra = dict(heads=h, dk=a.dk, dv=a.dv)

    times = timed(step)
    median = statistics.median(times)
    tps = tokens / median
    tflops = flops / median / 1e12 if flops else None
    mfu = tflops / a.peak_tflops if tflops and a.peak_tflops else None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    gpu_mib = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
    impl = f"torch {torch.__version__}" + ("".join(f" + {k}" for k in kernels) if cuda or kernels else "")
    fmt = lambda x, d: "-" if x is None else f"{x:.{d}f}"
    print(f"| {impl} | {label} | {a.device} | {a.dtype} | {a.batch} × {a.seq} | {median:.4f} | {tps:.1f} "
          f"| {fmt(tflops, 3)} | {'-' if mfu is None else f'{100 * mfu:.1f}%'} | {rss:.0f} |")
    print(f"torch threads {torch.get_num_threads()}; kernels {kernels or 'torch fallbacks'}; "
          f"peak allocated {fmt(gpu_mib, 0)} MiB; sorted times {times}", file=sys.stderr, flush=True)
    if a.json:
        out = dict(impl="torch", bench=a.bench, label=label, device=a.device, dtype=a.dtype, batch=a.batch,
                   seq=a.seq, iters=a.iters, warmup=a.warmup, median_s=median, times_s=times, tokens_per_s=tps,
                   tflops=tflops, mfu=mfu, peak_rss_mib=rss, peak_gpu_allocated_mib=gpu_mib,
                   threads=torch.get_num_threads(), torch=torch.__version__, kernels=kernels, **extra)
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


def matmul_params(cfg):
    """Parameters one token passes through as matmuls (layers + output head), as `bench` counts."""
    h, n = cfg.hidden_size, 0
    for lt in cfg.layer_types:
        n += 3 * h * cfg.intermediate_size
        if lt == "full_attention":
            q, kv, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
            n += h * 2 * q * d + 2 * h * kv * d + q * d * h
        else:
            hv, hk = cfg.linear_num_value_heads, cfg.linear_num_key_heads
            vdim = hv * cfg.linear_value_head_dim
            conv = 2 * hk * cfg.linear_key_head_dim + vdim
            n += h * conv + h * vdim + 2 * h * hv + vdim * h
    return n + cfg.vocab_size * h


def train_flops_per_token(cfg, seq, full):
    attn = sum(1 for lt in cfg.layer_types if lt == "full_attention")
    return (6.0 if full else 4.0) * matmul_params(cfg) + 12.0 * attn * seq * cfg.num_attention_heads * cfg.head_dim


if __name__ == "__main__":
    main()
