import type { Command } from 'commander';
import { runtimeInfo, resolveBackend } from '../../native/runtime.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('print the native backends, CPU path (ISA) and why, CUDA devices, threads and BLAS in use')
    .option('--json', 'print one JSON object')
    .action((opts: { json?: boolean }) => {
      const t0 = performance.now();
      const info = runtimeInfo();
      const auto = resolveBackend('auto');
      const backends = ['cpu', ...(info.cuda.available ? ['cuda'] : [])];
      if (opts.json) {
        console.log(JSON.stringify({ ...info, backends, auto, wallSeconds: (performance.now() - t0) / 1000 }));
        return;
      }
      const row = (k: string, v: unknown) => console.log(`${k.padEnd(14)} ${v}`);
      row('addon', info.addon);
      row('backends', backends.join(', '));
      row('auto', auto.backend + (auto.reason ? ` (${auto.reason})` : ''));
      row('cpu', `${info.isa.cpu}${info.isa.vendor ? ` [${info.isa.vendor} family ${info.isa.family.toString(16)}h]` : ''} (${info.isa.flags.join(' ') || 'none of avx2/avx512'})`);
      row('isa', `${info.isa.name} (${info.isa.reason})`);
      row('isa paths', `compiled: ${info.isa.compiled.join(', ')}; this CPU runs: ${info.isa.supported.join(', ')}`);
      row('threads', info.threads);
      row('gemm', info.gemm === 'native' ? `native (${info.isa.gemmKernel}; ${info.isa.gemmKernelReason})` : info.gemm);
      row('openblas', info.openblas);
      row('cuda', info.cuda.compiled ? (info.cuda.available ? 'available' : `unavailable: ${info.cuda.reason}`) : `not compiled: ${info.cuda.reason}`);
      if (info.cuda.compiled) row('cuda runtime', `${info.cuda.runtimeVersion} (driver ${info.cuda.driverVersion || 'none'})`);
      for (const d of info.cuda.devices)
        row(`device ${d.index}`, `${d.name}, sm_${d.computeCapability.replace('.', '')}, ${(d.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${d.multiprocessors} SMs${d.usable ? '' : ' (unusable: needs sm_80+)'}`);
    });
}
