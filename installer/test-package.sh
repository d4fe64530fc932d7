#!/usr/bin/env bash
# Installs the .deb on this machine and checks it end to end (run as root; CI runs it):
#   lintian with no errors; dpkg -i; hourglassd from /usr/bin, started exactly as the systemd unit
#   starts it, creating and validating a session over HTTP; hourglass --version; then purge, and
#   nothing of the package left behind (files, directories, the service user).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${HOURGLASS_PACKAGE_BUILD_DIR:-$root/build-package}"
[[ $(id -u) -eq 0 ]] || { echo "run as root (installs and purges the package)" >&2; exit 1; }

bash "$root/installer/package.sh"
deb=$(ls "$build"/hourglass_*.deb)

step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

step "lintian"
lintian --fail-on error --tag-display-limit 0 "$deb" | tee "$build/lintian.txt"
echo "lintian: no errors ($(grep -c '^W:' "$build/lintian.txt" || true) warnings)"

step "Depends"
dpkg-deb -f "$deb" Depends
for lib in libqt6core6 libqt6widgets6 libqt6charts6 libqt6network6 libssl3 libsqlite3-0 libhiredis0.14; do
    dpkg-deb -f "$deb" Depends | grep -q "$lib" || fail "Depends lacks $lib"
done

step "install"
export DEBIAN_FRONTEND=noninteractive
dpkg --purge hourglass >/dev/null 2>&1 || true
# dpkg -i as an admin would; apt resolves any dependency that is not installed yet.
dpkg -i "$deb" >/dev/null || apt-get install -f -y -qq >/dev/null
dpkg -s hourglass | grep -q '^Status: install ok installed' || fail "not installed"
for f in /usr/bin/hourglass /usr/bin/hourglassd /usr/bin/hourglass-ctl /lib/systemd/system/hourglassd.service \
    /etc/hourglass/hourglass.json /usr/share/applications/org.hourglass.Hourglass.desktop \
    /usr/share/metainfo/org.hourglass.Hourglass.metainfo.xml \
    /usr/share/icons/hicolor/scalable/apps/org.hourglass.Hourglass.svg \
    /usr/share/icons/hicolor/256x256/apps/org.hourglass.Hourglass.png; do
    [[ -e $f ]] || fail "$f missing"
done
getent passwd hourglass >/dev/null || fail "no hourglass user"
[[ $(stat -c %U /var/lib/hourglass) == hourglass ]] || fail "/var/lib/hourglass not owned by hourglass"
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify /lib/systemd/system/hourglassd.service
fi

step "hourglass --version"
version=$(env -u DISPLAY -u WAYLAND_DISPLAY /usr/bin/hourglass --version)
echo "$version"
[[ $version == "hourglass $(dpkg-deb -f "$deb" Version)" ]] || fail "unexpected version: $version"

step "hourglassd as the unit runs it"
port=$((20000 + RANDOM % 20000))
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/hourglassd.service)
log=$(mktemp)
# shellcheck disable=SC2086 # the unit's command line, split as systemd splits it
runuser -u hourglass -- env HOURGLASS_LOG_DIR=/var/log/hourglass $exec_start --port "$port" >"$log" 2>&1 &
daemon=$!
hg=http://127.0.0.1:$port
for _ in $(seq 100); do curl -s -o /dev/null "$hg/v1/session" && break; sleep 0.1; done
cat "$log"
created=$(curl -s -X POST "$hg/v1/sessions" -d '{"user":"pkg-test","area":"admin"}')
id=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' <<<"$created")
[[ ${#id} -eq 43 ]] || fail "no session created: $created"
code=$(curl -s -o /dev/null -w '%{http_code}' "$hg/v1/session" -H "Authorization: Session $id")
[[ $code == 200 ]] || fail "validate answered $code"
# Another last character (the last of 43 holds 4 bits: 'A' one time in 16), so never the same ID.
last=A
[[ ${id: -1} == A ]] && last=E
code=$(curl -s -o /dev/null -w '%{http_code}' "$hg/v1/session" -H "Authorization: Session ${id%?}$last")
[[ $code == 401 ]] || fail "a wrong ID answered $code"
echo "created and validated session for pkg-test over $hg"
# The packaged default policy seeded the data directory; events went to /var/log/hourglass.
[[ -f /var/lib/hourglass/hourglass.json ]] || fail "data directory not seeded from /etc/hourglass"
# The event log is written by its own thread, which lets events gather for up to 20 ms: wait
# (bounded) for this session's creation to be in it.
events=/var/log/hourglass/hourglass-events.log
for _ in $(seq 50); do grep -qs '"user":"pkg-test"' "$events" && break; sleep 0.1; done
grep -qs '"user":"pkg-test"' "$events" || fail "the creation of pkg-test is not in $events"
[[ $(stat -c %a "$events") == 600 ]] || fail "$events is not 0600"
[[ $(stat -c %a /var/lib/hourglass/admin.token) == 600 ]] || fail "admin.token is not 0600"
# SIGTERM to the service itself (as systemd sends it), not to runuser.
pkill -TERM -u hourglass -x hourglassd
wait "$daemon" || fail "hourglassd did not stop cleanly (exit $?)"
grep -q "listening on $hg" "$log" || fail "unexpected start-up output"

step "purge"
apt-get purge -y -qq hourglass >/dev/null
leftovers=()
for p in /usr/bin/hourglass /usr/bin/hourglassd /usr/bin/hourglass-ctl /lib/systemd/system/hourglassd.service \
    /etc/hourglass /var/lib/hourglass /var/log/hourglass /usr/share/doc/hourglass \
    /usr/share/applications/org.hourglass.Hourglass.desktop /usr/share/metainfo/org.hourglass.Hourglass.metainfo.xml; do
    [[ -e $p ]] && leftovers+=("$p")
done
while IFS= read -r f; do [[ -e $f ]] && leftovers+=("$f"); done < <(find /usr/share/icons/hicolor -name 'org.hourglass.Hourglass.*')
getent passwd hourglass >/dev/null && leftovers+=("user hourglass")
dpkg -s hourglass >/dev/null 2>&1 && leftovers+=("dpkg status entry")
((${#leftovers[@]} == 0)) || fail "left behind after purge: ${leftovers[*]}"
echo "purged: nothing left"

step "purge keeps the data when the admin asked for it"
dpkg -i "$deb" >/dev/null
touch /var/lib/hourglass/KEEP-ON-PURGE
echo '{"kept":true}' >/var/lib/hourglass/marker.json
apt-get purge -y -qq hourglass >/dev/null 2>&1
[[ -f /var/lib/hourglass/marker.json ]] || fail "kept data was removed"
[[ ! -e /var/log/hourglass && ! -e /etc/hourglass && ! -e /usr/bin/hourglassd ]] || fail "purge left package files"
rm -rf /var/lib/hourglass
deluser --system --quiet hourglass >/dev/null 2>&1 || true
echo "package test: OK"
