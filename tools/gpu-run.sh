#!/usr/bin/env bash
# run.sh of the GPU bundle (made by `bash tools/gpu-check.sh prepare`; this file is copied there as run.sh).
#
#   bash run.sh OUTDIR [--device cuda|opencl|cpu[:N]] [--quick]
#
# Needs no .NET: the bundle carries the runtime. Writes OUTDIR/report.txt (every step, whether it passed, its
# figures, and each failure's message), the step logs in OUTDIR/logs/, and what the steps made: the transfer's
# image, its CSV and loss plot, the profile's Chrome trace and CSV, the test results (TRX).
# Steps, each with its own time limit, each run even when an earlier one failed:
#   devices    what ILGPU sees (and nvidia-smi: driver, memory)
#   tests      every test of the suite for the device's kind ([Cuda] by default), from the test executable
#   gradcheck  every backward kernel against float64 and central differences
#   transfer   the bundled images, 512², L-BFGS, 100 iterations: time to first iteration, ms per iteration
#   bench      one iteration at 512² (ms, peak memory), and the same in PyTorch (fp32, TF32 off) in this run
#   profile    per-kernel table at 512² with GFLOP/s and % of the device's measured peak; Chrome trace
# --quick: the same steps at toy sizes and a few tests, for proving the bundle on a machine without a GPU.
# The limits add up to under 8 minutes; ILGPUSTYLE_STEP_SCALE=2 doubles each.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-}"
[ -n "$out" ] && [ "${out#-}" = "$out" ] || { sed -n '4,5p' "$0" | sed 's/^# //'; exit 2; }
shift
device=cuda; quick=0
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device="${2:-}"; shift 2 ;;
    --quick) quick=1; shift ;;
    *) echo "run.sh: unknown argument '$1' (expected --device SPEC or --quick)" >&2; exit 2 ;;
  esac
done
case "${device%%:*}" in
  cuda) kind=Cuda ;; opencl) kind=OpenCL ;; cpu) kind=CPU ;;
  *) echo "run.sh: --device must be cuda, opencl or cpu (optionally :N), got '$device'" >&2; exit 2 ;;
esac
mkdir -p "$out/logs" || { echo "run.sh: cannot create $out" >&2; exit 1; }
out="$(cd "$out" && pwd)"
report="$out/report.txt"
started=$SECONDS

# Extract once per payload into a temporary folder (not OUTDIR, which should hold only results).
sum="$(cksum < "$here/payload.tar.xz" | cut -d' ' -f1)"
work="${TMPDIR:-/tmp}/ilgpustyle-bundle-$sum"
if [ ! -e "$work/.complete" ]; then
  rm -rf "$work"; mkdir -p "$work"
  if command -v xz >/dev/null; then
    xz -dc "$here/payload.tar.xz" | tar -C "$work" -xf - || { echo "run.sh: extracting the payload failed" >&2; exit 1; }
  else
    python3 -c "import sys, tarfile; tarfile.open(sys.argv[1], 'r:xz').extractall(sys.argv[2])" "$here/payload.tar.xz" "$work" \
      || { echo "run.sh: no xz, and python3 could not extract the payload" >&2; exit 1; }
  fi
  touch "$work/.complete"
fi
export DOTNET_ROOT="$work/dotnet" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export DOTNET_MULTILEVEL_LOOKUP=0 XDG_CACHE_HOME="$work/cache" NO_COLOR=1 COLUMNS=160
dotnet="$work/dotnet/dotnet"
app="$work/app"
cli() { "$dotnet" "$app/ilgpustyle.dll" "$@"; }

if [ "$quick" = 1 ]; then size=32; iterations=3; repeats=2; scale=1
else size=512; iterations=100; repeats=5; scale=1; fi
scale="${ILGPUSTYLE_STEP_SCALE:-$scale}"

: > "$out/steps.txt"
# step NAME SECONDS COMMAND...: runs COMMAND with a time limit, its output in logs/NAME.log; never stops the script.
step() {
  local name="$1" limit=$(( $2 * scale )); shift 2
  local t0=$SECONDS rc=0
  echo "run.sh: $name (limit ${limit} s)"
  timeout --kill-after=10 "$limit" "$@" > "$out/logs/$name.log" 2>&1 || rc=$?
  local took=$(( SECONDS - t0 )) status=ok
  [ "$rc" = 0 ] || status="FAILED (exit $rc)"
  [ "$rc" = 124 ] || [ "$rc" = 137 ] && status="FAILED (over its ${limit} s limit)"
  printf '%-10s %-30s %5d s\n' "$name" "$status" "$took" >> "$out/steps.txt"
  return 0
}
field() { grep -o "$2=[0-9.a-z]*" "$1" 2>/dev/null | tail -n 1 | cut -d= -f2; }

# 1. devices
step devices 30 bash -c "'$dotnet' '$app/ilgpustyle.dll' devices; echo; command -v nvidia-smi >/dev/null && nvidia-smi \
  --query-gpu=name,driver_version,memory.total,memory.used,clocks.max.sm,power.limit --format=csv || echo 'nvidia-smi: not here'"

# 2. tests of this kind (the others skip by ILGPUSTYLE_ACCELERATORS); with --quick, two small kernel classes
test_filter=(-displayName "*$kind]*")
[ "$quick" = 1 ] && test_filter+=(-class IlgpuStyle.Tests.Kernels.GramTests -class IlgpuStyle.Tests.Kernels.VectorAndLossTests)
step tests 210 env ILGPUSTYLE_ACCELERATORS="$kind" "$dotnet" "$app/IlgpuStyle.Tests.dll" -noColor -noLogo \
  "${test_filter[@]}" -result-trx "$out/tests.trx"

# 3. gradcheck
step gradcheck 45 "$dotnet" "$app/ilgpustyle.dll" gradcheck --device "$device"

# 4. a transfer on the bundled images
step transfer 90 "$dotnet" "$app/ilgpustyle.dll" transfer --device "$device" --model vgg19 \
  --content "$app/demo/chelsea.png" --style "$app/demo/brush_strokes.png" --image-size "$size" \
  --optimizer lbfgs --iterations "$iterations" --print-every 10 \
  --output "$out/transfer_$size.png" --log "$out/transfer_$size.csv"

# 5. bench against PyTorch in the same run
step bench 40 "$dotnet" "$app/ilgpustyle.dll" bench --device "$device" --size "$size" --repeats "$repeats"
torch_device=cpu; [ "$kind" = Cuda ] && torch_device=cuda
if command -v python3 >/dev/null && python3 -c "import torch" >/dev/null 2>&1; then
  step pytorch 40 python3 "$here/pytorch_bench.py" --size "$size" --repeats "$repeats" --device "$torch_device"
else
  printf '%-10s %-30s %5d s\n' pytorch "skipped (no python3 with torch)" 0 >> "$out/steps.txt"
  echo "python3 with torch not found; PyTorch comparison skipped" > "$out/logs/pytorch.log"
fi

# 6. profile
step profile 45 "$dotnet" "$app/ilgpustyle.dll" profile --device "$device" --image-size "$size" --iterations 2 \
  --trace "$out/profile_trace.json" --csv "$out/profile.csv"

# The report: steps, figures, failures, then every log.
{
  echo "IlgpuStyle GPU check: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n), device $device$([ "$quick" = 1 ] && echo ', --quick')"
  sed -n '2,3p' "$here/MANIFEST.txt" 2>/dev/null
  echo "cpu:  $(grep -m 1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ //'), $(nproc 2>/dev/null) cores"
  echo
  echo "== steps"
  cat "$out/steps.txt"
  [ -f "$app/models/ResNet18.onnx" ] || echo "resnet18: skipped (the model, 61 MiB, does not fit the 64 MiB a device call carries; its tests skip with this reason)"
  echo
  echo "== figures"
  if [ -f "$out/tests.trx" ]; then
    counters="$(grep -o '<Counters [^>]*>' "$out/tests.trx")"
    c() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
    echo "tests [$kind]: $(c total) run, $(c passed) passed, $(c failed) failed, $(( $(c total) - $(c passed) - $(c failed) )) skipped"
  else
    echo "tests [$kind]: no results file (see logs/tests.log)"
  fi
  if [ -f "$out/logs/gradcheck.log" ]; then
    echo "gradcheck: $(grep -c ' pass ' "$out/logs/gradcheck.log") passed, $(grep -c ' FAIL ' "$out/logs/gradcheck.log") failed"
  fi
  if [ -f "$out/transfer_$size.csv" ]; then
    ms=$(awk -F, 'NR > 1 { print $NF }' "$out/transfer_$size.csv" | sort -n | awk '{ a[NR] = $1 } END { if (NR) printf "%.1f", a[int((NR + 1) / 2)] }')
    echo "transfer ${size}²: $(grep -o 'first iteration after [0-9.]* s' "$out/logs/transfer.log" | tail -n 1); median ${ms} ms per iteration ($(( $(wc -l < "$out/transfer_$size.csv") - 1 )) iterations; L-BFGS)"
  fi
  ours=$(field "$out/logs/bench.log" ours_ms); theirs=$(field "$out/logs/pytorch.log" pytorch_ms)
  echo "bench ${size}²: ours_ms=${ours:-?} ours_peak_mb=$(field "$out/logs/bench.log" peak_mb) first_ms=$(field "$out/logs/bench.log" first_ms)"
  echo "pytorch ${size}²: pytorch_ms=${theirs:-?} pytorch_peak_mb=$(field "$out/logs/pytorch.log" pytorch_peak_mb) (fp32, TF32 off, $torch_device)"
  if [ -n "$ours" ] && [ -n "$theirs" ]; then
    echo "ratio ours / pytorch: $(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')"
  fi
  grep -E "device limits" "$out/logs/profile.log" 2>/dev/null | sed 's/^/profile: /'
  echo
  echo "== failures"
  grep -q FAILED "$out/steps.txt" || echo "(none)"
  grep -B 1 -A 12 "\[FAIL\]" "$out/logs/tests.log" 2>/dev/null | head -n 400
  for log in "$out"/logs/*.log; do
    name="$(basename "$log" .log)"
    grep -q "^$name .*FAILED" "$out/steps.txt" && { echo "-- $name (last lines)"; tail -n 15 "$log"; }
  done
  echo
  echo "== logs"
  for log in devices gradcheck transfer bench pytorch profile tests; do
    [ -f "$out/logs/$log.log" ] || continue
    echo "-- $log"
    if [ "$log" = tests ]; then grep -vE "^\s+(Passed|Skipped) |\[SKIP\]$|^\s+no .* device" "$out/logs/$log.log" | tail -n 200
    else cat "$out/logs/$log.log"; fi
    echo
  done
  echo "wall time: $(( SECONDS - started )) s"
} > "$report"
echo "run.sh: report in $report ($(( SECONDS - started )) s)"
grep -q FAILED "$out/steps.txt" && exit 1
exit 0
