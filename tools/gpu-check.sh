#!/usr/bin/env bash
# The GPU check: one self-contained bundle, built here, that answers on a CUDA machine without .NET
# "does every kernel run correctly, how fast is it against PyTorch, how much memory does it take".
#
#   bash tools/gpu-check.sh prepare      build .gpu-bundle/ (git-ignored, at most 60 MiB): run.sh, payload.tar.xz
#                                        (the CLI and the test suite, published framework-dependent, plus the .NET
#                                        runtime of this SDK, so that nothing needs to be installed on the target),
#                                        pytorch_bench.py and MANIFEST.txt
#   bash tools/gpu-check.sh selftest     prepare, then prove the bundle here as the target would run it: extracted
#                                        into a temporary folder, `dotnet` and the SDK off PATH, run.sh --device cpu
#                                        --quick (test executable, gradcheck, one tiny transfer, bench, profile);
#                                        --reuse: take the bundle already in .gpu-bundle/
#
# On the GPU machine (copy .gpu-bundle there; Python with PyTorch is used for the comparison):
#   bash .gpu-bundle/run.sh OUTDIR                 devices, every [Cuda] test, gradcheck, a 512² transfer,
#                                                  bench --size 512 against PyTorch, profile --image-size 512;
#                                                  OUTDIR/report.txt holds every figure (about 8 minutes at most)
#   bash .gpu-bundle/run.sh OUTDIR --device cpu --quick     the same steps, small, on ILGPU's CPU accelerator
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bundle="$repo/.gpu-bundle"
limit_mib=60

prepare() {
  local stage; stage="$(mktemp -d)"
  trap 'rm -rf "$stage"' RETURN
  echo "gpu-check: publishing the CLI and the test suite (Release, framework-dependent)"
  # The test project references the CLI, so one folder holds both apps and their shared assemblies.
  dotnet publish tests/IlgpuStyle.Tests/IlgpuStyle.Tests.csproj -c Release --nologo -v quiet -clp:ErrorsOnly \
    -o "$stage/app" >/dev/null || { echo "gpu-check: dotnet publish failed" >&2; exit 1; }
  # Not needed to run: symbols, and the code-coverage collector that Microsoft.NET.Test.Sdk publishes (about 20 MB).
  rm -rf "$stage"/app/*.pdb "$stage"/app/CodeCoverage "$stage"/app/Microsoft.CodeCoverage.* \
    "$stage"/app/{alpine,ubuntu,macos,x64,x86,arm64} "$stage"/app/{cs,de,es,fr,it,ja,ko,pl,pt-BR,ru,tr,zh-Hans,zh-Hant}
  # The bundled ResNet18 (models/ResNet18.onnx, 61 MiB) would not fit the 64 MiB a device call carries: it stays
  # behind, and the ResNet18 steps and tests say they were skipped and why (the VGG19 ones run with random weights).
  rm -f "$stage/app/models/ResNet18.onnx"
  # Native libraries (SkiaSharp, HarfBuzz for the plots) for other systems than the GPU machine's Linux x64.
  if [ -d "$stage/app/runtimes" ]; then
    find "$stage/app/runtimes" -mindepth 1 -maxdepth 1 ! -name linux-x64 ! -name linux ! -name unix -exec rm -rf {} +
  fi
  # The docs' command tests find the repository by IlgpuStyle.sln; the bundle keeps that layout.
  cp IlgpuStyle.sln "$stage/"
  cp -r docs "$stage/docs"

  # The runtime this SDK runs on: the muxer, hostfxr and Microsoft.NETCore.App (no SDK, no ASP.NET).
  local dotnet_dir version
  dotnet_dir="$(dirname "$(readlink -f "$(command -v dotnet)")")"
  version="$(sed -nE 's/.*"version": *"([0-9][^"]*)".*/\1/p' "$stage/app/ilgpustyle.runtimeconfig.json" | head -n 1)"
  version="$(ls "$dotnet_dir/shared/Microsoft.NETCore.App" | grep "^${version%.*}\." | sort -V | tail -n 1)"
  [ -n "$version" ] || { echo "gpu-check: no Microsoft.NETCore.App runtime under $dotnet_dir" >&2; exit 1; }
  mkdir -p "$stage/dotnet/shared/Microsoft.NETCore.App"
  cp "$dotnet_dir/dotnet" "$dotnet_dir/LICENSE.txt" "$dotnet_dir/ThirdPartyNotices.txt" "$stage/dotnet/"
  cp -r "$dotnet_dir/host" "$stage/dotnet/host"
  cp -r "$dotnet_dir/shared/Microsoft.NETCore.App/$version" "$stage/dotnet/shared/Microsoft.NETCore.App/$version"

  rm -rf "$bundle"; mkdir -p "$bundle"
  echo "gpu-check: compressing (xz)"
  tar -C "$stage" -cf - app dotnet docs IlgpuStyle.sln | xz -T0 -6 > "$bundle/payload.tar.xz"
  cp tools/gpu-run.sh "$bundle/run.sh"; chmod +x "$bundle/run.sh"
  cp tools/pytorch_bench.py "$bundle/"
  local commit; commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  git diff --quiet HEAD 2>/dev/null || commit="$commit+uncommitted"
  {
    echo "IlgpuStyle GPU bundle"
    echo "commit:   $commit"
    echo "built:    $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -m)"
    echo "runtime:  Microsoft.NETCore.App $version (carried; nothing is installed on the target)"
    echo "payload:  $(du -b "$bundle/payload.tar.xz" | cut -f1) bytes compressed, $(du -sb "$stage" | cut -f1) bytes extracted"
    echo "sha256:   $(sha256sum "$bundle/payload.tar.xz" | cut -d' ' -f1)"
    echo "run:      bash run.sh OUTDIR                       (CUDA: every check, about 8 minutes at most)"
    echo "          bash run.sh OUTDIR --device cpu --quick  (the same steps, small, on ILGPU's CPU accelerator)"
  } > "$bundle/MANIFEST.txt"
  local size_mib; size_mib=$(( ($(du -sb "$bundle" | cut -f1) + 1048575) / 1048576 ))
  echo "gpu-check: .gpu-bundle is $size_mib MiB (limit $limit_mib)"
  [ "$size_mib" -le "$limit_mib" ] || { echo "gpu-check: the bundle is over $limit_mib MiB" >&2; exit 1; }
}

selftest() {
  if [ "${1:-}" = --reuse ] && [ -f "$bundle/MANIFEST.txt" ]; then echo "gpu-check: reusing .gpu-bundle"; else prepare; fi
  local where; where="$(mktemp -d)"
  trap 'rm -rf "$where"' RETURN
  cp -r "$bundle" "$where/bundle"
  # No dotnet on PATH: the first `dotnet` found is one that only fails, loudly.
  local dotnet_dir; dotnet_dir="$(dirname "$(readlink -f "$(command -v dotnet)")")"
  mkdir -p "$where/no-dotnet" "$where/home"
  printf '#!/bin/sh\necho "dotnet was called, but the bundle must not need it" >&2\nexit 127\n' > "$where/no-dotnet/dotnet"
  chmod +x "$where/no-dotnet/dotnet"
  local path="$where/no-dotnet:/usr/local/bin:/usr/bin:/bin"
  local status=0 run=(env -i PATH="$path" HOME="$where/home" TMPDIR="$where" bash "$where/bundle/run.sh" "$where/out" --device cpu --quick)
  if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
    # As root: also hide this machine's .NET install behind an empty folder, so that nothing can reach it.
    echo "gpu-check: running the bundle with PATH=$path (its dotnet fails), $dotnet_dir hidden, DOTNET_ROOT unset"
    mkdir -p "$where/empty"
    unshare -m bash -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' _ "$where/empty" "$dotnet_dir" "${run[@]}" || status=$?
  else
    echo "gpu-check: running the bundle with PATH=$path (its dotnet fails), DOTNET_ROOT unset"
    "${run[@]}" || status=$?
  fi
  if [ "$status" = 0 ]; then sed -n '1,/^== logs/p' "$where/out/report.txt"; else cat "$where/out/report.txt"; fi
  [ "$status" = 0 ] || { echo "gpu-check: the bundle's self-test failed (exit $status); logs in the report above" >&2; return "$status"; }
  echo "gpu-check: self-test passed ($dotnet_dir was not used)"
}

case "${1:-}" in
  prepare) prepare ;;
  selftest) selftest "${2:-}" ;;
  *) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
