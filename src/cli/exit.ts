/**
 * Exit statuses of the nrem command (docs/cli.md), from the error that ended it:
 *
 *   0    success
 *   1    runtime failure: the work itself failed (memory, native core, ONNX Runtime, an
 *        output that cannot be written, the store, Redis, an internal error)
 *   2    usage error: the command line is wrong (unknown command or option, a missing or
 *        invalid option value; ERR_ARGUMENT, or an ERR_VALUE raised by src/cli/parse.ts)
 *   3    bad input: a file or data set the command reads cannot be used (no such file,
 *        unreadable or malformed model, data or spec; wrong shapes; an unsupported network;
 *        an invalid value inside a spec or preset file)
 *   130  interrupted (SIGINT / SIGTERM, or an aborted run: ERR_ABORTED)
 */
import { NremError } from '../errors.js';

export const EXIT = { ok: 0, runtime: 1, usage: 2, input: 3, interrupted: 130 } as const;

const INPUT_CODES = new Set(['ERR_FORMAT', 'ERR_SHAPE', 'ERR_UNSUPPORTED', 'ERR_VALUE']);

/** The exit status for an error that ended a command. */
export function exitCodeOf(err: unknown): number {
  if (!(err instanceof NremError)) return EXIT.runtime;
  if (err.code === 'ERR_ARGUMENT' || (err as { usage?: boolean }).usage === true) return EXIT.usage;
  if (err.code === 'ERR_ABORTED') return EXIT.interrupted;
  if (INPUT_CODES.has(err.code)) return EXIT.input;
  return EXIT.runtime;
}
