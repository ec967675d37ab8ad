#!/usr/bin/env bash
# Fuzz each harness with libFuzzer for SECONDS (default 60).
#
#   tests/fuzz/run.sh [SECONDS] [NAME...]      NAME: object, tar_extract, ... (default: all)
#
# Builds build-fuzz/ with clang and -DWS_FUZZ=ON, then runs each
# build-fuzz/fuzz_<name> on a working corpus build-fuzz/fuzz-work/<name>/
# (the committed seeds tests/fuzz/corpus/<name>/ are read, never written).
# A crash leaves its input in build-fuzz/fuzz-work/artifacts/<name>/ and
# makes the script exit 1; replay it with  build-fuzz/fuzz_<name> FILE  or
# build/fuzz_<name>_corpus FILE.  Output of each run:
# build-fuzz/fuzz-work/<name>.log.  WS_FUZZ_BUILD and WS_FUZZ_JOBS (default
# 1: the machine is shared) override the build directory and the number of
# parallel fuzzing processes.
set -euo pipefail
secs=${1:-60}
[ $# -gt 0 ] && shift
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${WS_FUZZ_BUILD:-$src/build-fuzz}
jobs=${WS_FUZZ_JOBS:-1}

if ! command -v clang >/dev/null; then
    echo "run.sh: clang is not installed (apt-get install clang)" >&2
    exit 77
fi
CC=clang cmake -S "$src" -B "$build" -DWS_FUZZ=ON -DWS_INTEGRATION=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target fuzz_all >/dev/null

if [ $# -gt 0 ]; then
    names=("$@")
else
    names=()
    for f in "$src"/tests/fuzz/fuzz_*.c; do
        n=$(basename "$f" .c)
        names+=("${n#fuzz_}")
    done
fi

# the tar extractor's harness runs as "nobody" when started as root (fuzz.h):
# the working directories must be writable by it
work=$build/fuzz-work
mkdir -p "$work/artifacts"
chmod 1777 "$work" "$work/artifacts"

# libFuzzer options per harness: inputs up to 64 KiB for archives, 16 KiB else
declare -A max_len=([tar_extract]=65536 [tar_split]=65536 [object]=32768)
parallel=()
[ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
rc=0
printf '%-12s %12s %10s %8s  %s\n' HARNESS EXECS EXEC/S COVERAGE RESULT
for n in "${names[@]}"; do
    bin=$build/fuzz_$n
    [ -x "$bin" ] || { echo "run.sh: no harness $n" >&2; exit 2; }
    mkdir -p "$work/$n" "$work/artifacts/$n"
    chmod 1777 "$work/$n" "$work/artifacts/$n"
    log=$work/$n.log
    status=ok
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$bin" -max_total_time="$secs" -max_len="${max_len[$n]:-16384}" -timeout=10 \
            -rss_limit_mb=2048 -print_final_stats=1 "${parallel[@]}" \
            -artifact_prefix="$work/artifacts/$n/" \
            "$work/$n" "$src/tests/fuzz/corpus/$n" >"$log" 2>&1 || status=CRASH
    execs=$(grep -h 'stat::number_of_executed_units' "$log" | awk '{ s += $2 } END { print s + 0 }')
    speed=$(grep -h 'stat::average_exec_per_sec' "$log" | awk '{ s += $2 } END { print s + 0 }')
    cov=$(grep -hoE 'cov: [0-9]+' "$log" | tail -1 | awk '{ print $2 }')
    if [ "$status" != ok ]; then
        rc=1
        status="CRASH: $(ls "$work/artifacts/$n" | head -3 | tr '\n' ' ')(see $log)"
    fi
    printf '%-12s %12s %10s %8s  %s\n' "$n" "$execs" "$speed" "${cov:--}" "$status"
done
exit $rc
