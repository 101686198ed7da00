/**
 * ONNX Runtime sessions kept per network, so that every re-check of one network (PGD,
 * Square, transfer, DeepFool, JSMA, C&W units of a study) reuses one session instead of
 * exporting the network and starting a worker and a session each time. At most `max`
 * sessions are open; the least recently used is closed first. A network must not change
 * while its session is pooled (the study's networks never do once built).
 */
import type { Network } from './network.js';
import { OrtModel } from './ort.js';

export class OrtPool {
  private readonly open = new Map<Network, Promise<OrtModel>>();

  constructor(private readonly max = 4) {}

  /** The session of `net` (started on first use). */
  get(net: Network): Promise<OrtModel> {
    let p = this.open.get(net);
    if (p) {
      this.open.delete(net);
      this.open.set(net, p);
      return p;
    }
    p = OrtModel.fromNetwork(net);
    this.open.set(net, p);
    // A session that failed to start is not kept.
    p.catch(() => this.open.get(net) === p && this.open.delete(net));
    while (this.open.size > this.max) {
      const [oldest, q] = this.open.entries().next().value as [Network, Promise<OrtModel>];
      this.open.delete(oldest);
      void q.then((m) => m.dispose(), () => undefined);
    }
    return p;
  }

  /** Sessions open now. */
  get size(): number {
    return this.open.size;
  }

  /** Closes every session. */
  async clear(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((p) => p.then((m) => m.dispose(), () => undefined)));
  }
}
