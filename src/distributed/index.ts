/**
 * Distributed runs on BullMQ + Redis (docs/distributed.md), as one module: import it from
 * "nrem/dist/src/distributed/index.js" (kept out of the main entry point: BullMQ takes a
 * second to import, and most uses of nrem never need it).
 */
export { Coordinator, type CoordinatorOptions, type Task, type TaskHooks } from './coordinator.js';
export { distributedExecutor, runUnitJob } from './experiment.js';
export { remoteCandidates, runTuneJob, type TuneData } from './tune-remote.js';
export { startWorker, defaultProcessorFile, type WorkerOptions, type WorkerEvent, type RunningWorker } from './worker.js';
export { RedisStore, DEFAULT_STORE_PREFIX } from './redis-store.js';
export { openStore, storeFor } from './stores.js';
export { checkRedis, parseRedisUrl, RedisError } from './redis.js';
export { DistributedError, PROTOCOL_VERSION, versionsHere, versionMismatch, type Versions, type JobEnvelope, type JobResult } from './protocol.js';
