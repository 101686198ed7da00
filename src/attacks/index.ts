/** Attacks, the paper's FGSM sweep, distortions and their figures. */
export { Attack, attack, restrict, perturbationNorms, type AttackTarget, type AttackNorm, type AttackCallOptions, type AttackResult } from './base.js';
export { inputGradient, classGradients, ATTACK_LOSSES, type AttackLoss } from './gradients.js';
export { PGD, FGSM, FGM, BIM, type PgdOptions } from './pgd.js';
export { DeepFool, CarliniWagnerL2, JSMA, type DeepFoolOptions, type CarliniWagnerOptions, type JsmaOptions } from './minimal.js';
export { SquareAttack, transferAttack, type SquareOptions } from './square.js';
export { fgsmSweep, epsRange, SWEEP_METHODS, type SweepMethod, type SweepResult } from './sweep.js';
export { summarize, median, type AttackSummary, type EpsSummary } from './metrics.js';
export { distort, evaluateDistortions, DISTORTIONS, type DistortionKind, type DistortOptions, type DistortionCurve } from './distortions.js';
export { APGD, APGD_LOSSES, type ApgdLoss, type ApgdOptions } from './apgd.js';
export { FAB, type FabOptions } from './fab.js';
export { autoAttack, autoAttackSweep, AutoAttack, logitsOf, AUTOATTACK_STAGES, AUTOATTACK_VERSIONS, VERSION_STAGES, type AutoAttackOptions, type AutoAttackSweepOptions, type AutoAttackResult, type AutoAttackStage, type AutoAttackStageResult, type AutoAttackVersion } from './autoattack.js';
export { checkProbabilities, checkRandomized, checkSquare, checkTransfer, checkZeroGradient, type CheckId, type SanityCheck } from './checks.js';
