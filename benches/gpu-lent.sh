#!/usr/bin/env bash
# The GPU table and the GPU correctness check in ONE call on a lent GPU machine: PyTorch +
# transformers + PEFT are there, Rust and the network are not. Everything skillsft runs comes
# from one carried, xz-compressed CUDA `bench` binary; missing Python packages (fla, a newer
# transformers) come as carried wheels. A global deadline keeps the call inside its limit: cases
# run in order of importance and whatever does not fit is listed as skipped, never estimated.
#
# Here (with Rust), once:
#   tools/cuda/install-llvm.sh
#   cargo build --release --features cuda --bin bench
#   mkdir -p .carry && strip -o .carry/bench target/release/bench && xz -6 -f .carry/bench
#   echo /.carry/ >> .git/info/exclude; echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 -d .whl flash-linear-attention==0.6.0 fla-core==0.6.0   # 1.5 MB
# There (carry .carry and .whl; the device tool returns at most 8 files from its $OUT):
#   BENCH_XZ=.carry/bench.xz WHEELS=.whl OUT=/tmp/gl benches/gpu-lent.sh; tar czf $OUT/gl.tgz -C /tmp gl
# Rehearsal on a CPU (same script, CPU torch, a CPU build, small shapes):
#   BENCH=target/release/bench DEVICE=cpu TORCH_DEVICE=cpu DTYPE=f32 SMALL=1 PYTHON=/work/pyenv/bin/python benches/gpu-lent.sh
#
# Variables: BUDGET (seconds for the whole script, default 450), CASE_TIMEOUT (per side, 150),
# ITERS (3), WARMUP (1), BATCH (1), SEQ (2048), OUT (target/bench/gpu-lent).
set -uo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
PYTHON=${PYTHON:-python3}
OUT=${OUT:-target/bench/gpu-lent}
DEVICE=${DEVICE:-cuda}
TORCH_DEVICE=${TORCH_DEVICE:-cuda}
DTYPE=${DTYPE:-bf16}
BUDGET=${BUDGET:-450}
CASE_TIMEOUT=${CASE_TIMEOUT:-150}
ITERS=${ITERS:-3}
WARMUP=${WARMUP:-1}
BATCH=${BATCH:-1}
SEQ=${SEQ:-2048}
SMALL=${SMALL:-0}
mkdir -p "$OUT"
log() { printf '[%4ds] %s\n' "$(( $(date +%s) - t0 ))" "$*" >&2; }
left() { echo $(( BUDGET - ($(date +%s) - t0) )); }

# 1. The binary and the wheels.
if [ -z "${BENCH:-}" ]; then
  [ -n "${BENCH_XZ:-}" ] && [ -f "$BENCH_XZ" ] || { echo "gpu-lent.sh: set BENCH (a binary) or BENCH_XZ (an xz-compressed one)" >&2; exit 2; }
  BENCH=/tmp/skillsft-bench
  xz -dc "$BENCH_XZ" >"$BENCH" && chmod +x "$BENCH" || { echo "gpu-lent.sh: cannot unpack $BENCH_XZ" >&2; exit 2; }
fi
if [ -n "${WHEELS:-}" ] && ls "$WHEELS"/*.whl >/dev/null 2>&1; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/skillsft-site "$WHEELS"/*.whl \
    && export PYTHONPATH=/tmp/skillsft-site${PYTHONPATH:+:$PYTHONPATH} || log "wheel install failed; using what is installed"
fi
{
  echo "date: $(date -u +%FT%TZ)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  "$PYTHON" - <<'PY'
import importlib, torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "device", torch.cuda.get_device_name() if torch.cuda.is_available() else "none")
for n in ("transformers", "peft", "fla", "triton", "causal_conv1d"):
    try:
        print(n, importlib.import_module(n).__version__)
    except Exception as e:
        print(n, "not importable:", type(e).__name__)
PY
} 2>&1 | tee "$OUT/env.txt" >&2
GPU=$(command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1 || echo cpu)
case "$GPU" in *H100*|*H200*|*H800*) PEAK_ARG=(--peak-tflops "${PEAK_TFLOPS:-989}") ;; *) PEAK_ARG=() ;; esac

# 2. Correctness first: it decides whether the speed figures mean anything.
log "correctness: bench check on $DEVICE, then transformers + PEFT on $TORCH_DEVICE"
timeout "$CASE_TIMEOUT" "$BENCH" check --device "$DEVICE" --out "$OUT/check" >"$OUT/check.log" 2>&1 \
  || log "bench check failed (exit $?): see check.log"
timeout "$CASE_TIMEOUT" "$PYTHON" benches/gpu_check.py --ours "$OUT/check" --device "$TORCH_DEVICE" >"$OUT/check.md" 2>"$OUT/check.py.log"
echo "check exit $?" >>"$OUT/check.md"

# 3. Speed, most important first; each side under CASE_TIMEOUT, the whole under BUDGET.
source benches/gpumem.sh
SKIPPED=()
case_() { # name, torch variants ("auto", "auto none"), then the arguments both sides share
  local name=$1 variants=$2; shift 2
  if [ "$(left)" -lt 40 ]; then SKIPPED+=("$name"); log "skip $name: budget spent"; return; fi
  log "$name: $*"
  with_gpumem "$OUT/$name.skillsft.gpumem" timeout "$CASE_TIMEOUT" "$BENCH" "$@" --device "$DEVICE" --dtype "$DTYPE" \
    --iters "$ITERS" --warmup "$WARMUP" "${PEAK_ARG[@]}" --json "$OUT/$name.skillsft.json" >"$OUT/$name.skillsft.log" 2>&1 \
    || { log "   skillsft failed or timed out: $name.skillsft.log"; rm -f "$OUT/$name.skillsft.json"; }
  local k tag
  for k in $variants; do
    [ "$(left)" -lt 20 ] && { SKIPPED+=("$name torch $k"); continue; }
    tag=torch; [ "$k" = none ] && tag=torch-nokernels
    with_gpumem "$OUT/$name.$tag.gpumem" timeout "$CASE_TIMEOUT" "$PYTHON" benches/train_torch.py "$@" --device "$TORCH_DEVICE" \
      --dtype "$DTYPE" --iters "$ITERS" --warmup "$WARMUP" --kernels "$k" "${PEAK_ARG[@]}" --json "$OUT/$name.$tag.json" \
      >"$OUT/$name.$tag.log" 2>&1 || { log "   $tag failed or timed out: $name.$tag.log"; rm -f "$OUT/$name.$tag.json"; }
  done
}
if [ "$SMALL" = 1 ]; then
  # The rehearsal: the same cases (same file names) at the tiny preset's shapes.
  S4=tiny; S2=tiny; S08=tiny; RULE=(--heads 4 --dk 16 --dv 24); ATT=(--heads 4 --kv-heads 2 --head-dim 16)
else
  S4=4b; S2=2b; S08=0.8b; RULE=(--heads 32 --dk 128 --dv 128); ATT=(--heads 16 --kv-heads 4 --head-dim 256)
fi
case_ train-4b-lora   "auto none" train --size "$S4" --mode lora --batch "$BATCH" --seq "$SEQ"
case_ rule-4b-shape    "auto none" rule "${RULE[@]}" --batch "$BATCH" --seq "$SEQ"
case_ attention-4b-shape-fused "auto" attention "${ATT[@]}" --batch "$BATCH" --seq "$SEQ" --form fused
case_ attention-4b-shape-plain "auto" attention "${ATT[@]}" --batch "$BATCH" --seq "$SEQ" --form plain
case_ train-0.8b-lora "auto" train --size "$S08" --mode lora --batch "$BATCH" --seq "$SEQ"
case_ train-2b-lora    "auto" train --size "$S2" --mode lora --batch "$BATCH" --seq "$SEQ"
case_ train-0.8b-full "auto" train --size "$S08" --mode full --batch "$BATCH" --seq "$SEQ"
case_ forward-4b          "auto" forward --size "$S4" --batch "$BATCH" --seq "$SEQ"

# 4. The tables (the reply carries the end of the output: put them last).
{
  echo
  "$PYTHON" benches/compare.py "$OUT" --machine "$GPU; skillsft --device $DEVICE, PyTorch on $TORCH_DEVICE; $DTYPE; kernels ${SKILLSFT_KERNELS:-auto}"
  [ ${#SKIPPED[@]} -gt 0 ] && echo && echo "Not measured (budget of ${BUDGET} s spent): ${SKIPPED[*]}"
  cat "$OUT/check.md"
  echo "total $(( $(date +%s) - t0 )) s"
} | tee "$OUT/table.md"
