#!/usr/bin/env bash
# Runs the test suite and ends with one line: "N passed, N failed, N skipped", then the ten slowest tests and the
# wall time of the run.
#
#   bash tools/test.sh                      every accelerator present (absent ones show as skipped). On Linux as root,
#                                           where this machine has no GPU and no usable OpenCL device, the run moves
#                                           into the Debian 13 root with PoCL (tools/pocl-root.sh, made once in about a
#                                           minute), so that the OpenCL cases run beside ILGPU's CPU accelerator in one
#                                           pass; it then fails unless OpenCL tests passed
#   bash tools/test.sh --native             stay on this machine (no PoCL root)
#   bash tools/test.sh --require-opencl     fail unless OpenCL tests passed (also ILGPUSTYLE_REQUIRE_OPENCL=1)
#   bash tools/test.sh --opencl             only the OpenCL cases of accelerator tests (plus the accelerator-free
#                                           tests), and fail unless OpenCL tests passed
#   bash tools/test.sh --no-build ...       reuse the last build
#   extra arguments go to `dotnet test` (e.g. --filter Conv2dTests)
#
# Random test data comes from fixed seeds (printed in every failure); ILGPUSTYLE_SEED=N picks other data.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS

opencl=0; native=0; build=1; require="${ILGPUSTYLE_REQUIRE_OPENCL:-0}"; extra=()
for arg in "$@"; do
  case "$arg" in
    --opencl) opencl=1; require=1 ;;
    --native) native=1 ;;
    --require-opencl) require=1 ;;
    --no-build) build=0 ;;
    *) extra+=("$arg") ;;
  esac
done

if [ "$build" = 1 ]; then
  dotnet build IlgpuStyle.sln -c Release --nologo -v quiet -clp:ErrorsOnly \
    || { echo "tests: build failed"; exit 1; }
fi

# Weights files written by the libraries that write them for users (PyTorch, h5py, protobuf), where this machine has them:
# the loader tests read them, and say they skip and why where they are missing.
fixtures="${XDG_CACHE_HOME:-$HOME/.cache}/ilgpustyle/fixtures/weights-v4"
if [ -z "${ILGPUSTYLE_IN_POCL_ROOT:-}" ] && [ ! -f "$fixtures/DONE" ] && /usr/bin/python3 -c "import torch, h5py, google.protobuf, onnx" 2>/dev/null \
   && command -v protoc >/dev/null; then
  /usr/bin/python3 tools/weights-fixtures.py "$fixtures" || echo "tests: tools/weights-fixtures.py failed; the loader tests that read its files will skip"
fi

if [ "$native" = 0 ] && [ -z "${ILGPUSTYLE_IN_POCL_ROOT:-}" ] && [ "$(uname -s)" = Linux ] && [ "$(id -u)" = 0 ]; then
  if [[ "$(dotnet src/IlgpuStyle.Cli/bin/Release/net10.0/ilgpustyle.dll devices --default 2>/dev/null)" == cpu:* ]]; then
    echo "tests: no GPU or usable OpenCL device here; running inside the Debian 13 root with PoCL (tools/pocl-root.sh)"
    args=(--no-build --require-opencl)
    [ "$opencl" = 1 ] && args+=(--opencl)
    status=0
    tools/pocl-root.sh bash tools/test.sh "${args[@]}" "${extra[@]}" || status=$?
    wall=$(( SECONDS - start ))
    echo "tests: wall time with the build and the root $(( wall / 60 )) min $(( wall % 60 )) s"
    exit "$status"
  fi
fi

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
[ "$opencl" = 1 ] && export ILGPUSTYLE_ACCELERATORS=opencl
[ "$require" = 1 ] && export ILGPUSTYLE_REQUIRE_OPENCL=1

status=0
dotnet test IlgpuStyle.sln -c Release --no-build --blame --results-directory "$results" \
  --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" "${extra[@]}" || status=$?

trx="$results/results.trx"
if [ ! -f "$trx" ]; then echo "tests: no results written (build failed?)"; exit 1; fi
counter() { grep -m 1 -o "$1=\"[0-9]*\"" "$trx" | grep -o '[0-9]*'; }
total=$(counter total); passed=$(counter passed); failed=$(counter failed)
skipped=$(( total - passed - failed ))
# Test names carry the accelerator: "Forward(accelerator: [OpenCL], variant: Tiled)".
results_with() { grep -oE '<UnitTestResult [^>]*>' "$trx" | grep -F "$1" | grep -c "outcome=\"$2\"" || true; }
for kind in CPU OpenCL Cuda; do
  echo "  [$kind] $(results_with "[$kind]" Passed) passed, $(results_with "[$kind]" Failed) failed"
done
echo "$passed passed, $failed failed, $skipped skipped"

# Where the time went: the ten slowest tests (durations from the .trx), then the wall time of the whole run.
echo "slowest tests:"
grep -oE '<UnitTestResult [^>]*>' "$trx" | while IFS= read -r tag; do
  name=$(echo "$tag" | sed -E 's/.* testName="([^"]*)".*/\1/' | sed -e 's/&quot;/"/g' -e 's/&amp;/\&/g')
  duration=$(echo "$tag" | sed -nE 's/.* duration="([0-9]+):([0-9]+):([0-9.]+)".*/\1 \2 \3/p')
  [ -n "$duration" ] && echo "$duration $name"
done | awk '{ s = $1 * 3600 + $2 * 60 + $3; $1 = $2 = $3 = ""; sub(/^ +/, ""); printf "%9.1f s  %s\n", s, $0 }' \
  | sort -rn | sed -n '1,10p'   # sed reads all of sort's output: head would leave sort to die of SIGPIPE (exit 141)
wall=$(( SECONDS - start ))
echo "tests: wall time $(( wall / 60 )) min $(( wall % 60 )) s"

if [ "$require" = 1 ] && [ "$(results_with '[OpenCL]' Passed)" -eq 0 ]; then
  echo "tests: no OpenCL test passed; an OpenCL device is required for this run"
  exit 1
fi
exit "$status"
