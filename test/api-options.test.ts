/**
 * A misspelt option is an error that names it and the valid ones, not silently the
 * default: train(), fgsmSweep(), sleep(), and every attack API that takes an options object
 * (the keys each takes are listed).
 */
import { describe, expect, it } from 'vitest';
import {
  APGD, ArgumentError, AutoAttack, BIM, CarliniWagnerL2, DeepFool, FAB, FGM, FGSM, JSMA, PGD, SquareAttack, ValueError, autoAttack, autoAttackSweep,
  classGradients, createNetwork, distort, evaluateDistortions, fgsmSweep, inputGradient, recipeOptions, sleep, train, transferAttack,
  type Attack,
} from '../src/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { head } from '../src/data/dataset.js';

const data = head(loadMnist().train, 50);
const net = createNetwork('paper', [784, 8, 10], 1);

describe('unknown options', () => {
  it('train: a misspelt key is a ValueError with the nearest valid key', async () => {
    const e = await train(net, data, { ...recipeOptions('paper', 1), epochs: 1, batch_size: 10 } as never).catch((x) => x);
    expect(e).toBeInstanceOf(ValueError);
    expect(e.message).toMatch(/Unknown option "batch_size" for train options \(did you mean "batchSize"\?\); valid options: .*lrDecay/);
  });
  it('fgsmSweep: an unknown key names the sweep', async () => {
    await expect(fgsmSweep(net, data.x, data.y, { eps: [0.1] } as never)).rejects.toThrow(/Unknown option "eps" for fgsmSweep options; valid options: backend, epsilons, loss, method, onProgress, signal/);
  });
  it('sleep: the same', async () => {
    await expect(sleep(net, data, { presets: 'mnist-fgsm' } as never)).rejects.toThrow(/Unknown option "presets" for sleep options/);
  });
});

describe('unknown options of the attack APIs', () => {
  const x = data.x.subarray(0, 2 * 784);
  const y = data.y.subarray(0, 2);
  /** The message: the key, the API, and the valid keys (sorted). */
  const unknown = (key: string, api: string, valid: string[]) => `Unknown option ${JSON.stringify(key)} for ${api}; valid options: ${[...valid].sort().join(', ')}`;
  const run = ['epsilons', 'onProgress', 'seed', 'signal'];

  it('run(): every attack class refuses a misspelt key (epss) and lists epsilons, seed, onProgress, signal', async () => {
    const attacks: [string, Attack][] = [
      ['FGSM', new FGSM()], ['FGM', new FGM()], ['PGD', new PGD({ steps: 1 })], ['BIM', new BIM({ steps: 1 })], ['DeepFool', new DeepFool()],
      ['JSMA', new JSMA()], ['CarliniWagnerL2', new CarliniWagnerL2()], ['SquareAttack', new SquareAttack()], ['APGD', new APGD()],
      ['FAB', new FAB()], ['AutoAttack', new AutoAttack({ recheck: false })],
    ];
    for (const [name, a] of attacks) {
      const e = await a.run(net, x, y, { epss: [0.1] } as never).catch((err) => err);
      expect(e, name).toBeInstanceOf(ValueError);
      expect(e.message, name).toBe(unknown('epss', `${name}.run options`, run));
    }
    // The nearest valid key is suggested; transferAttack passes its options to run().
    await expect(new FGSM().run(net, x, y, { Epsilons: [0.1] } as never)).rejects.toThrow('Unknown option "Epsilons" for FGSM.run options (did you mean "epsilons"?)');
    await expect(transferAttack(net, net, x, y, new FGSM(), { epsilon: [0.1] } as never)).rejects.toThrow(unknown('epsilon', 'FGSM.run options', run));
  });

  it('constructors: each attack names its own options', () => {
    const pgd = ['norm', 'loss', 'steps', 'step', 'relStep', 'randomStart', 'restarts', 'earlyStop', 'targeted', 'batch'];
    const cases: [() => unknown, string, string, string[]][] = [
      [() => new PGD({ step_size: 0.1 } as never), 'step_size', 'PGD options', pgd],
      [() => new FGSM({ eps: 0.1 } as never), 'eps', 'FGSM options', ['loss', 'batch']],
      [() => new FGM({ steps: 3 } as never), 'steps', 'FGM options', ['loss', 'batch']],
      [() => new BIM({ randomStart: true } as never), 'randomStart', 'BIM options', pgd.filter((k) => k !== 'randomStart')],
      [() => new DeepFool({ maxIter: 5 } as never), 'maxIter', 'DeepFool options', ['overshoot', 'maxIterations', 'candidates', 'batch']],
      [() => new CarliniWagnerL2({ c: 1 } as never), 'c', 'CarliniWagnerL2 options', ['searchSteps', 'maxIterations', 'lr', 'initialConst', 'confidence', 'batch']],
      [() => new JSMA({ target: [1] } as never), 'target', 'JSMA options', ['theta', 'maxChanges', 'maxIterations', 'pairs', 'targets', 'batch']],
      [() => new SquareAttack({ queries: 10 } as never), 'queries', 'SquareAttack options', ['norm', 'maxQueries', 'pInit', 'rescaleSchedule', 'shape', 'batch', 'incremental']],
      [() => new APGD({ iters: 10 } as never), 'iters', 'APGD options', ['norm', 'loss', 'iterations', 'restarts', 'targetClasses', 'rho', 'earlyStop', 'batch', 'runsPerPass']],
      [() => new FAB({ alpha: 0.1 } as never), 'alpha', 'FAB options', ['norm', 'targeted', 'iterations', 'restarts', 'targetClasses', 'alphaMax', 'eta', 'beta', 'stopAtEps', 'batch', 'runsPerPass']],
      [() => new AutoAttack({ eps: 0.3 } as never), 'eps', 'AutoAttack options', ['norm', 'version', 'attacks', 'iterations', 'restarts', 'targetClasses', 'squareQueries', 'shape', 'recheck', 'batch']],
    ];
    for (const [make, key, api, valid] of cases) {
      const e = (() => {
        try {
          make();
        } catch (err) {
          return err as Error;
        }
      })();
      expect(e, api).toBeInstanceOf(ValueError);
      expect(e!.message, api).toBe(unknown(key, api, valid));
    }
  });

  it('autoAttack, autoAttackSweep, distort, evaluateDistortions, inputGradient, classGradients', async () => {
    const aa = ['norm', 'version', 'attacks', 'seed', 'iterations', 'restarts', 'targetClasses', 'squareQueries', 'shape', 'recheck', 'transferExamples', 'batch', 'onProgress', 'signal'];
    await expect(autoAttack(net, x, y, { eps: 0.1, recheck: false, iteration: 5 } as never)).rejects.toThrow(unknown('iteration', 'autoAttack options', ['eps', ...aa]));
    await expect(autoAttackSweep(net, x, y, { epsilons: [0.1], recheck: false, eps: 0.1 } as never)).rejects.toThrow(unknown('eps', 'autoAttackSweep options', ['epsilons', ...aa]));
    const dist = ['shape', 'seed', 'row0', 'onProgress', 'signal'];
    await expect(distort(x, 784, 'noise', 0.1, { sead: 1 } as never)).rejects.toThrow(unknown('sead', 'distort options', dist));
    await expect(evaluateDistortions(net, x, y, { noise: [0.1] }, { shap: [28, 28] } as never)).rejects.toThrow(unknown('shap', 'evaluateDistortions options', dist));
    // A misspelt distortion would otherwise be skipped without a word.
    await expect(evaluateDistortions(net, x, y, { nosie: [0.1] } as never)).rejects.toThrow(unknown('nosie', 'evaluateDistortions levels', ['noise', 'blur', 'saltpepper', 'contrast']));
    await expect(inputGradient(net, x, y, 'ce', { backed: 'cpu' } as never)).rejects.toThrow(unknown('backed', 'inputGradient options', ['backend', 'onProgress', 'signal']));
    await expect(classGradients(net, x, [0], { singal: undefined } as never)).rejects.toThrow(unknown('singal', 'classGradients options', ['backend', 'onProgress', 'signal']));
  });

  it('the valid options still run', async () => {
    const r = await new FGSM({ loss: 'ce' }).run(net, x, y, { epsilons: [0.1], seed: 0 });
    expect(r.epsilons).toEqual([0.1]);
    const [c] = await evaluateDistortions(net, x, y, { noise: [0.1] }, { seed: 1, shape: [28, 28] });
    expect(c.accuracy).toHaveLength(1);
  });
});


describe('the network argument of the attack APIs', () => {
  const x = data.x.subarray(0, 2 * 784);
  const y = data.y.subarray(0, 2);
  it('a Promise (loadOnnx not awaited) or another value is an ArgumentError that says what it received', async () => {
    const pending = Promise.resolve(net);
    const calls: [string, (n: never) => Promise<unknown>][] = [
      ['FGSM.run', (n) => new FGSM().run(n, x, y, { epsilons: [0.1] })],
      ['autoAttack', (n) => autoAttack(n, x, y, { eps: 0.1, recheck: false })],
      ['autoAttackSweep', (n) => autoAttackSweep(n, x, y, { epsilons: [0.1], recheck: false })],
      ['fgsmSweep', (n) => fgsmSweep(n, x, y, { epsilons: [0.1] })],
    ];
    for (const [name, call] of calls) {
      const e = await call(pending as never).catch((err) => err);
      expect(e, name).toBeInstanceOf(ArgumentError);
      expect(e.message, name).toBe('Expected a Network for net but received a Promise (await loadOnnx(...) or importOnnx(...) first)');
      await expect(call({ inputSize: 784 } as never), name).rejects.toThrow('Expected a Network for net but received an object without native(), inputSize and outputSize');
      await expect(call(undefined as never), name).rejects.toThrow('Expected a Network for net but received undefined');
    }
  });
});
