#!/usr/bin/env bash
# The GPU check: the whole test suite (CUDA tests included) and the CUDA speed table on a
# machine with an NVIDIA GPU, Python 3.12 and a CUDA torch already installed, but none
# of grutui's other dependencies and no network.
#
#   1. Here, with network (once; .gpu/ is git-ignored):
#        bench/gpu_check.sh --download
#      puts the wheels of what the suite needs and the machine's image lacks into
#      .gpu/wheels (the versions this project's CPU environment is tested with, built
#      for CPython 3.12 on manylinux x86-64; ~4 MB).
#   2. On the GPU machine, in a copy of the tree that includes .gpu/wheels (the device
#      tool: `carry` .gpu/wheels, command `bash bench/gpu_check.sh`, timeout 600):
#        bench/gpu_check.sh
#      installs those wheels into .gpu/site (no index, no dependency resolution: the
#      list is complete), then runs the CUDA tests, `bench/train_speed.py --device
#      cuda`, `bench/app_training.py --device cuda` (with a screenshot of the Train
#      pane at 80×24) and `pytest -n 14` over all tests, writing each log and a summary
#      (gpu_check.txt) to $OUT (default .gpu/out).
set -uo pipefail
cd "$(dirname "$0")/.."

# grutui's runtime and test dependencies that the GPU machine's image lacks, at the
# versions this project's CPU environment is tested with (the UI snapshots depend on
# textual's and rich's). numpy, scipy and h5py are the image's own: their wheels are
# ~57 MB, and what a `run` call carries (tree and wheels) is capped at 64 MiB.
WHEELS=(
  rich==15.0.0 markdown-it-py==4.3.0 mdurl==0.1.2 Pygments==2.21.0
  textual==8.2.8 mdit-py-plugins==0.7.0 linkify-it-py==2.2.0 platformdirs==4.14.9
  typing_extensions==4.16.0 textual-plotext==1.0.1 plotext==5.3.2
  pytest==8.4.2 iniconfig==2.3.1 packaging==26.4 pluggy==1.7.0
  pytest-asyncio==1.5.0 pytest-textual-snapshot==1.1.0 syrupy==4.8.0
  Jinja2==3.1.6 MarkupSafe==3.0.4 pytest-xdist==3.8.0 execnet==2.1.2
  hypothesis==6.170.17 sortedcontainers==2.4.0
)

if [[ "${1:-}" == "--download" ]]; then
  mkdir -p .gpu/wheels
  exec python3 -m pip download --only-binary=:all: --no-deps --implementation cp \
    --python-version 3.12 --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
    -d .gpu/wheels "${WHEELS[@]}"
fi

OUT="${OUT:-.gpu/out}"
mkdir -p "$OUT" .gpu/site
summary="$OUT/gpu_check.txt"
{
  echo "host $(hostname)  $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1
  python3 -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__,
  "cuda", torch.cuda.is_available())'
} | tee "$summary"

python3 -m pip install --quiet --no-index --no-deps --target .gpu/site .gpu/wheels/*.whl \
  >"$OUT/pip.log" 2>&1 || { echo "wheel install failed: see $OUT/pip.log" | tee -a "$summary"; exit 1; }
export PYTHONPATH="$PWD:$PWD/.gpu/site${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$PWD/.gpu/site/bin:$PATH"
python3 - <<'PY' 2>&1 | tee -a "$summary"
from importlib.metadata import version
names = "numpy scipy h5py torch textual rich textual-plotext plotext pytest pytest-xdist"
print("  ".join(f"{n} {version(n)}" for n in names.split()))
PY

# Each step has its own limit, so that one that hangs leaves time for the rest, and
# each writes its log as it goes: the most telling first. About 9 minutes at most.
step() {  # step NAME SECONDS COMMAND...: run, log to $OUT/NAME.log, one line in the summary
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  echo "$name: exit $rc in $((SECONDS - t0)) s: $(tail -n 1 "$OUT/$name.log")" | tee -a "$summary"
}
# -p no:cacheprovider: the tree may be read-only
step pytest_cuda 90 python3 -m pytest -m cuda -p no:cacheprovider -q -rfEs tests/core/test_cuda.py
step train_speed_cuda 200 python3 bench/train_speed.py --device cuda
step app_training_cuda 70 python3 bench/app_training.py --device cuda --epochs 200 --rounds 3 \
  --panes train --screenshot "$OUT/app_cuda.svg"
step pytest_all 170 python3 -m pytest -n 14 -p no:cacheprovider -q -rfEs
cat "$OUT/train_speed_cuda.log" "$OUT/app_training_cuda.log" | tee -a "$summary"
