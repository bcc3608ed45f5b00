#!/usr/bin/env bash
# Builds and runs `ilgpustyle` with the given arguments (none: the demo, written to ./out/demo.png).
#
# Where this machine offers no CUDA device and no usable OpenCL device, ILGPU would fall back to
# its slow CPU accelerator; if this is Linux and we are root, the command runs instead inside a
# Debian 13 root with PoCL 6 (tools/pocl-root.sh, created once in about a minute), which is about
# 10 times faster. There, file paths must lie inside this repository. --native skips that.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
native=0
if [ "${1:-}" = "--native" ]; then native=1; shift; fi

dotnet build src/IlgpuStyle.Cli/IlgpuStyle.Cli.csproj -c Release --nologo -v quiet -clp:NoSummary >/dev/null \
  || { echo "ilgpustyle.sh: build failed; run: dotnet build src/IlgpuStyle.Cli -c Release" >&2; exit 1; }
dll="$repo/src/IlgpuStyle.Cli/bin/Release/net10.0/ilgpustyle.dll"

if [ "$native" = 0 ] && [ "$(uname -s)" = Linux ] && [ "$(id -u)" = 0 ] && [ -z "${ILGPUSTYLE_IN_POCL_ROOT:-}" ]; then
  if [[ "$(dotnet "$dll" devices --default 2>/dev/null)" == cpu:* ]]; then
    echo "ilgpustyle.sh: no GPU or usable OpenCL device here; running inside the Debian 13 root with PoCL (tools/pocl-root.sh)" >&2
    exec "$repo/tools/pocl-root.sh" dotnet "$dll" "$@"
  fi
fi
exec dotnet "$dll" "$@"
