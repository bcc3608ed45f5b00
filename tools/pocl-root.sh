#!/usr/bin/env bash
# Runs a command inside a Debian 13 root that has PoCL 6 (an OpenCL CPU device with the
# generic address space that ILGPU's OpenCL backend needs). Creates the root once, reuses it.
#
#   tools/pocl-root.sh CMD [ARGS...]     run CMD in the repository root, inside the Debian 13 root
#   tools/pocl-root.sh --create           only create the root
#
# The repository, the .NET SDK and the NuGet package folders are bind-mounted at the same
# paths they have outside, so builds made outside run inside unchanged; so are the caller's cache
# folder (${XDG_CACHE_HOME:-~/.cache}: the tuner's, ILGPU's and PoCL's caches are the ones outside, at
# the paths printed), the Keras and torch hub caches (network files), the working directory, and the folders listed in POCL_ROOT_BIND (colon-
# separated: tools/ilgpustyle.sh lists the folders of the files its arguments name). Everything is
# mounted in a private mount namespace (unshare --mount): nothing stays mounted when the command ends.
# Needs root (debootstrap, unshare, chroot). Set POCL_ROOT to keep the root elsewhere.
set -euo pipefail

root="${POCL_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/ilgpustyle/pocl-root-trixie}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# python3-h5py: the weights tests read files written by the real HDF5 library.
packages="pocl-opencl-icd,ocl-icd-libopencl1,ocl-icd-opencl-dev,clinfo,libicu76,libssl3t64,ca-certificates,python3-h5py"

# The Debian mirror this machine already uses, read from its apt sources (deb822 or one-line form).
debian_mirror() {
  local uri=""
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
      /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/ && $i !~ /security/) { print $i; exit } }' \
      /etc/apt/sources.list | head -n 1)
  fi
  [ -n "$uri" ] || { echo "pocl-root: no Debian mirror found in /etc/apt/sources*" >&2; exit 1; }
  echo "$uri"
}

create_root() {
  [ -x "$root/usr/bin/clinfo" ] && [ -e "$root/.ilgpustyle-complete-2" ] && return 0
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  local mirror; mirror=$(debian_mirror)
  echo "pocl-root: creating Debian 13 root with PoCL in $root (mirror from apt sources)" >&2
  rm -rf "$root"; mkdir -p "$root"
  debootstrap --variant=minbase --include="$packages" trixie "$root" "$mirror" >"$root.log" 2>&1 \
    || { echo "pocl-root: debootstrap failed, see $root.log" >&2; exit 1; }
  touch "$root/.ilgpustyle-complete-2"
}

run_inside() {
  local dotnet_root nuget_home
  dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
  nuget_home="${NUGET_PACKAGES:-$HOME/.nuget}"
  mkdir -p "$nuget_home"
  # The command runs in the caller's working directory (bound where it lies outside the repository).
  local cwd="$PWD" cache_home="${XDG_CACHE_HOME:-$HOME/.cache}" binds="${POCL_ROOT_BIND:-}"
  case "$cwd" in "$repo"|"$repo"/*) ;; /) cwd="$repo" ;; *) binds="$binds:$cwd" ;; esac
  mkdir -p "$cache_home"
  # Network files: Keras's cache (where `ilgpustyle weights download` puts VGG19 and Keras keeps its own) and torch hub's.
  local keras_home="${KERAS_HOME:-$HOME/.keras}" torch_home="${TORCH_HOME:-$cache_home/torch}"
  mkdir -p "$keras_home"
  binds="$binds:$keras_home:$torch_home"
  local script
  script=$(cat <<'INNER'
set -e
bind() { mkdir -p "$ROOT$2"; mount --bind "$1" "$ROOT$2"; }
bind /proc /proc; bind /sys /sys; bind /dev /dev
bind /etc/ssl/certs /etc/ssl/certs
bind "$DOTNET_DIR" "$DOTNET_DIR"
bind "$REPO" "$REPO"
bind "$CACHE_HOME" "$CACHE_HOME"
IFS=: read -r -a extra <<< "$BINDS"
for d in "${extra[@]}"; do [ -n "$d" ] && [ -d "$d" ] && bind "$d" "$d"; done
bind "$NUGET_HOME" "$NUGET_HOME"
[ -d /opt/nuget/packages ] && bind /opt/nuget/packages /opt/nuget/packages
[ -d "$HOME/.local/share/NuGet" ] && bind "$HOME/.local/share/NuGet" "$HOME/.local/share/NuGet"
mkdir -p "$ROOT/tmp" && chmod 1777 "$ROOT/tmp"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
exec chroot "$ROOT" /usr/bin/env -i HOME="$HOME" PATH="$DOTNET_DIR:/usr/local/bin:/usr/bin:/bin" \
  DOTNET_ROOT="$DOTNET_DIR" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 \
  NUGET_CERT_REVOCATION_MODE=offline CI="${CI:-}" ILGPUSTYLE_IN_POCL_ROOT=1 TERM="${TERM:-dumb}" \
  XDG_CACHE_HOME="$CACHE_HOME" KERAS_HOME="$KERAS_HOME" TORCH_HOME="$TORCH_HOME" ILGPUSTYLE_SEED="${ILGPUSTYLE_SEED:-}" ILGPUSTYLE_KERNEL_CACHE="${ILGPUSTYLE_KERNEL_CACHE:-}" ILGPUSTYLE_REQUIRE_OPENCL="${ILGPUSTYLE_REQUIRE_OPENCL:-}" \
  /bin/bash -c 'cd "$0" && exec "$@"' "$CWD" "$@"
INNER
)
  ROOT="$root" DOTNET_DIR="$dotnet_root" REPO="$repo" NUGET_HOME="$nuget_home" CWD="$cwd" CACHE_HOME="$cache_home" BINDS="$binds" KERAS_HOME="$keras_home" TORCH_HOME="$torch_home" \
    unshare --mount --propagation private --fork /bin/bash -c "$script" pocl-root "$@"
}

create_root
[ "${1:-}" = "--create" ] && { echo "pocl-root: ready at $root" >&2; exit 0; }
[ $# -gt 0 ] || { echo "usage: tools/pocl-root.sh CMD [ARGS...] | --create" >&2; exit 2; }
run_inside "$@"
