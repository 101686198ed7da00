#!/usr/bin/env bash
# Sanitizer runs of the native core (CI step; also by hand):
#   1. ASan + UBSan: the addon built by cmake-js with -DNREM_SANITIZE=address,undefined into
#      build-asan/, then the native-kernel, thread-pool, hardening, sleep and attack tests run
#      against it (NREM_ADDON) with the ASan runtime preloaded into Node (Node is not instrumented).
#      Any report aborts the test process; reports are also written to $out/asan.* and counted.
#   2. TSan: the stand-alone thread-pool tests (test/native-core/thread_pool_test.cc) built
#      with -fsanitize=thread and run; any data race fails.
# Writes $out/sanitize.json ({ asan: {...}, tsan: {...} }) for scripts/ci-summary.mjs.
# Usage: scripts/sanitize.sh [out-dir]   (default .ci-out; NREM_SANITIZE_JOBS=2 build jobs;
#        NREM_SANITIZE_SKIP_BUILD=1 reuses build-asan/)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-.ci-out}"
mkdir -p "$out"
rm -f "$out"/asan.* "$out"/ubsan.* "$out"/tsan.*
start=$(date +%s)
status=0

cxx="${CXX:-g++}"
libasan="$("$cxx" -print-file-name=libasan.so)"
if [ ! -f "$libasan" ]; then
  echo "sanitize: $cxx has no libasan.so (install the compiler's sanitizer runtime)" >&2
  exit 1
fi

# ---- 1. ASan + UBSan addon ----
asan_ok=false
asan_tests='null'
if [ "${NREM_SANITIZE_SKIP_BUILD:-0}" != 1 ] || [ ! -f build-asan/Release/nrem.node ]; then
  echo "sanitize: building the addon with ASan + UBSan (build-asan/)"
  if ! npx cmake-js rebuild --out build-asan --parallel "${NREM_SANITIZE_JOBS:-2}" \
      --CDNREM_SANITIZE=address,undefined --CDNREM_CUDA=OFF >build-asan.log 2>&1; then
    tail -40 build-asan.log
    echo '{"asan":{"ok":false,"error":"build failed"},"tsan":null}' >"$out/sanitize.json"
    exit 1
  fi
fi
build_s=$(( $(date +%s) - start ))
# The build must really be instrumented (a run against an uninstrumented addon proves nothing).
if [ "$(nm -D build-asan/Release/nrem.node | grep -c '__asan_report\|__ubsan_handle')" = 0 ]; then
  echo "sanitize: build-asan/Release/nrem.node has no ASan/UBSan instrumentation" >&2
  echo '{"asan":{"ok":false,"error":"not instrumented"},"tsan":null}' >"$out/sanitize.json"
  exit 1
fi
echo "sanitize: built in ${build_s} s; running the native-kernel, thread-pool, hardening, sleep and attack tests"
t1=$(date +%s)
NREM_ADDON="$PWD/build-asan/Release/nrem.node" \
LD_PRELOAD="$libasan" \
ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$PWD/$out/asan:allow_user_segv_handler=1" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$PWD/$out/ubsan" \
NREM_SANITIZED=1 \
  npx vitest run test/native-kernels test/thread-pool.test.ts test/hardening-native.test.ts \
    test/sleep-api.test.ts test/sleep-engines.test.ts test/sleep-golden.test.ts test/sleep-rules.test.ts \
    test/attacks-core.test.ts test/autoattack-core.test.ts \
    --reporter=default --reporter=json --outputFile.json="$out/asan-tests.json"
vt=$?
asan_s=$(( $(date +%s) - t1 ))
reports=$(ls "$out"/asan.* "$out"/ubsan.* 2>/dev/null | wc -l)
if [ -f "$out/asan-tests.json" ]; then
  asan_tests=$(node -e 'const r=require(process.argv[1]);console.log(JSON.stringify({passed:r.numPassedTests,failed:r.numFailedTests,files:r.numTotalTestSuites}))' "$(cd "$out" && pwd)/asan-tests.json")
fi
if [ "$vt" = 0 ] && [ "$reports" = 0 ]; then asan_ok=true; else status=1; fi
for f in "$out"/asan.* "$out"/ubsan.*; do [ -f "$f" ] && { echo "---- $f"; head -60 "$f"; }; done

# ---- 2. TSan thread-pool tests ----
t2=$(date +%s)
tsan_ok=false
tsan_checks=0
if "$cxx" -std=c++17 -O1 -g -fsanitize=thread -pthread test/native-core/thread_pool_test.cc \
    native/core/thread_pool.cc native/core/cancel.cc -o "$out/thread_pool_tsan" 2>"$out/tsan-build.log"; then
  if TSAN_OPTIONS="halt_on_error=1:exitcode=66" "$out/thread_pool_tsan" >"$out/tsan.txt" 2>&1; then
    tsan_ok=true
  else
    status=1
    tail -60 "$out/tsan.txt"
  fi
  tsan_checks=$(grep -oE '^ok [0-9]+ checks' "$out/tsan.txt" | grep -oE '[0-9]+' || echo 0)
else
  status=1
  cat "$out/tsan-build.log"
fi
tsan_s=$(( $(date +%s) - t2 ))

cat >"$out/sanitize.json" <<EOF
{"asan":{"ok":$asan_ok,"tests":$asan_tests,"reports":$reports,"buildSeconds":$build_s,"testSeconds":$asan_s},
 "tsan":{"ok":$tsan_ok,"checks":${tsan_checks:-0},"seconds":$tsan_s}}
EOF
echo "sanitize: asan+ubsan $([ "$asan_ok" = true ] && echo clean || echo FAILED) (tests $asan_tests, $reports reports, ${asan_s} s);" \
  "tsan thread pool $([ "$tsan_ok" = true ] && echo clean || echo FAILED) (${tsan_checks:-0} checks, ${tsan_s} s)"
exit $status
