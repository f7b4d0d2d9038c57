#!/usr/bin/env bash
# The data and eval crates against a REAL OpenAI-compatible server instead of the loopback fakes
# of the tests: llama-cpp-python's server on a random tiny Qwen3.5 converted to GGUF.
#
#   tools/realserver/check.sh [WORKDIR]          # default WORKDIR: target/realserver
#
# It runs, against that server:
#   1. build-data with it as teacher and LLM judge (--judge-all);
#   2. eval run with it as an API student (--concurrency 2), scored offline and by it as an
#      LLM-only judge;
#   3. eval judge adding it as a second path (extractor + LLM judge), then --retry-unscorable;
#   4. eval report;
# and prints what each step wrote. A random model's replies are noise: expect the judge to
# answer without a verdict (empty, cut off at max_tokens, rambling) and the build to keep
# almost nothing. The point is that nothing stops: unscorable verdicts are recorded and counted.
#
# Not in CI: installing llama-cpp-python compiles llama.cpp (about 10 minutes on 2 cores).
# Needs: PYTHON (default python3) with llama-cpp-python[server]==0.3.36, torch and transformers
# (`pip install -r tools/realserver/requirements.txt`); the binaries in BIN (default target/debug:
# `cargo build --bin build-data --bin eval`); SDIST, llama-cpp-python's source archive, for
# llama.cpp's convert_hf_to_gguf.py (downloaded from PyPI when unset).
set -uo pipefail
cd "$(dirname "$0")/../.."
W=$(realpath -m "${1:-target/realserver}")
PYTHON=${PYTHON:-python3}
BIN=${BIN:-target/debug}
PORT=${PORT:-18431}
URL="http://127.0.0.1:$PORT/v1"
mkdir -p "$W"
say() { printf '\n== %s\n' "$*"; }
die() { printf 'check.sh: %s\n' "$*" >&2; exit 1; }

"$PYTHON" -c "import llama_cpp, llama_cpp.server, torch, transformers" 2>/dev/null \
  || die "$PYTHON lacks llama-cpp-python[server], torch or transformers: pip install -r tools/realserver/requirements.txt"
for b in build-data eval; do [ -x "$BIN/$b" ] || die "no $BIN/$b: cargo build --bin build-data --bin eval (or set BIN)"; done
"$PYTHON" -c "import llama_cpp; print('llama-cpp-python', llama_cpp.__version__)"

say "a random tiny Qwen3.5 (real tokenizer), converted to GGUF with llama.cpp's converter"
if [ ! -f "$W/tiny.gguf" ]; then
  "$PYTHON" tools/realserver/make_tiny_model.py "$W/tiny" || die "making the model failed"
  if [ -z "${SDIST:-}" ]; then
    SDIST="$W/llama_cpp_python-0.3.36.tar.gz"
    [ -f "$SDIST" ] || "$PYTHON" -m pip download -q --no-deps --no-binary :all: --no-build-isolation -d "$W" llama-cpp-python==0.3.36 \
      || die "could not download llama-cpp-python's sdist; set SDIST"
  fi
  rm -rf "$W/llama.cpp" && mkdir -p "$W/llama.cpp"
  tar xzf "$SDIST" -C "$W/llama.cpp" --strip-components=3 --wildcards '*/vendor/llama.cpp/convert_hf_to_gguf.py' \
    '*/vendor/llama.cpp/gguf-py' '*/vendor/llama.cpp/conversion' || die "unexpected layout in $SDIST"
  PYTHONPATH="$W/llama.cpp/gguf-py" "$PYTHON" "$W/llama.cpp/convert_hf_to_gguf.py" "$W/tiny" --outfile "$W/tiny.gguf" \
    --outtype f32 --no-mtp >"$W/convert.log" 2>&1 || die "conversion failed: $W/convert.log"
fi
ls -la "$W/tiny.gguf"

say "llama-cpp-python's OpenAI-compatible server on $URL"
"$PYTHON" -m llama_cpp.server --model "$W/tiny.gguf" --model_alias tiny --host 127.0.0.1 --port "$PORT" \
  --n_ctx 8192 >"$W/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
for _ in $(seq 60); do curl -sf "$URL/models" >/dev/null && break; sleep 1; done
curl -sf "$URL/models" || die "the server did not come up: $W/server.log"
echo

say "1. build-data: teacher and LLM judge on the server"
rm -rf "$W/api-data"
"$BIN/build-data" --out "$W/api-data" --teacher openai:tiny --base-url "$URL" --judge openai:tiny --judge-base-url "$URL" \
  --judge-all --rows 2 --holdout-skills 1 --tasks-per-skill 1 --max-tokens 256 --max-candidates-per-row 2 --concurrency 2
echo "build-data exit $?"
[ -f "$W/api-data/manifest.json" ] && "$PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1]))['counts'])" "$W/api-data/manifest.json"

say "2. eval run: the server as API student and LLM-only judge"
rm -rf "$W/data" "$W/eval"
"$BIN/build-data" --out "$W/data" --rows 2 --holdout-skills 3 --tasks-per-skill 1 >/dev/null || die "offline build-data failed"
"$BIN/eval" run --student openai:tiny --base-url "$URL" --judge offline --judge llm-only:openai:tiny --judge-base-url "$URL" \
  --holdout "$W/data/holdout.jsonl" --out "$W/eval" --max-new-tokens 64 --concurrency 2 --quiet
echo "eval run exit $?"
summarise() {
  "$PYTHON" - "$W/eval/episodes.jsonl" <<'PY'
import collections, json, sys
eps = [json.loads(l) for l in open(sys.argv[1])]
print(f"{len(eps)} episodes; output_tokens from usage: {sorted({e['output_tokens'] for e in eps})}; finish: {dict(collections.Counter(e['finish'] for e in eps))}")
per = collections.defaultdict(collections.Counter)
for e in eps:
    for v in e["verdicts"]:
        per[v["judge"]]["unscorable" if v["pass"] is None else ("pass" if v["pass"] else "fail")] += 1
for j, c in per.items():
    print(f"  {j}: {dict(c)}")
errs = [v["error"] for e in eps for v in e["verdicts"] if v.get("error")]
if errs:
    print("  e.g. error:", errs[0][:160])
PY
}
summarise

say "3. eval judge: a second path, then --retry-unscorable"
"$BIN/eval" judge --episodes "$W/eval/episodes.jsonl" --holdout "$W/data/holdout.jsonl" --judge openai:tiny \
  --judge llm-only:openai:tiny --judge-base-url "$URL" --concurrency 2
echo "eval judge exit $?"
"$BIN/eval" judge --episodes "$W/eval/episodes.jsonl" --holdout "$W/data/holdout.jsonl" --judge openai:tiny \
  --judge llm-only:openai:tiny --judge-base-url "$URL" --concurrency 2 --retry-unscorable
echo "eval judge --retry-unscorable exit $?"
summarise

say "4. eval report"
"$BIN/eval" report --episodes "$W/eval/episodes.jsonl" --out "$W/report" --resamples 1000
echo "eval report exit $?"
sed -n '/## Unscorable/,/## Pass rates/p' "$W/report/report.md" | head -n -1
sed -n '/## Procedural/,/## SFT/p' "$W/report/report.md" | head -n -1
