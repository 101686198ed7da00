/** Entry point of the GPU benchmarks: `npx vite-node bench/cuda-main.ts <out.json>` (see bench/gpu-check.sh). */
import { main } from './cuda.js';

await main(process.argv[2]);
