#!/usr/bin/env bash
# Installs the benchmark's Open3D peer into .venv (after scripts/setup_env.sh).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
vpy="$repo/.venv/bin/python"
stamp="$repo/.venv/.fpose_bench_stamp"
want=$(sha256sum "$repo/requirements-bench.txt" | cut -c1-16)
[[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && exit 0

"$vpy" -m pip install -q -r "$repo/requirements-bench.txt"
# Open3D's wheel links libusb (for its RealSense support) even when unused.
if ! ldconfig -p | grep -q 'libusb-1.0.so.0'; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    apt-get install -y -q libusb-1.0-0 >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q libusb-1.0-0 >/dev/null; }
  else
    echo "[setup-bench] Open3D needs libusb: run 'sudo apt-get install libusb-1.0-0' (the benchmark runs without the peer until then)" >&2
  fi
fi
echo "$want" >"$stamp"
