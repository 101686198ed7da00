/**
 * Input gradients of the attack losses (native/core/gradients.h), batched, test mode.
 *   mse    the paper's ½‖a_L − onehot(y)‖² on the network's output (vanishes where a ReLU output is 0)
 *   ce     cross-entropy on the output layer's pre-activation z_L
 *   margin the C&W margin max_{j≠y} z_j − z_y
 */
import { addon } from '../native/binding.js';
import { runNative, type RunOptions } from '../util/control.js';
import { BACKENDS, type Backend } from '../native/runtime.js';
import { RUN_OPTION_KEYS, expectFiniteAsync, expectKnownKeys, expectOneOf } from '../util/validate.js';
import { ShapeError, ValueError } from '../errors.js';
import { toLabels, type AttackTarget } from './base.js';

export const ATTACK_LOSSES = ['mse', 'ce', 'margin'] as const;
export type AttackLoss = (typeof ATTACK_LOSSES)[number];

/** The options inputGradient and classGradients take. */
export const GRADIENT_OPTION_KEYS = ['backend', ...RUN_OPTION_KEYS] as const;

async function rowsOf(net: AttackTarget, x: Float32Array): Promise<number> {
  if (!(x instanceof Float32Array) || x.length % net.inputSize !== 0)
    throw new ShapeError(`Expected x to be a Float32Array of n × ${net.inputSize} values`);
  await expectFiniteAsync(x, 'x', net.inputSize);
  return x.length / net.inputSize;
}

/** ∂loss/∂x (n × d) and the loss per row. */
export async function inputGradient(
  net: AttackTarget,
  x: Float32Array,
  labels: ArrayLike<number>,
  loss: AttackLoss = 'ce',
  opts?: RunOptions & { backend?: Backend },
): Promise<{ grad: Float32Array; loss: Float32Array }> {
  expectKnownKeys(opts, GRADIENT_OPTION_KEYS, 'inputGradient options');
  const backend = expectOneOf(opts?.backend ?? 'cpu', 'backend', BACKENDS);
  const n = await rowsOf(net, x);
  const y = toLabels(labels, n, net.outputSize);
  expectOneOf(loss, 'loss', ATTACK_LOSSES);
  const grad = new Float32Array(x.length);
  const l = new Float32Array(n);
  await runNative(opts, (c) => addon().attackGradient(net.native(), x, n, y, loss, grad, l, c, backend));
  return { grad, loss: l };
}

/** Jacobian rows: J[(r·C + c)·d + j] = ∂z_L[classes[c]]/∂x_j at row r (logits, test mode). */
export async function classGradients(
  net: AttackTarget,
  x: Float32Array,
  classes: number[],
  opts?: RunOptions & { backend?: Backend },
): Promise<Float32Array> {
  expectKnownKeys(opts, GRADIENT_OPTION_KEYS, 'classGradients options');
  const backend = expectOneOf(opts?.backend ?? 'cpu', 'backend', BACKENDS);
  const n = await rowsOf(net, x);
  for (const k of classes)
    if (!Number.isInteger(k) || k < 0 || k >= net.outputSize) throw new ValueError(`Expected classes in 0..${net.outputSize - 1} but received ${k}`);
  const J = new Float32Array(n * classes.length * net.inputSize);
  await runNative(opts, (c) => addon().attackClassGrads(net.native(), x, n, classes, J, c, backend));
  return J;
}
