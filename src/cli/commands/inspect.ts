import { MODEL_FILE_LIMIT, readInputFile } from '../../util/files.js';
import type { Command } from 'commander';
import { decodeModel, externalReader, importOnnx } from '../../model/onnx.js';
import { num } from '../../model/onnx-proto.js';

/** What `nrem inspect` reports about an ONNX network. */
export async function inspectOnnx(path: string): Promise<Record<string, unknown>> {
  const bytes = await readInputFile(path, { maxBytes: MODEL_FILE_LIMIT, what: 'ONNX model' });
  const imp = importOnnx(bytes, path, { external: externalReader(path) });
  const net = imp.net;
  const parameters = net.native().describe().parameters;
  const { 'nrem.recipe': recipe, ...metadata } = imp.metadata;
  return {
    model: path,
    bytes: bytes.length,
    producer: imp.producer,
    opset: imp.opset,
    irVersion: num(decodeModel(bytes, path).irVersion),
    sizes: net.sizes,
    layers: net.chain.map((l) => ({ kind: l.kind, in: l.in, out: l.out, relu: l.relu, bias: l.bias ?? false })),
    input: net.inputShape,
    inputOps: net.inputOps.map((op) => op.op),
    graphInput: imp.input,
    graphOutput: imp.output,
    foldedBatchNorm: imp.foldedBatchNorm,
    mlp: net.isMlp,
    hiddenActivation: 'relu',
    output: net.output,
    temperature: net.temperature,
    dropout: net.dropout,
    dropoutMode: net.dropoutMode,
    hiddenScale: net.hiddenScale,
    biases: net.hasBiases,
    parameters,
    operators: imp.operators,
    nremMetadata: 'nrem.sizes' in imp.metadata || 'nrem.spec' in imp.metadata,
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
    .description('describe an ONNX network: layers and shapes, activations, opset, parameter count, nrem metadata')
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
      if (info.mlp) line('sizes', (info.sizes as number[]).join('-'));
      const gi = info.graphInput as { name: string; dims: unknown[] };
      line('input', `${gi.name} [${gi.dims.join(', ')}]${(info.inputOps as string[]).length ? ` then ${(info.inputOps as string[]).join(', ')} by constants` : ''}`);
      for (const l of info.layers as { kind: string; in: number[]; out: number[]; relu: boolean; bias: boolean }[])
        line(`  ${l.kind}`, `${l.in.join('×')} → ${l.out.join('×')}${l.bias ? ', bias' : ''}${l.relu ? ', relu' : ''}`);
      if ((info.foldedBatchNorm as string[]).length) line('batchnorm', `folded into the layer before: ${(info.foldedBatchNorm as string[]).join(', ')}`);
      line('activations', `relu hidden, ${info.output} output${info.output === 'softmax' ? ` (temperature ${info.temperature})` : ''}`);
      line('dropout', info.dropout ? `${info.dropout} (${info.dropoutMode}; hidden scale ${info.hiddenScale})` : 'none');
      line('biases', info.biases ? 'yes' : 'no');
      line('parameters', (info.parameters as number).toLocaleString('en-US'));
      line('operators', Object.entries(info.operators as Record<string, number>).map(([k, v]) => `${k}×${v}`).join(' '));
      if (info.recipe !== null) line('recipe', info.recipe);
      for (const [k, v] of Object.entries(info.metadata as Record<string, string>)) if (!k.startsWith('nrem.')) line(k, v);
    });
}
