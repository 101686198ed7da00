/**
 * `nrem tune --redis`: the candidates of each generation slept and scored by BullMQ workers.
 *
 * Coordinator side, `remoteCandidates`: a CandidateRunner (src/tune/tune.ts). The network's
 * ONNX bytes go into the store once (kind "tune-model", keyed by their hash); each candidate
 * is one unit, keyed by (model, data, objective, parameters, sleep seed, scale factors), whose
 * record holds its score — so a restarted search, or another search that asks for the same
 * candidate, finds it in the store instead of sleeping again. The search itself (ask/tell,
 * checkpoint, history) stays in `tune()`, on the coordinator.
 *
 * Worker side, `runTuneJob`: loads the network from the store and the data set by its spec,
 * rebuilds the SleepObjective (its description must equal the coordinator's: the same
 * validation rows, distortions and control score), and runs the same `sleepAndScore` as a
 * local search, one candidate per job.
 */
import { hostname } from 'node:os';
import { loadDataset } from '../data/index.js';
import { fromOnnxBytes } from '../model/onnx.js';
import type { Network } from '../model/network.js';
import { canonicalJson, sha256, StoreIntegrityError, unitKey, type Store } from '../experiments/store.js';
import type { SleepParameters } from '../sleep/presets.js';
import { SleepObjective, type Evaluation } from '../tune/objective.js';
import { sleepAndScore, type CandidateRun, type CandidateRunner, type ObjectiveConfig } from '../tune/tune.js';
import type { Coordinator, Task } from './coordinator.js';
import { Recent } from './experiment.js';
import { DistributedError, type JobEnvelope } from './protocol.js';

export interface TuneData {
  /** A loadDataset spec ("mnist", "patches", "features:FILE", …) that every worker can load. */
  dataset: string;
  quick?: boolean;
  seed?: number;
}

export interface TuneJobBody {
  model: { kind: string; key: string };
  data: TuneData;
  objective: ObjectiveConfig;
  describe: Record<string, unknown>;
  parameters: SleepParameters;
  scaleFactors: number[];
  sleepSeed: number;
}

/** A candidate's record value (a non-finite score is kept as a string: JSON has no -Infinity). */
interface CandidateValue extends Omit<CandidateRun, 'ev'> {
  score: number | string;
  clean: number;
  terms: Record<string, number>;
}

const MODEL_KIND = 'tune-model';
const CANDIDATE_KIND = 'tune-candidate';

function encode(r: CandidateRun): CandidateValue {
  return { score: Number.isFinite(r.ev.score) ? r.ev.score : String(r.ev.score), clean: r.ev.clean, terms: r.ev.terms, spikes: r.spikes, changed: r.changed, seconds: r.seconds };
}

function decode(v: CandidateValue): CandidateRun {
  const ev: Evaluation = { score: typeof v.score === 'string' ? Number(v.score) : v.score, clean: v.clean, terms: v.terms };
  return { ev, spikes: v.spikes, changed: v.changed, seconds: v.seconds };
}

/** Candidates scored by the workers of `coord`, through `store`. `model`: the network's ONNX bytes (as the coordinator read them). */
export function remoteCandidates(coord: Coordinator, o: { store: Store; model: Uint8Array; data: TuneData; onLog?: (message: string) => void }): CandidateRunner {
  const { store } = o;
  const model = { kind: MODEL_KIND, key: sha256(o.model).slice(0, 20) };
  let modelSaved = false;
  let submitted = 0;
  return {
    async run(items, ctx) {
      if (!modelSaved) {
        if (!(await store.get(model.kind, model.key, { payloads: 'size' })))
          await store.save(
            { key: model.key, kind: model.kind, label: 'network to tune', params: {}, inputs: [], wallSeconds: 0, finishedAt: new Date().toISOString(), value: { bytes: o.model.length } },
            [{ ext: 'onnx', data: o.model }],
          );
        modelSaved = true;
      }
      const out = new Map<string, CandidateRun>();
      const keys: string[] = [];
      const tasks = new Map<string, Task>();
      for (const it of items) {
        const body: TuneJobBody = { model, data: o.data, objective: ctx.objective, describe: ctx.describe, parameters: it.parameters, scaleFactors: it.scaleFactors, sleepSeed: ctx.sleepSeed };
        const key = unitKey(CANDIDATE_KIND, { model: model.key, data: o.data, objective: ctx.objective, describe: ctx.describe, parameters: it.parameters, scaleFactors: it.scaleFactors, sleepSeed: ctx.sleepSeed }, [model.key]);
        keys.push(key);
        if (tasks.has(key) || out.has(key)) continue;
        const found = await store.get<CandidateValue>(CANDIDATE_KIND, key);
        if (found) out.set(key, decode(found.value));
        else tasks.set(key, { name: 'tune', kind: CANDIDATE_KIND, key, label: `tune candidate ${++submitted}`, body, deps: [] });
      }
      if (tasks.size)
        await coord.run([...tasks.values()], {
          store,
          signal: ctx.signal,
          onDone: (t, rec) => out.set(t.key, decode(rec.value as CandidateValue)),
          onLog: o.onLog,
        });
      return keys.map((k) => out.get(k)!);
    },
  };
}

/** What a worker's child keeps between tune jobs. */
const nets = new Recent<string, Promise<Network>>(2);
const splits = new Recent<string, ReturnType<typeof loadDataset>>(2);
const objectives = new Recent<string, Promise<SleepObjective>>(2);

function cached<T>(m: Recent<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let p = m.get(key);
  if (!p) {
    m.set(key, (p = make()));
    p.catch(() => m.get(key) === p && m.delete(key));
  }
  return p;
}

/** Sleeps and scores the candidate a job names (see the header); 'found' when the store already held it. */
export async function runTuneJob(job: JobEnvelope<TuneJobBody>, ctx: { store: Store; signal?: AbortSignal }): Promise<'computed' | 'found'> {
  const b = job.body;
  const { store } = ctx;
  if ((await store.read(job.kind, job.key)).status === 'ok') return 'found';
  const net = await cached(nets, b.model.key, async () => {
    const rec = await store.get(b.model.kind, b.model.key, { payloads: 'size' });
    if (!rec) throw new StoreIntegrityError(`the network to tune (${store.stem(b.model.kind, b.model.key)}) is not in the store ${store.describe()}`);
    return fromOnnxBytes(await store.readFile(rec, rec.files[0]));
  });
  const dataKey = canonicalJson(b.data);
  const split = await cached(splits, dataKey, () => loadDataset(b.data.dataset, { quick: b.data.quick, seed: b.data.seed }));
  const objective = await cached(objectives, canonicalJson({ model: b.model.key, data: b.data, objective: b.objective }), () =>
    SleepObjective.create(net, split.train, { ...b.objective, test: split.test, signal: ctx.signal }),
  );
  const here = canonicalJson(objective.describe());
  if (here !== canonicalJson(b.describe))
    throw new DistributedError(`the validation data on this worker differ from the coordinator's (here ${here}, there ${canonicalJson(b.describe)}): is ${b.data.dataset} the same file on every machine?`);
  const t0 = performance.now();
  const [run] = await sleepAndScore(net, objective, [{ parameters: b.parameters, scaleFactors: b.scaleFactors }], b.sleepSeed, ctx.signal);
  await store.save(
    {
      key: job.key,
      kind: job.kind,
      label: job.label,
      params: { parameters: b.parameters, sleepSeed: b.sleepSeed },
      inputs: [b.model.key],
      wallSeconds: (performance.now() - t0) / 1000,
      finishedAt: new Date().toISOString(),
      computedBy: `${hostname()}:${process.pid}`,
      value: encode(run),
    },
    [],
  );
  return 'computed';
}
