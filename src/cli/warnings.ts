/** Warnings the commands print on standard error (and put in their JSON). */
import type { Dataset } from '../data/dataset.js';
import { checkInputRange } from '../model/input-range.js';
import type { Network } from '../model/network.js';
import { provenanceMismatch, provenanceOf } from '../model/provenance.js';

export function warn(messages: string[]): string[] {
  for (const m of messages) process.stderr.write(`nrem: warning: ${m}\n`);
  return messages;
}

/**
 * Does the network fit the data? Its recorded provenance (src/model/provenance.ts: another data
 * set than it learned from, inputs outside its recorded range), and for a network imported
 * from another tool whether it expects the data's [0, 1] inputs (src/model/input-range.ts).
 * `model` names the network in the messages (its file).
 */
export async function inputWarnings(net: Network, data: Dataset, model = 'the model'): Promise<string[]> {
  const recorded = await provenanceMismatch(net, model, data);
  const range = net.source ? (await checkInputRange(net, data)).warnings : [];
  return warn([...recorded, ...range]);
}

/** The data set a command runs on: the flag, else the one the model records it learned from, else mnist. */
export function datasetFor(flag: string | undefined, net: Network): string {
  return flag ?? provenanceOf(net)?.dataset?.name ?? 'mnist';
}
