#!/usr/bin/env bash
# Regenerates the libtorch fixture of the test suite (tests/IlgpuStyle.Tests/Model/Data/libtorch_vgg19.json): VGG19
# losses and the image gradient computed by libtorch (tools/LibtorchFixture, TorchSharp-cpu 0.107.0) on our seeded
# random weights. TorchSharp needs the libstdc++ of Debian 13, so it runs inside tools/pocl-root.sh.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
out=tests/IlgpuStyle.Tests/Model/Data/libtorch_vgg19.json
mkdir -p "$(dirname "$out")"
dotnet build tools/LibtorchFixture/LibtorchFixture.csproj -c Release --nologo -v quiet -clp:ErrorsOnly
tools/pocl-root.sh dotnet tools/LibtorchFixture/bin/Release/net10.0/LibtorchFixture.dll "$out"
