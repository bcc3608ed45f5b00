#!/usr/bin/env bash
# Builds and runs `ilgpustyle` with the given arguments (none: the demo, written to ./out/demo.png).
#
# Where this machine offers no CUDA device and no usable OpenCL device, ILGPU would fall back to
# its slow CPU accelerator; if this is Linux and we are root, the command runs instead inside a
# Debian 13 root with PoCL 6 (tools/pocl-root.sh, created once in about a minute), which is about
# 10 times faster. The folders of the files the arguments name (inputs, outputs, --weights, …)
# and the working directory are bound into it at the same paths. --native skips the root.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The working directory stays the caller's: relative paths in the arguments mean what they mean there.
native=0
if [ "${1:-}" = "--native" ]; then native=1; shift; fi

dotnet build "$repo/src/IlgpuStyle.Cli/IlgpuStyle.Cli.csproj" -c Release --nologo -v quiet -clp:NoSummary >/dev/null \
  || { echo "ilgpustyle.sh: build failed; run: dotnet build src/IlgpuStyle.Cli -c Release" >&2; exit 1; }
dll="$repo/src/IlgpuStyle.Cli/bin/Release/net10.0/ilgpustyle.dll"

if [ "$native" = 0 ] && [ "$(uname -s)" = Linux ] && [ "$(id -u)" = 0 ] && [ -z "${ILGPUSTYLE_IN_POCL_ROOT:-}" ]; then
  if [[ "$(dotnet "$dll" devices --default 2>/dev/null)" == cpu:* ]]; then
    echo "ilgpustyle.sh: no GPU or usable OpenCL device here; running inside the Debian 13 root with PoCL (tools/pocl-root.sh)" >&2
    # Every argument (or the value after `=`) that names a file or folder, or a file in an existing folder: its
    # folder, outside the repository, is bound into the root at the same path. A missing file's folder too, so that the
    # program itself says which file is missing.
    binds=""
    for arg in "$@"; do
      for path in "$arg" "${arg#*=}"; do
        [[ "$path" == -* || -z "$path" ]] && continue
        full="$(realpath -m -- "$path" 2>/dev/null)" || continue
        if [ -d "$full" ]; then dir="$full"; else dir="$(dirname -- "$full")"; fi
        [ -d "$dir" ] || continue
        # The repository is bound already; the system's own folders never are (the root has its own).
        case "$dir" in "$repo"|"$repo"/*|/|/etc|/etc/*|/usr|/usr/*|/lib*|/bin|/bin/*|/sbin|/sbin/*|/proc|/proc/*|/sys|/sys/*|/dev|/dev/*|/run|/run/*|/boot|/boot/*|/var|/var/lib|/var/lib/*|/var/cache|/var/cache/*) continue ;; esac
        binds="$binds:$dir"
      done
    done
    POCL_ROOT_BIND="${POCL_ROOT_BIND:-}$binds" exec "$repo/tools/pocl-root.sh" dotnet "$dll" "$@"
  fi
fi
exec dotnet "$dll" "$@"
