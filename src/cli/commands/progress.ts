/** A cli-progress bar on a TTY (nothing otherwise), fed by native progress events. */
import cliProgress from 'cli-progress';
import type { ProgressEvent } from '../../util/control.js';

export function progressBar(): { update: (p: ProgressEvent) => void; stop: () => void } | undefined {
  if (!process.stderr.isTTY) return undefined;
  const bar = new cliProgress.SingleBar({ stream: process.stderr, format: '{phase} [{bar}] {percentage}% | {eta}s' }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    update: (p) => {
      if (!started) {
        bar.start(p.total, 0, { phase: p.phase });
        started = true;
      }
      bar.setTotal(p.total);
      bar.update(p.done, { phase: p.phase });
    },
    stop: () => started && bar.stop(),
  };
}
