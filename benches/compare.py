"""Pairs `bench` (skillsft) and `benches/train_torch.py` (PyTorch) JSON results of the same work and
prints one Markdown table with the ratios, as `benches/cpu.sh` and `benches/gpu.sh` collect them.

    python benches/compare.py RESULTS_DIR [--machine "2-core AMD EPYC, flex f32"]
    python benches/compare.py AFTER_DIR --before BEFORE_DIR    # also a before/after table

With --before, a second table puts skillsft's tokens/s from BEFORE_DIR (another build, e.g.
`SIDES=skillsft BENCH=old/bench OUT=... benches/cpu.sh`) next to RESULTS_DIR's, each as a ratio
to RESULTS_DIR's PyTorch figure for the same work.

Medians are recomputed here from each file's `times_s` with `statistics.median` (the mean of
the middle two for an even count), so both sides use one definition whatever wrote the file:
`bench` before 2026-12-08 stored the upper middle run, which for 2-run rows is the slower one.

Files are paired by name: `NAME.skillsft.json` with `NAME.torch*.json` (e.g. `.torch.json` with
fla, `.torch-nokernels.json` without). `NAME.*.gpumem` (one number, MiB, the peak of
nvidia-smi's memory.used while that process ran, written by gpu.sh) fills the device-memory column.
"""
import argparse
import glob
import json
import os
import statistics


def load(path):
    """A result file with `median_s`, `tokens_per_s` and `mfu` recomputed from its timed runs."""
    r = json.load(open(path))
    times = r.get("times_s")
    if times:
        old, new = r["median_s"], statistics.median(times)
        r["median_s"] = new
        r["tokens_per_s"] *= old / new
        if r.get("mfu") is not None:
            r["mfu"] *= old / new
    return r


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir")
    p.add_argument("--machine", default="")
    p.add_argument("--before", help="results of an earlier skillsft build, for a before/after table")
    a = p.parse_args()
    rows = []
    for ours in sorted(glob.glob(os.path.join(a.dir, "*.skillsft.json"))):
        name = os.path.basename(ours)[: -len(".skillsft.json")]
        r = load(ours)
        rows.append((name, "skillsft", r, None))
        for theirs in sorted(glob.glob(os.path.join(a.dir, f"{name}.torch*.json"))):
            tag = os.path.basename(theirs)[len(name) + 1: -len(".json")]
            rows.append((name, tag, load(theirs), r))
    if a.machine:
        print(f"Machine: {a.machine}\n")
    print("| work | impl | device | dtype | batch × seq | median s | tokens/s | MFU | peak memory MiB | skillsft ÷ this (tokens/s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, tag, r, ours in rows:
        impl = "skillsft (burn)" if tag == "skillsft" else f"torch {r.get('torch', '')}" + "".join(
            f" + {k}" for k in r.get("kernels", []))
        if tag == "torch-nokernels":
            impl += ", fla/causal-conv1d off"
        elif tag == "torch" and not r.get("kernels") and r.get("device", "").startswith("cuda"):
            impl += " (fla not installed)"
        mem = read_mem(a.dir, name, tag)
        if mem is None:
            mem = r.get("peak_gpu_allocated_mib") or r.get("peak_rss_mib")
        mfu = r.get("mfu")
        ratio = "" if ours is None else f"{ours['tokens_per_s'] / r['tokens_per_s']:.2f}×"
        print(f"| {r['label']} | {impl} | {r['device']} | {r['dtype']} | {r['batch']} × {r['seq']} "
              f"| {r['median_s']:.4f} | {r['tokens_per_s']:,.1f} | {'-' if mfu is None else f'{100 * mfu:.1f}%'} "
              f"| {'-' if mem is None else f'{mem:,.0f}'} | {ratio} |")
    if a.before:
        before_after(a.dir, a.before)


def before_after(after_dir, before_dir):
    print("\n| work | batch × seq | skillsft before (tokens/s) | skillsft after | torch | before ÷ torch | after ÷ torch |")
    print("|---|---|---|---|---|---|---|")
    for ours in sorted(glob.glob(os.path.join(after_dir, "*.skillsft.json"))):
        name = os.path.basename(ours)[: -len(".skillsft.json")]
        after = load(ours)
        theirs = os.path.join(after_dir, f"{name}.torch.json")
        torch = load(theirs)["tokens_per_s"] if os.path.exists(theirs) else None
        old = os.path.join(before_dir, f"{name}.skillsft.json")
        before = load(old)["tokens_per_s"] if os.path.exists(old) else None
        ratio = lambda x: "-" if x is None or torch is None else f"{x / torch:.2f}×"
        num = lambda x: "-" if x is None else f"{x:,.1f}"
        print(f"| {after['label']} | {after['batch']} × {after['seq']} | {num(before)} | {num(after['tokens_per_s'])} "
              f"| {num(torch)} | {ratio(before)} | {ratio(after['tokens_per_s'])} |")


def read_mem(d, name, tag):
    path = os.path.join(d, f"{name}.{tag}.gpumem")
    if os.path.exists(path):
        text = open(path).read().strip()
        return float(text) if text else None
    return None


if __name__ == "__main__":
    main()
