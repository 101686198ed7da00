/**
 * The CPU paths a benchmark row is measured on (native/core/cpu.h): every path this CPU
 * runs, widest first, or those named in NREM_BENCH_ISAS (comma-separated), and a label
 * naming the machine and the path for the rows.
 */
import { runtimeInfo, setIsa } from '../src/native/runtime.js';
import type { IsaName } from '../src/native/binding.js';

export function benchIsas(): IsaName[] {
  const supported = runtimeInfo().isa.supported;
  const wanted = process.env.NREM_BENCH_ISAS?.split(',').map((s) => s.trim()).filter(Boolean) as IsaName[] | undefined;
  const list = wanted?.length ? wanted.filter((i) => supported.includes(i)) : [...supported];
  return list.reverse();
}

/** "AMD EPYC, avx2 path (own GEMM: avx2 6x16 (fma))" */
export function pathLabel(): string {
  const i = runtimeInfo().isa;
  return `${i.cpu}, ${i.name} path`;
}

/** Runs fn on each path, then restores the path in use before. */
export async function onEachPath<T>(isas: IsaName[], fn: (isa: IsaName) => Promise<T>): Promise<T[]> {
  const start = runtimeInfo().isa.name;
  const out: T[] = [];
  try {
    for (const isa of isas) {
      setIsa(isa);
      out.push(await fn(isa));
    }
  } finally {
    setIsa(start);
  }
  return out;
}
