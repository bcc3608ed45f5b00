#!/usr/bin/env bash
# Runs the test suite and ends with one line: "N passed, N failed, N skipped".
#
#   bash tools/test.sh                      every accelerator present (absent ones show as skipped)
#   bash tools/test.sh --opencl             only the OpenCL cases of accelerator tests (plus the
#                                           accelerator-free tests), and fail unless OpenCL tests passed
#   bash tools/test.sh --no-build ...       reuse the last build
#   extra arguments go to `dotnet test` (e.g. --filter Conv2dTests)
set -euo pipefail
cd "$(dirname "$0")/.."

opencl=0; build=(); extra=()
for arg in "$@"; do
  case "$arg" in
    --opencl) opencl=1 ;;
    --no-build) build=(--no-build) ;;
    *) extra+=("$arg") ;;
  esac
done

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
if [ "$opencl" = 1 ]; then
  export ILGPUSTYLE_ACCELERATORS=opencl ILGPUSTYLE_REQUIRE_OPENCL=1
fi

status=0
dotnet test IlgpuStyle.sln -c Release "${build[@]}" --blame --results-directory "$results" \
  --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" "${extra[@]}" || status=$?

trx="$results/results.trx"
if [ ! -f "$trx" ]; then echo "tests: no results written (build failed?)"; exit 1; fi
counter() { grep -o "$1=\"[0-9]*\"" "$trx" | head -n 1 | grep -o '[0-9]*'; }
total=$(counter total); passed=$(counter passed); failed=$(counter failed)
skipped=$(( total - passed - failed ))
# Test names carry the accelerator: "Forward(accelerator: [OpenCL], variant: Tiled)".
results_with() { grep -oE '<UnitTestResult [^>]*>' "$trx" | grep -F "$1" | grep -c "outcome=\"$2\"" || true; }
for kind in CPU OpenCL Cuda; do
  echo "  [$kind] $(results_with "[$kind]" Passed) passed, $(results_with "[$kind]" Failed) failed"
done
echo "$passed passed, $failed failed, $skipped skipped"

if [ "$opencl" = 1 ] && [ "$(results_with '[OpenCL]' Passed)" -eq 0 ]; then
  echo "tests: no OpenCL test passed; an OpenCL device is required for this run"
  exit 1
fi
exit "$status"
