/** `nrem tune`: search for sleep parameters (GA or CMA-ES) against a validation objective. */
export { tune, tuneFiles, presetText, ALGORITHMS, type Algorithm, type TuneOptions, type TuneResult, type TuneHistory, type Candidate, type Reference } from './tune.js';
export {
  SleepObjective,
  parseObjective,
  termKey,
  looksLikeTestSplit,
  DEFAULT_OBJECTIVE,
  OBJECTIVE_KINDS,
  type ObjectiveKind,
  type ObjectiveTerm,
  type ObjectiveOptions,
  type Evaluation,
} from './objective.js';
export { SearchSpace, parseBounds, DEFAULT_BOUNDS, type Bound, type SearchBounds, type SpaceOptions, type SpaceDescription } from './space.js';
export { GeneticAlgorithm, type GaOptions, type GaState } from './ga.js';
export { CmaEs, type CmaesOptions, type CmaesState } from './cmaes.js';
export { minimize, type Optimizer, type OptimizerState } from './optimizer.js';
export { symmetricEigen, type Eigen } from './eigen.js';
