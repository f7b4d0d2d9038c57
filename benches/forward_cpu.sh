#!/usr/bin/env bash
# Side-by-side CPU forward throughput: skillsft (Burn flex) vs PyTorch + transformers, same
# random-init shapes, same dtype, same thread count, one run on one machine.
#
#   benches/forward_cpu.sh                       # tiny and 0.8B shapes, 2 threads
#   PYTHON=/path/to/venv/bin/python THREADS=4 benches/forward_cpu.sh
#
# Needs: torch and transformers (tools/fixtures/requirements.txt) for the PyTorch side.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
THREADS=${THREADS:-2}
OUT=${OUT:-target/bench}
mkdir -p "$OUT"
cargo build --release --bin bench >&2

# Burn's flex backend parallelises with rayon; pin both sides to the same thread count.
export RAYON_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS

echo "| impl | size | device | dtype | batch | seq | median s | tokens/s |"
echo "|---|---|---|---|---|---|---|---|"
while read -r size batch seq iters; do
  rust=$("${CARGO_TARGET_DIR:-target}"/release/bench forward --size "$size" --batch "$batch" --seq "$seq" --iters "$iters" \
           --json "$OUT/forward_${size}_rust.json" | tail -n 1)
  torch=$("$PYTHON" benches/forward_torch.py --size "$size" --batch "$batch" --seq "$seq" --iters "$iters" \
           --threads "$THREADS" --json "$OUT/forward_${size}_torch.json")
  echo "$rust"
  echo "$torch"
  "$PYTHON" - "$OUT/forward_${size}_rust.json" "$OUT/forward_${size}_torch.json" <<'PY'
import json, sys
r, t = (json.load(open(p)) for p in sys.argv[1:3])
print(f"| ratio skillsft / torch | {r['size']} | | | | | | {r['tokens_per_s'] / t['tokens_per_s']:.2f}x |")
PY
done <<'CASES'
tiny 4 256 10
0.8b 1 128 3
CASES
