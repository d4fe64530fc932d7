#!/usr/bin/env bash
# Builds the Debian package and the tarball of Hourglass:
#   sudo bash installer/package.sh        → build-package/hourglass_<version>_<arch>.deb
#                                           build-package/hourglass-<version>-<arch>.tar.gz
# Optimised build installed under /usr, stripped; the desktop file and the AppStream metainfo are
# validated before packaging. Installs its build dependencies itself (Debian packages only).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${HOURGLASS_PACKAGE_BUILD_DIR:-$root/build-package}"

bash "$root/installer/bootstrap.sh" deps
export CCACHE_DIR="${CCACHE_DIR:-$root/.cache/ccache}"
# Debian's own flags (-O2, _FORTIFY_SOURCE, stack protector, RELRO and BIND_NOW, …), as
# dpkg-buildpackage would use them.
cxxflags="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CXXFLAGS)"
ldflags="$(dpkg-buildflags --get LDFLAGS)"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_INSTALL_PREFIX=/usr \
    -DCMAKE_CXX_FLAGS="$cxxflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
    -DHOURGLASS_TESTS=OFF -DHOURGLASS_BENCH=OFF -DHOURGLASS_WERROR=ON >/dev/null
cmake --build "$build" --parallel 2

desktop-file-validate "$build/installer/org.hourglass.Hourglass.desktop"
appstreamcli validate --no-net --explain "$build/installer/org.hourglass.Hourglass.metainfo.xml"

cd "$build"
rm -f ./*.deb ./*.tar.gz
cpack >/dev/null
ls -1 "$build"/*.deb "$build"/*.tar.gz
