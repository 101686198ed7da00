/**
 * The ONNX Runtime host thread of OrtModel (src/model/ort.ts), shared by every model of the
 * process: a host that exits while calls are in flight rejects them with a BackendError
 * (never a Promise that stays pending), and the next call starts a fresh host, reopens the
 * model's session and gives the right answer. A progress callback that throws rejects the
 * call with its error. ONNX Runtime's messages come without its internal source paths.
 */
import { describe, expect, it, vi } from 'vitest';
import { BackendError, createNetwork, FormatError, OrtModel } from '../src/index.js';
import { cleanOrtMessage } from '../src/model/ort.js';

const net = createNetwork('modern', [50, 40, 5], 3);
const x = new Float32Array(20_000 * 50).map((_, i) => ((i * 7919) % 1000) / 1000);

const host = () => OrtModel.hostThread()!;

describe('OrtModel host failures', () => {
  // The host exits with code 1 before its next batch (its 'exit' hook): a real
  // worker.terminate() inside session.run() would end this process (see src/model/ort.ts).
  it('a host that dies during a run rejects it with BackendError; the next run starts a fresh host', async () => {
    const m = await OrtModel.fromNetwork(net, { batch: 100 });
    try {
      const ref = await m.run(x.subarray(0, 500 * 50), 500);
      let terminated = false;
      const p = m.run(x, 20_000, {
        onProgress: () => {
          if (!terminated) (terminated = true), host().postMessage({ type: 'exit', code: 1 });
        },
      });
      await expect(p).rejects.toBeInstanceOf(BackendError);
      await expect(p).rejects.toThrow(/worker exited \(code 1\) during the call/);
      expect(OrtModel.hostThread()).toBeNull();
      const hosts = OrtModel.hostsStarted;
      const again = await m.run(x.subarray(0, 500 * 50), 500);
      expect(Buffer.from(again.buffer).equals(Buffer.from(ref.buffer))).toBe(true);
      expect(m.sessionsStarted).toBe(2);
      expect(OrtModel.hostsStarted).toBe(hosts + 1);
    } finally {
      await m.dispose();
    }
  }, 60_000);

  it('a host that exits cleanly mid-call (its port closed) rejects every call it was serving', async () => {
    const m = await OrtModel.fromNetwork(net, { batch: 50 });
    try {
      let closed = false;
      const p = m.run(x, 20_000, {
        onProgress: () => {
          if (!closed) (closed = true), host().postMessage({ type: 'exit', code: 0 });
        },
      });
      const queued = m.run(x.subarray(0, 100 * 50), 100); // waits behind p, then gets a new host
      await expect(p).rejects.toThrow(/ONNX Runtime worker exited \(code 0\) during the call/);
      await expect(queued).resolves.toHaveLength(100 * 5);
      expect(m.sessionsStarted).toBe(2);
    } finally {
      await m.dispose();
    }
    await expect(m.run(x.subarray(0, 50), 1)).rejects.toThrow(/disposed/);
  }, 60_000);

  it('a progress callback that throws rejects the run with its error', async () => {
    const m = await OrtModel.fromNetwork(net, { batch: 100 });
    try {
      const err = new Error('from the callback');
      await expect(
        m.run(x, 20_000, {
          onProgress: () => {
            throw err;
          },
        }),
      ).rejects.toBe(err);
      await expect(m.run(x.subarray(0, 50), 1)).resolves.toHaveLength(5);
    } finally {
      await m.dispose();
    }
  }, 60_000);

  it('dispose right after a run whose callback threw never terminates the host; the host serves the other models', async () => {
    const m = await OrtModel.fromNetwork(net, { batch: 100 });
    const other = await OrtModel.fromNetwork(createNetwork('modern', [50, 20, 3], 4));
    const w = host();
    const terminate = vi.spyOn(w, 'terminate');
    await expect(
      m.run(x, 20_000, {
        onProgress: () => {
          throw new Error('stop');
        },
      }),
    ).rejects.toThrow('stop');
    await m.dispose();
    await expect(m.run(x.subarray(0, 50), 1)).rejects.toThrow(/disposed/);
    expect(OrtModel.hostThread()).toBe(w);
    await expect(other.run(x.subarray(0, 500 * 50), 500)).resolves.toHaveLength(500 * 3);
    expect(terminate).not.toHaveBeenCalled();
    await other.dispose();
  }, 60_000);

  it('every model of the process shares one host thread; two models run at once and give their own answers', async () => {
    const a = await OrtModel.fromNetwork(net, { batch: 100 });
    const net2 = createNetwork('modern', [50, 30, 7], 9);
    const b = await OrtModel.fromNetwork(net2, { batch: 100 });
    try {
      const hosts = OrtModel.hostsStarted;
      const [ya, yb] = await Promise.all([a.run(x, 20_000), b.run(x, 20_000)]);
      expect(OrtModel.hostsStarted).toBe(hosts);
      const ra = await net.forward(x.subarray(0, 100 * 50));
      const rb = await net2.forward(x.subarray(0, 100 * 50));
      for (const [y, r] of [[ya, ra], [yb, rb]] as const) for (let i = 0; i < r.length; i++) expect(Math.abs(y[i] - r[i])).toBeLessThan(1e-4);
    } finally {
      await a.dispose();
      await b.dispose();
    }
  }, 60_000);
});

describe("ONNX Runtime's messages", () => {
  it('lose the build paths and C++ signatures', () => {
    expect(
      cleanOrtMessage(
        'Load model from memory failed:/onnxruntime_src/onnxruntime/core/graph/model.cc:180 onnxruntime::Model::Model(onnx::ModelProto&&, const PathString&, const IOnnxRuntimeOpSchemaRegistryList*, const onnxruntime::logging::Logger&, const onnxruntime::ModelOptions&) Unsupported model IR version: 100, max supported IR version: 10',
      ),
    ).toBe('Load model from memory failed: Unsupported model IR version: 100, max supported IR version: 10');
    expect(cleanOrtMessage("Status Message: /onnxruntime_src/onnxruntime/core/providers/cpu/math/gemm_helper.h:14 onnxruntime::GemmHelper::GemmHelper(const onnxruntime::TensorShape&, bool) left.NumDimensions() == 2 was false.")).toBe(
      'Status Message: left.NumDimensions() == 2 was false.',
    );
  });

  it('a model ONNX Runtime refuses is a FormatError without source paths', async () => {
    const bytes = (await import('../src/model/onnx.js')).toOnnxBytes(net);
    const bad = bytes.slice();
    // ir_version (field 1, varint) → 100: ONNX Runtime refuses it.
    expect(bad[0]).toBe(0x08);
    bad[1] = 100;
    const e = await OrtModel.fromBytes(bad, 'ir100.onnx').catch((err) => err);
    expect(e).toBeInstanceOf(FormatError);
    expect(e.message).toMatch(/^ir100\.onnx: ONNX Runtime cannot load the model/);
    expect(e.message).not.toMatch(/onnxruntime_src|\.cc:\d+/);
  });
});
