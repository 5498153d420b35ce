#!/usr/bin/env bash
# The GPU check: the whole test suite (CUDA tests included) and the CUDA speed table on a
# machine with an NVIDIA GPU, Python 3.12 and a CUDA torch already installed, but none
# of grutui's other dependencies and no network.
#
#   1. Here, with network (once; .gpu/ is git-ignored):
#        bench/gpu_check.sh --download
#      puts the wheels of everything the suite needs besides torch into .gpu/wheels
#      (the versions this project's CPU environment is tested with, built for CPython
#      3.12 on manylinux x86-64).
#   2. On the GPU machine, in a copy of the tree that includes .gpu/wheels:
#        bench/gpu_check.sh
#      installs those wheels into .gpu/site (no index, no dependency resolution: the
#      list is complete), then runs `pytest -n 14` over all tests and
#      `bench/train_speed.py --device cuda`, writing both logs and a summary to $OUT
#      (default .gpu/out).
set -uo pipefail
cd "$(dirname "$0")/.."

# grutui's runtime and test dependencies other than torch (and torch's own).
WHEELS=(
  numpy==2.4.6 h5py==3.16.0 scipy==1.17.1
  rich==15.0.0 markdown-it-py==4.3.0 mdurl==0.1.2 Pygments==2.21.0
  textual==8.2.8 mdit-py-plugins==0.7.0 linkify-it-py==2.2.0 uc-micro-py platformdirs==4.14.9
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
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
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

# all tests, CUDA ones included; -p no:cacheprovider: the tree may be read-only
python3 -m pytest -n 14 -p no:cacheprovider -q -rfEs >"$OUT/pytest.log" 2>&1
echo "pytest exit $?: $(tail -n 1 "$OUT/pytest.log")" | tee -a "$summary"
python3 -m pytest -m cuda -p no:cacheprovider -q -rs tests/core/test_cuda.py >"$OUT/pytest_cuda.log" 2>&1
echo "cuda tests exit $?: $(tail -n 1 "$OUT/pytest_cuda.log")" | tee -a "$summary"

python3 bench/train_speed.py --device cuda >"$OUT/train_speed_cuda.log" 2>&1
echo "bench exit $?" | tee -a "$summary"
cat "$OUT/train_speed_cuda.log" | tee -a "$summary"
