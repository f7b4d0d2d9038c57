#!/usr/bin/env bash
# Side-by-side CPU benchmarks: skillsft (Burn flex, f32) vs PyTorch + transformers (+ PEFT) on the
# same random-init shapes, same dtype, same thread count, one run on one machine.
#
#   PYTHON=/path/to/venv/bin/python benches/cpu.sh            # 2 threads, results in target/bench/cpu
#   THREADS=4 QUICK=1 benches/cpu.sh                           # tiny shapes only
#   LONG=1 benches/cpu.sh                                      # also 4 × 512 at 0.8B (slow)
#   ONLY="attention-0.8b rule-0.8b" benches/cpu.sh             # just these rows
#   SIDES=skillsft BENCH=old/bench OUT=dir benches/cpu.sh      # only our side (a before/after)
#
# Needs: torch, transformers and peft (tools/fixtures/requirements.txt) for the PyTorch side.
# BENCH=path/to/bench uses a prebuilt binary instead of `cargo build --release`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
THREADS=${THREADS:-2}
OUT=${OUT:-target/bench/cpu}
mkdir -p "$OUT"
if [ -z "${BENCH:-}" ]; then
  cargo build --release --bin bench >&2
  BENCH="${CARGO_TARGET_DIR:-target}/release/bench"
fi
# Burn's flex backend parallelises with rayon; pin both sides to the same thread count.
export RAYON_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS

run() { # name, then the arguments both sides share
  local name=$1; shift
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then return; fi
  echo ">> $name: $*" >&2
  "$BENCH" "$@" --json "$OUT/$name.skillsft.json" >/dev/null
  [ "${SIDES:-both}" = skillsft ] && return
  "$PYTHON" benches/train_torch.py "$@" --threads "$THREADS" --json "$OUT/$name.torch.json" >/dev/null 2>"$OUT/$name.torch.log"
}

run train-tiny-lora  train --size tiny --mode lora --batch 4 --seq 256 --iters 10
run train-tiny-full  train --size tiny --mode full --batch 4 --seq 256 --iters 10
run layer-tiny-gdn   layer --size tiny --kind gdn --batch 4 --seq 256 --iters 10
run layer-tiny-attn  layer --size tiny --kind attention --batch 4 --seq 256 --iters 10
run rule-tiny        rule --heads 4 --dk 16 --dv 24 --batch 4 --seq 256 --iters 10
run attention-tiny   attention --heads 4 --kv-heads 2 --head-dim 16 --batch 4 --seq 256 --iters 10
run forward-tiny     forward --size tiny --batch 4 --seq 256 --iters 10
if [ -z "${QUICK:-}" ]; then
  run train-0.8b-lora  train --size 0.8b --mode lora --batch 1 --seq 128 --iters 3
  run layer-0.8b-gdn   layer --size 0.8b --kind gdn --batch 1 --seq 512 --iters 3
  run layer-0.8b-attn  layer --size 0.8b --kind attention --batch 1 --seq 512 --iters 3
  run rule-0.8b        rule --heads 16 --dk 128 --dv 128 --batch 1 --seq 512 --iters 3
  run attention-0.8b   attention --heads 8 --kv-heads 2 --head-dim 256 --batch 1 --seq 512 --iters 3
  run forward-0.8b     forward --size 0.8b --batch 1 --seq 128 --iters 3
  run forward-0.8b-512 forward --size 0.8b --batch 1 --seq 512 --iters 2
  run train-0.8b-lora-512 train --size 0.8b --mode lora --batch 1 --seq 512 --iters 2
  run generate-0.8b-1  generate --size 0.8b --batch 1 --seq 64 --new 32 --iters 2
  run generate-0.8b-8  generate --size 0.8b --batch 8 --seq 64 --new 32 --iters 2
fi
# The study's batch shape (4 rows of ~512 tokens): minutes per side on a small machine.
if [ -n "${LONG:-}" ]; then
  run forward-0.8b-4x512 forward --size 0.8b --batch 4 --seq 512 --iters 1
  run train-0.8b-lora-4x512 train --size 0.8b --mode lora --batch 4 --seq 512 --iters 1
fi
"$PYTHON" benches/compare.py "$OUT" --machine "$(nproc)-core $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $THREADS threads, f32"
