/** Warnings the commands print on standard error (and put in their JSON). */
import type { Dataset } from '../data/dataset.js';
import { checkInputRange } from '../model/input-range.js';
import type { Network } from '../model/network.js';

export function warn(messages: string[]): string[] {
  for (const m of messages) process.stderr.write(`nrem: warning: ${m}\n`);
  return messages;
}

/** For a network imported from another tool: does it expect the data's [0, 1] inputs? (src/model/input-range.ts) */
export async function inputWarnings(net: Network, data: Dataset): Promise<string[]> {
  if (!net.source) return [];
  return warn((await checkInputRange(net, data)).warnings);
}
