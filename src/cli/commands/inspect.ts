import { MODEL_FILE_LIMIT, readInputFile } from '../../util/files.js';
import type { Command } from 'commander';
import { decodeModel, importOnnx } from '../../model/onnx.js';
import { num } from '../../model/onnx-proto.js';

/** What `nrem inspect` reports about an ONNX MLP. */
export async function inspectOnnx(path: string): Promise<Record<string, unknown>> {
  const bytes = await readInputFile(path, { maxBytes: MODEL_FILE_LIMIT, what: 'ONNX model' });
  const imp = importOnnx(bytes, path);
  const net = imp.net;
  const parameters = net.weights.reduce((a, w) => a + w.length, 0) + net.biases.reduce((a, b) => a + (b ? b.length : 0), 0);
  const { 'nrem.recipe': recipe, ...metadata } = imp.metadata;
  return {
    model: path,
    bytes: bytes.length,
    producer: imp.producer,
    opset: imp.opset,
    irVersion: num(decodeModel(bytes, path).irVersion),
    sizes: net.sizes,
    layers: net.layers,
    hiddenActivation: 'relu',
    output: net.output,
    temperature: net.temperature,
    dropout: net.dropout,
    dropoutMode: net.dropoutMode,
    hiddenScale: net.hiddenScale,
    biases: net.hasBiases,
    parameters,
    operators: imp.operators,
    nremMetadata: 'nrem.sizes' in imp.metadata,
    recipe: recipe === undefined ? null : safeJson(recipe),
    metadata,
  };
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('describe an ONNX MLP: layer sizes, activations, opset, parameter count, nrem metadata')
    .requiredOption('--model <file>', 'the .onnx file')
    .option('--json', 'print one JSON object')
    .action(async (opts: { model: string; json?: boolean }) => {
      const t0 = performance.now();
      const info = await inspectOnnx(opts.model);
      if (opts.json) {
        console.log(JSON.stringify({ ...info, wallSeconds: (performance.now() - t0) / 1000 }));
        return;
      }
      const line = (k: string, v: unknown) => console.log(`${k.padEnd(16)} ${typeof v === 'object' ? JSON.stringify(v) : v}`);
      line('model', info.model);
      line('producer', info.producer || '(none)');
      line('opset', info.opset);
      line('sizes', (info.sizes as number[]).join('-'));
      line('activations', `relu hidden, ${info.output} output${info.output === 'softmax' ? ` (temperature ${info.temperature})` : ''}`);
      line('dropout', info.dropout ? `${info.dropout} (${info.dropoutMode}; hidden scale ${info.hiddenScale})` : 'none');
      line('biases', info.biases ? 'yes' : 'no');
      line('parameters', (info.parameters as number).toLocaleString('en-US'));
      line('operators', Object.entries(info.operators as Record<string, number>).map(([k, v]) => `${k}×${v}`).join(' '));
      if (info.recipe !== null) line('recipe', info.recipe);
      for (const [k, v] of Object.entries(info.metadata as Record<string, string>)) if (!k.startsWith('nrem.')) line(k, v);
    });
}
