/**
 * Progress of an experiment run. The runner emits RunEvents; a reporter turns them into
 * a cli-progress multibar on a TTY (one bar for the run with its ETA, one for the unit at
 * work), plain lines when stderr is not a TTY, or nothing (quiet / --json).
 */
import cliProgress from 'cli-progress';

export type RunEvent =
  | { type: 'plan'; total: number; weight: number }
  | { type: 'unit-start'; label: string; kind: string; index: number }
  | { type: 'unit-progress'; label: string; done: number; total: number; phase?: string }
  /** `done`: units finished so far (with several workers they finish out of order); `where`: the worker that computed it. */
  | { type: 'unit-end'; label: string; kind: string; reused: boolean; seconds: number; index: number; weight: number; done?: number; where?: string }
  | { type: 'log'; message: string };

export type Reporter = ((e: RunEvent) => void) & { stop(): void };

export function makeReporter(mode: 'auto' | 'quiet' | 'lines' | 'bars', stream: NodeJS.WriteStream = process.stderr): Reporter {
  const m = mode === 'auto' ? (stream.isTTY ? 'bars' : 'lines') : mode;
  if (m === 'quiet') return Object.assign(() => {}, { stop() {} });
  if (m === 'lines') {
    let total = 0;
    let t0 = Date.now();
    const fn = (e: RunEvent) => {
      if (e.type === 'plan') {
        total = e.total;
        t0 = Date.now();
      } else if (e.type === 'unit-end')
        stream.write(
          `[${e.done ?? e.index + 1}/${total}] ${e.label} ${e.reused ? '(reused)' : `${e.seconds.toFixed(1)} s`}${e.where ? ` on ${e.where}` : ''} — ${((Date.now() - t0) / 1000).toFixed(0)} s elapsed\n`,
        );
      else if (e.type === 'log') stream.write(`${e.message}\n`);
    };
    return Object.assign(fn, { stop() {} });
  }
  const multi = new cliProgress.MultiBar(
    { clearOnComplete: false, hideCursor: true, format: ' {name} |{bar}| {value}/{total} {extra}', etaBuffer: 20, stream },
    cliProgress.Presets.shades_classic,
  );
  let run: cliProgress.SingleBar | undefined;
  let unit: cliProgress.SingleBar | undefined;
  // ETA on the run bar: weighted by the planned cost of the units, measured on computed units only.
  let doneWeight = 0;
  let totalWeight = 1;
  let computedWeight = 0;
  let computedSeconds = 0;
  let firstStart: number | undefined;
  const eta = () => {
    if (computedWeight <= 0) return 'ETA –';
    const s = ((totalWeight - doneWeight) * computedSeconds) / computedWeight;
    return `ETA ${s < 90 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`}`;
  };
  const fn = (e: RunEvent) => {
    switch (e.type) {
      case 'plan':
        totalWeight = e.weight;
        run = multi.create(e.total, 0, { name: 'run ', extra: 'ETA –' });
        unit = multi.create(1, 0, { name: 'unit', extra: '' });
        break;
      case 'unit-start':
        firstStart ??= Date.now();
        unit?.setTotal(1);
        unit?.update(0, { extra: e.label });
        break;
      case 'unit-progress':
        if (e.total > 0) {
          unit?.setTotal(e.total);
          unit?.update(e.done, { extra: `${e.label}${e.phase ? ` (${e.phase})` : ''}` });
        }
        break;
      case 'unit-end':
        doneWeight += e.weight;
        if (!e.reused) {
          // (A short unit of a distributed run reports no start.)
          firstStart ??= Date.now() - 1000 * e.seconds;
          computedWeight += e.weight;
          // Wall time since the first unit started, not the units' own seconds: with several workers they overlap.
          computedSeconds = (Date.now() - (firstStart ?? Date.now())) / 1000 || e.seconds;
        }
        run?.update(e.done ?? e.index + 1, { extra: eta() });
        break;
      case 'log':
        multi.log(`${e.message}\n`);
        break;
    }
  };
  return Object.assign(fn, { stop: () => multi.stop() });
}
