#!/usr/bin/env bash
# Install the LLVM 23 that `--features cuda` links, from PyPI wheels, where Burn's build would
# otherwise download it from GitHub.
#
# Why: cubecl-cuda turns CubeCL kernels into PTX with LLVM's NVPTX backend and always links
# LLVM 23. The build script of its dependency `tracel-llvm-bundler` downloads a prebuilt LLVM
# from GitHub releases unless a marker file says one is installed. Where that download cannot
# happen (no internet at build time, a proxy that blocks GitHub, CI sandboxes, air-gapped
# clusters), the PyPI wheels mlc-llvm-static + mlc-llvm-static-extra-targets hold the same
# LLVM 23 (static libraries, headers, llvm-config, the NVPTX target). This script puts them
# where the bundler looks: ${XDG_DATA_HOME:-~/.local/share}/tracel/tracel-llvm-23.1.0-4.
# With internet access to GitHub at build time you do not need it.
#
# Usage:
#   tools/cuda/install-llvm.sh                 # download the wheels with pip, install, check
#   tools/cuda/install-llvm.sh --wheels DIR    # install from wheels already in DIR (offline)
#   tools/cuda/install-llvm.sh --check         # only say whether a usable LLVM is installed
#   tools/cuda/install-llvm.sh --force         # reinstall over an existing one
#
# Idempotent: a second run finds the marker and a working llvm-config and does nothing.
set -euo pipefail

# The bundler version pinned by Cargo.lock (tracel-llvm-bundler 23.1.0-4) decides the folder;
# the wheel version is the LLVM release the bundler's llvm-config answers for.
BUNDLE="tracel-llvm-23.1.0-4"
LLVM_MAJOR="23"
WHEEL_VERSION="23.1.1.post0"
WHEELS=(mlc-llvm-static mlc-llvm-static-extra-targets)
# The NVPTX target must be in the install: cubecl-cuda compiles every kernel through it.
NEED_COMPONENT="nvptx"

say() { printf 'install-llvm: %s\n' "$*"; }
die() { printf 'install-llvm: error: %s\n' "$*" >&2; exit 1; }

mode=install wheel_dir="" force=0
while [ $# -gt 0 ]; do
  case "$1" in
    --wheels) [ $# -ge 2 ] || die "--wheels needs a directory"; wheel_dir="$2"; shift 2 ;;
    --check) mode=check; shift ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) die "the PyPI wheels used here are for Linux x86-64; on $(uname -s)-$(uname -m) let the build download LLVM (needs internet at build time)" ;;
esac

data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
dest="$data_home/tracel/$BUNDLE"
marker="$dest/.tracel-llvm-installed"

# Is the install at $dest usable? Prints why not on failure.
check_install() {
  local cfg="$dest/bin/llvm-config" v
  [ -e "$marker" ] || { echo "no marker $marker"; return 1; }
  [ -x "$cfg" ] || { echo "no executable $cfg"; return 1; }
  v="$("$cfg" --version 2>/dev/null)" || { echo "$cfg --version failed"; return 1; }
  case "$v" in "$LLVM_MAJOR".*) ;; *) echo "LLVM $v at $dest, need $LLVM_MAJOR.x"; return 1 ;; esac
  "$cfg" --components 2>/dev/null | tr ' ' '\n' | grep -qx "$NEED_COMPONENT" \
    || { echo "LLVM at $dest lacks the $NEED_COMPONENT target"; return 1; }
  [ -d "$("$cfg" --includedir)/llvm-c" ] || { echo "LLVM at $dest has no C headers"; return 1; }
  echo "LLVM $v with $NEED_COMPONENT at $dest"
}

if [ "$mode" = check ]; then
  if why="$(check_install)"; then say "ok: $why"; exit 0; else say "not installed: $why"; exit 1; fi
fi

if [ "$force" = 0 ] && why="$(check_install)"; then
  say "already installed, nothing to do: $why"
  exit 0
fi

command -v python3 >/dev/null || die "python3 is needed to unpack the wheels"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ -z "$wheel_dir" ]; then
  wheel_dir="$work/wheels"
  specs=(); for w in "${WHEELS[@]}"; do specs+=("$w==$WHEEL_VERSION"); done
  say "downloading ${specs[*]} from PyPI"
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$wheel_dir" "${specs[@]}" \
    || die "pip could not download the wheels; download them elsewhere (pip download --no-deps ${specs[*]}) and pass --wheels DIR"
fi

for w in "${WHEELS[@]}"; do
  f="$(ls "$wheel_dir"/"${w//-/_}"-"$WHEEL_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
  [ -n "$f" ] || die "no ${w//-/_}-$WHEEL_VERSION-*.whl in $wheel_dir (need version $WHEEL_VERSION exactly)"
  say "unpacking $(basename "$f")"
  python3 -m zipfile -e "$f" "$work/x"
done

src="$work/x/mlc_llvm_static/static"
[ -x "$src/bin/llvm-config" ] || chmod +x "$src/bin/llvm-config" 2>/dev/null || true
[ -e "$src/bin/llvm-config" ] || die "the wheels have no mlc_llvm_static/static/bin/llvm-config: not the layout this script knows"

# Install into a sibling folder, then rename: an interrupted run leaves no half install with a marker.
mkdir -p "$data_home/tracel"
tmp="$dest.partial.$$"
rm -rf "$tmp"
mkdir -p "$tmp" && cp -a "$src/." "$tmp/" || die "copying into $tmp failed (disk full?)"
chmod +x "$tmp/bin/"* 2>/dev/null || true
touch "$tmp/.tracel-llvm-installed"
rm -rf "$dest"
mv "$tmp" "$dest"

if why="$(check_install)"; then
  say "installed: $why ($(du -sh "$dest" | cut -f1))"
  say "now: cargo build --release --features cuda --bin train   (no LLVM download at build time)"
else
  die "installed at $dest but the check failed: $why"
fi
