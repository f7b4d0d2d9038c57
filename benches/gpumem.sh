# Sourced by gpu.sh and gpu-lent.sh.
# with_gpumem MEMFILE CMD...: runs CMD while sampling nvidia-smi's memory.used every 100 ms and
# writes the peak above the level before it started (MiB) to MEMFILE. Without nvidia-smi it only
# runs CMD. Returns CMD's status.
with_gpumem() {
  local memfile=$1; shift
  if ! command -v nvidia-smi >/dev/null; then "$@"; return; fi
  local idle; idle=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -n 1)
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 >"$memfile.samples" &
  local sampler=$!
  "$@"; local rc=$?
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null
  sort -n "$memfile.samples" | tail -n 1 | awk -v idle="$idle" '{print $1 - idle}' >"$memfile"
  rm -f "$memfile.samples"
  return $rc
}
