#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan + LeakSanitizer) and runs each of them:
#   bash fuzz/run.sh [seconds per target=30] [target...]
# CI runs 30 s per target; run longer with e.g. `bash fuzz/run.sh 3600`. Seeds come from
# fuzz/corpus/<target>/ (requests, cookies and bodies from the tests and docs/api.md) plus the
# configuration and store fixtures of the test suite; the committed corpus is never modified.
# Any crash, leak, timeout or sanitizer report fails the run and leaves the input in
# <build>/artifacts/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${HOURGLASS_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${1:-30}"
shift || true
targets=("$@")
((${#targets[@]})) || targets=(fuzz_http_request fuzz_credentials fuzz_json_body fuzz_config fuzz_store_file)

export CCACHE_DIR="${CCACHE_DIR:-$root/.cache/ccache}"
CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOURGLASS_FUZZ=ON \
    -DHOURGLASS_GUI=OFF -DHOURGLASS_TESTS=OFF -DHOURGLASS_BENCH=OFF -DHOURGLASS_SANITIZE=address,undefined >/dev/null
cmake --build "$build" --parallel 2 --target "${targets[@]}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/artifacts"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
status=0
for target in "${targets[@]}"; do
    corpus="$work/$target"
    mkdir -p "$corpus"
    cp "$root/fuzz/corpus/$target/"* "$corpus/" 2>/dev/null || true
    case "$target" in
    fuzz_config) cp "$root/tests/fixtures/config/"*.json "$corpus/" ;;
    fuzz_store_file) cp "$root/tests/fixtures/store/"* "$corpus/" ;;
    esac
    seeds=$(find "$corpus" -type f | wc -l)
    if "$build/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="$build/artifacts/$target-" -print_final_stats=1 "$corpus" >"$work/$target.log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target.log")
        printf '%-20s ok: %s runs in %s s from %s seeds, corpus now %s inputs\n' "$target" "$runs" "$seconds" \
            "$seeds" "$(find "$corpus" -type f | wc -l)"
    else
        echo "$target FAILED:" >&2
        tail -40 "$work/$target.log" >&2
        status=1
    fi
done
exit $status
