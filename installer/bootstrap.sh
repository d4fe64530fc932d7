#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for Hourglass and then runs it or tests it.
#   installer/bootstrap.sh run    install dependencies, build, run the console (or hourglassd
#                                 when there is no display)
#   installer/bootstrap.sh test   install dependencies, build with warnings as errors, run all tests
#   installer/bootstrap.sh deps   install dependencies only (installer/package.sh uses it)
# Idempotent: packages already present are not reinstalled and the build is incremental.
set -euo pipefail

mode="${1:-}"
case "$mode" in
run | test | deps) ;;
*)
    echo "usage: $0 run|test|deps" >&2
    exit 2
    ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${HOURGLASS_BUILD_DIR:-$root/build}"

# libqt6opengl6-dev holds Qt6OpenGL's CMake package, which Qt Charts' needs; qt6-base-dev only
# recommends it, and recommended packages are not installed here.
packages=(
    build-essential cmake ninja-build ccache pkg-config
    qt6-base-dev qt6-base-dev-tools qt6-charts-dev libqt6opengl6-dev libqt6svg6 libgl-dev
    libssl-dev libsqlite3-dev libboost-dev libhiredis-dev libbenchmark-dev libfuse3-dev fuse3
    redis-server nginx xvfb xauth openssl curl
    dpkg-dev lintian desktop-file-utils appstream
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "Installing ${missing[*]} needs root: run this command with sudo." >&2
        exit 1
    fi
    echo "Installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts these services on install; Hourglass tests start their own on loopback ports.
for svc in redis-server nginx; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
        systemctl disable --now "$svc" >/dev/null 2>&1 || true
    fi
done

[[ $mode == deps ]] && exit 0

export CCACHE_DIR="${CCACHE_DIR:-$root/.cache/ccache}"
werror=OFF
[[ $mode == test ]] && werror=ON
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOURGLASS_WERROR="$werror" >/dev/null
cmake --build "$build" --parallel 2

if [[ $mode == test ]]; then
    cd "$build"
    exec ctest --output-on-failure --parallel 2 --timeout 900
fi

if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
    exec "$build/app/hourglass" "${@:2}"
fi
echo "No display found (neither DISPLAY nor WAYLAND_DISPLAY is set): running the headless service hourglassd instead."
exec "$build/app/hourglassd" "${@:2}"
