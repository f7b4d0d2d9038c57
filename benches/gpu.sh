#!/usr/bin/env bash
# One-GPU benchmarks, skillsft side by side with PyTorch + transformers + PEFT (with fla and
# causal-conv1d where they import, and without them), same random-init shapes, same GPU, one run.
#
#   benches/gpu.sh                          # build `bench --features cuda`, run everything
#   FEATURES=wgpu DEVICE=wgpu benches/gpu.sh  # the Vulkan build (what we can build without CUDA's LLVM)
#   BENCH=./bench DEVICE=wgpu benches/gpu.sh  # a prebuilt binary (e.g. carried to a machine with no Rust)
#   SIZES="4b" SEQS="2048" MODES="lora" benches/gpu.sh   # a subset
#
# Writes target/bench/gpu/*.json (+ .gpumem: peak nvidia-smi memory.used above the idle level
# while that process ran, MiB) and prints benches/compare.py's table. A case that fails on one
# side (out of memory, say) is logged in its .log file and left out of the table.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
OUT=${OUT:-target/bench/gpu}
DEVICE=${DEVICE:-cuda}            # skillsft's --device: cuda or wgpu
TORCH_DEVICE=${TORCH_DEVICE:-cuda}
# wgpu has no bf16 arithmetic: both sides run f32 there unless DTYPE says otherwise.
if [ "$DEVICE" = cuda ]; then DTYPE=${DTYPE:-bf16}; else DTYPE=${DTYPE:-f32}; fi
SIZES=${SIZES:-"0.8b 2b 4b"}
SEQS=${SEQS:-"2048 4096"}
MODES=${MODES:-"lora full"}
ITERS=${ITERS:-5}
WARMUP=${WARMUP:-2}
command -v nvidia-smi >/dev/null || { echo "gpu.sh: nvidia-smi not found; it needs one NVIDIA GPU (CPU: benches/cpu.sh)" >&2; exit 1; }
"$PYTHON" -c "import torch, transformers, peft; assert torch.cuda.is_available() or '$TORCH_DEVICE' != 'cuda'" \
  || { echo "gpu.sh: $PYTHON needs torch (with CUDA), transformers and peft" >&2; exit 1; }
mkdir -p "$OUT"
if [ -z "${BENCH:-}" ]; then
  cargo build --release --features "${FEATURES:-cuda}" --bin bench >&2 || exit 1
  BENCH="${CARGO_TARGET_DIR:-target}/release/bench"
fi
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)
case "$GPU" in # dense bf16 peak, TFLOP/s (spec sheets); PEAK_TFLOPS overrides
  *H100*|*H200*|*H800*|*GH200*) PEAK=${PEAK_TFLOPS:-989} ;;
  *A100*|*A800*) PEAK=${PEAK_TFLOPS:-312} ;;
  *L40S*) PEAK=${PEAK_TFLOPS:-362} ;;
  *4090*) PEAK=${PEAK_TFLOPS:-165} ;;
  *) PEAK=${PEAK_TFLOPS:-} ;;
esac
PEAK_ARG=(); [ -n "$PEAK" ] && PEAK_ARG=(--peak-tflops "$PEAK")

source benches/gpumem.sh

case_() { # name, then the arguments both sides share
  local name=$1; shift
  echo ">> $name: $*" >&2
  with_gpumem "$OUT/$name.skillsft.gpumem" "$BENCH" "$@" --device "$DEVICE" --dtype "$DTYPE" --iters "$ITERS" \
    --warmup "$WARMUP" "${PEAK_ARG[@]}" --json "$OUT/$name.skillsft.json" >"$OUT/$name.skillsft.log" 2>&1 \
    || { echo "   skillsft failed: $OUT/$name.skillsft.log" >&2; rm -f "$OUT/$name.skillsft.json"; }
  for kernels in auto none; do
    local tag=torch; [ "$kernels" = none ] && tag=torch-nokernels
    with_gpumem "$OUT/$name.$tag.gpumem" "$PYTHON" benches/train_torch.py "$@" --device "$TORCH_DEVICE" --dtype "$DTYPE" \
      --iters "$ITERS" --warmup "$WARMUP" --kernels "$kernels" "${PEAK_ARG[@]}" --json "$OUT/$name.$tag.json" \
      >"$OUT/$name.$tag.log" 2>&1 || { echo "   $tag failed: $OUT/$name.$tag.log" >&2; rm -f "$OUT/$name.$tag.json"; }
  done
}

# Micro-batches that fill an 80 GB card without checkpointing (halved at seq 4096).
batch_for() { # size mode seq
  local b
  case "$1-$2" in
    0.8b-lora) b=16 ;; 2b-lora) b=8 ;; 4b-lora) b=4 ;;
    0.8b-full) b=8 ;; 2b-full) b=4 ;; 4b-full) b=2 ;;
    *) b=1 ;;
  esac
  [ "$3" -ge 4096 ] && b=$(( b > 1 ? b / 2 : 1 ))
  echo "${BATCH:-$b}"
}

for size in $SIZES; do
  for mode in $MODES; do
    for seq in $SEQS; do
      case_ "train-$size-$mode-$seq" train --size "$size" --mode "$mode" --batch "$(batch_for "$size" "$mode" "$seq")" --seq "$seq"
    done
  done
done
LAYER_SIZE=${LAYER_SIZE:-4b}; LAYER_SEQ=${LAYER_SEQ:-2048}
case_ "layer-$LAYER_SIZE-gdn"  layer --size "$LAYER_SIZE" --kind gdn --batch 4 --seq "$LAYER_SEQ"
case_ "layer-$LAYER_SIZE-attn" layer --size "$LAYER_SIZE" --kind attention --batch 4 --seq "$LAYER_SEQ"
case_ rule-4b-shape             rule --heads 32 --dk 128 --dv 128 --batch 4 --seq "$LAYER_SEQ"
case_ attention-4b-shape        attention --heads 16 --kv-heads 4 --head-dim 256 --batch 4 --seq "$LAYER_SEQ"
case_ attention-4b-shape-plain  attention --heads 16 --kv-heads 4 --head-dim 256 --batch 4 --seq "$LAYER_SEQ" --form plain

"$PYTHON" benches/compare.py "$OUT" --machine "$GPU; skillsft on --device $DEVICE ($( [ "$DEVICE" = wgpu ] && echo Vulkan || echo CUDA)), PyTorch on CUDA; $DTYPE; peak $PEAK TFLOP/s for MFU" | tee "$OUT/table.md"
