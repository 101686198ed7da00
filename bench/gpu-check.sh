#!/usr/bin/env bash
# The GPU check of the CUDA backend, in one short script (< 8 minutes on one H200 with 16
# cores): build the addon with CUDA, run the CUDA tests (test/cuda.test.ts, and
# test/cuda-sleep-cnn.test.ts: the CNN sleep on the GPU equals the CPU event engine bit for
# bit; they run their GPU part only where a usable GPU answers), then the GPU benchmarks
# (bench/cuda.ts) and the CNN sleep timing on the GPU (`node dist/bench/run.js sleepcnn`
# with NREM_BENCH_BACKEND=cuda: LeNet and MLP sleeps on the GPU beside the CPU event engine).
# Everything goes to the folder named by the first argument:
#   build.log, info.json (nrem info), cuda-tests.json (vitest), bench.json, sleepcnn.json,
#   summary.json
# Exit status: non-zero when the build, the tests or the benchmarks failed (missed speed
# targets are recorded in bench.json, not failures).
# Usage: bench/gpu-check.sh <out-dir>          (NREM_GPU_CHECK_SKIP_BUILD=1 reuses build-cmake/)
set -uo pipefail
out="${1:?usage: bench/gpu-check.sh <out-dir>}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$(dirname "$0")/.."
start=$(date +%s)
status=0
step() { echo "gpu-check: $* ($(( $(date +%s) - start )) s)"; }

if [ "${NREM_GPU_CHECK_SKIP_BUILD:-0}" != 1 ]; then
  step "building with CUDA"
  jobs="$(nproc 2>/dev/null || echo 4)"
  if ! npx cmake-js rebuild --out build-cmake --parallel "$jobs" --CDNREM_CUDA=ON >"$out/build.log" 2>&1; then
    tail -40 "$out/build.log"
    echo '{"stage":"build","ok":false}' >"$out/summary.json"
    exit 1
  fi
  npx tsc -p tsconfig.json >>"$out/build.log" 2>&1 || status=1
fi

step "info"
node --input-type=module -e "
  import { runtimeInfo, resolveBackend } from './dist/src/index.js';
  console.log(JSON.stringify({ ...runtimeInfo(), auto: resolveBackend('auto') }, null, 2));
" >"$out/info.json" 2>&1 || status=1
cat "$out/info.json"

step "CUDA tests"
NREM_ADDON="$PWD/build-cmake/Release/nrem.node" npx vitest run test/cuda.test.ts test/cuda-sleep-cnn.test.ts \
  --reporter=default --reporter=json --outputFile.json="$out/cuda-tests.json" || status=1

step "GPU benchmarks"
NREM_ADDON="$PWD/build-cmake/Release/nrem.node" timeout 240 npx vite-node bench/cuda-main.ts "$out/bench.json" || status=1

step "CNN sleep timing on the GPU (sleepcnn)"
if NREM_ADDON="$PWD/build-cmake/Release/nrem.node" NREM_BENCH_BACKEND=cuda timeout 240 node dist/bench/run.js sleepcnn; then
  cp bench/results/latest.json "$out/sleepcnn.json"
else
  status=1
fi

step "done"
node -e '
  const fs = require("fs"), out = process.argv[1];
  const read = (f) => { try { return JSON.parse(fs.readFileSync(out + "/" + f, "utf8")); } catch { return null; } };
  const t = read("cuda-tests.json"), b = read("bench.json"), c = read("sleepcnn.json");
  const s = { ok: Number(process.argv[2]) === 0, seconds: Number(process.argv[3]),
    tests: t && { passed: t.numPassedTests, failed: t.numFailedTests, skipped: t.numPendingTests },
    bench: b && (b.rows ? b.rows.map((r) => ({ name: r.name, seconds: r.seconds, meetsTarget: r.meetsTarget })) : b),
    sleepcnn: c && c.rows.map((r) => ({ name: r.name, seconds: r.seconds, ratio: r.ratio, notes: r.notes })) };
  fs.writeFileSync(out + "/summary.json", JSON.stringify(s, null, 2));
  console.log(JSON.stringify(s));
' "$out" "$status" "$(( $(date +%s) - start ))"
exit $status
