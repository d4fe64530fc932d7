#!/usr/bin/env bash
# Takes a screenshot of every console page into docs/screenshots/ under Xvfb.
#
#   tools/screenshots.sh [build-dir]        (default: build/)
#
# Runs the console on a throw-away data directory, feeds its embedded service real traffic over
# HTTP (sessions in both areas, remember-me, login flows, a brute-force address that gets blocked,
# an oversized admin session) while the console's --screenshots mode waits, then saves one PNG per
# page. Needs xvfb-run and curl (installer/bootstrap.sh installs both).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
out=$root/docs/screenshots
data=$(mktemp -d)
console=
cleanup() {
    [ -n "$console" ] && kill "$console" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT

port=$(( 20000 + RANDOM % 20000 ))
cat > "$data/hourglass.json" <<JSON
{"schema": 2, "settings": {}, "service": {"port": $port, "guard_failure_threshold": 5}}
JSON

mkdir -p "$out"
export HOURGLASS_SCREENSHOT_DELAY_MS=9000 # the traffic below runs while the console waits
timeout 180 xvfb-run -a -s "-screen 0 1280x860x24" \
    "$build/app/hourglass" --data-dir "$data" --screenshots "$out" &
console=$!

hg=http://127.0.0.1:$port
for _ in $(seq 100); do
    curl -s -o /dev/null "$hg/v1/session" && break
    sleep 0.1
done

ids=()
create() { # user area remember ip
    ids+=("$(curl -s -X POST "$hg/v1/sessions" -H 'Content-Type: application/json' \
        -d "{\"user\":\"$1\",\"area\":\"$2\",\"remember_me\":$3,\"client_ip\":\"$4\",\"user_agent\":\"Mozilla/5.0 (X11; Linux x86_64)\"}" |
        sed -n 's/.*"id":"\([^"]*\)".*/\1/p')")
}
users=(alice bob carol dave erin frank grace heidi ivan judy mallory oscar peggy trent victor walter)
for round in 1 2 3; do
    for i in "${!users[@]}"; do
        area=storefront; [ $((i % 4)) = 0 ] && area=admin
        remember=false; [ $((i % 3)) = 0 ] && remember=true
        create "${users[$i]}" "$area" "$remember" "203.0.113.$((i + 10))"
    done
    # Validations, like web applications checking their cookies, and an attacker guessing IDs.
    for id in "${ids[@]}"; do curl -s -o /dev/null "$hg/v1/session" -H "Authorization: Session $id"; done
    for _ in $(seq 40); do curl -s -o /dev/null "$hg/v1/session" -H 'Authorization: Session AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' -H "X-Real-IP: 198.51.100.$round"; done
    sleep 1.5
done
# Login flows in two tabs of one browser; one completes.
root_cookie=$(curl -s -i -X POST "$hg/v1/auth-sessions" -d '{"client_ip":"203.0.113.50"}' | sed -n 's/^Set-Cookie: \(__Host-hg_auth=[^;]*\).*/\1/p')
tab=$(curl -s -X POST "$hg/v1/auth-sessions" -H "Cookie: $root_cookie" -d '{"client_ip":"203.0.113.50"}' | sed -n 's/.*"tab_id":"\([^"]*\)".*/\1/p')
curl -s -o /dev/null -X POST "$hg/v1/auth-sessions" -H "Cookie: $root_cookie" -d '{"client_ip":"203.0.113.50"}'
curl -s -o /dev/null -X POST "$hg/v1/auth-sessions/complete" -H "Cookie: $root_cookie" -d "{\"tab_id\":\"$tab\",\"user\":\"alice\",\"area\":\"admin\"}"
# An admin session over the size limit (session data larger than 256000 bytes).
big=$(curl -s -X POST "$hg/v1/sessions" -d '{"user":"root","area":"admin","client_ip":"127.0.0.1"}' | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
head -c 300000 /dev/zero | curl -s -o /dev/null -X PUT "$hg/v1/session/data" -H "Authorization: Session $big" --data-binary @-

wait "$console"
console=
ls -1 "$out"
