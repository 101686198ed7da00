/**
 * What a coordinator and a worker agree on: the queue, the job's envelope and the versions
 * that must match. A job names one unit (its kind and content key), the store that holds its
 * inputs and will hold its record, and a body (the experiment spec, or one tune candidate).
 * A worker whose versions differ from the job's refuses it (src/distributed/processor.ts)
 * instead of writing a value that might differ under the same key.
 */
import { NremError } from '../errors.js';
import { STORE_VERSION, sha256, canonicalJson, type StoreLocation } from '../experiments/store.js';
import { RESULTS_SCHEMA_VERSION } from '../experiments/results.js';
import { nremVersion } from '../experiments/runner.js';

/** Bump when the job envelope or a body changes shape. */
export const PROTOCOL_VERSION = 1;

/** Default BullMQ queue name and key prefix (all of nrem's queue keys start with "nrem:"). */
export const DEFAULT_QUEUE = 'units';
export const QUEUE_PREFIX = 'nrem';

export interface Versions {
  nrem: string;
  store: number;
  results: number;
  protocol: number;
}

export function versionsHere(): Versions {
  return { nrem: nremVersion(), store: STORE_VERSION, results: RESULTS_SCHEMA_VERSION, protocol: PROTOCOL_VERSION };
}

export function describeVersions(v: Versions): string {
  return `nrem ${v.nrem} (store v${v.store}, results schema ${v.results}, protocol ${v.protocol})`;
}

/** Why a job of versions `theirs` must not run here, or null when it may. */
export function versionMismatch(theirs: Partial<Versions> | undefined, here: Versions = versionsHere()): string | null {
  const t = theirs ?? {};
  const same = t.nrem === here.nrem && t.store === here.store && t.results === here.results && t.protocol === here.protocol;
  if (same) return null;
  const them = typeof t.nrem === 'string' ? describeVersions(t as Versions) : 'an unknown nrem version';
  return `the unit was submitted by ${them} but this worker runs ${describeVersions(here)}; install the same nrem version on every machine`;
}

export type JobName = 'unit' | 'tune';

export interface JobEnvelope<B = unknown> {
  v: Versions;
  store: StoreLocation;
  kind: string;
  key: string;
  label: string;
  body: B;
}

/** The BullMQ job id of a unit in a store: the same unit for the same store is one job, however often it is submitted. */
export function jobIdOf(store: StoreLocation, kind: string, key: string): string {
  return `u-${sha256(canonicalJson({ store, kind, key })).slice(0, 24)}`;
}

/** What a worker's child process reports through the job's progress. */
export type JobProgress =
  | { type: 'start'; worker: string }
  | { type: 'progress'; done: number; total: number; phase?: string }
  | { type: 'refused'; worker: string; message: string };

/** What a finished job returns (the value itself is in the store). */
export interface JobResult {
  /** 'computed' here, or 'found' already finished in the store (a unit delivered twice). */
  status: 'computed' | 'found';
  seconds: number;
  worker: string;
}

/** A unit that failed on the workers, or a run that cannot go on. */
export class DistributedError extends NremError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DISTRIBUTED', message, options);
  }
}
