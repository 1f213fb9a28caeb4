// The training step's gradient routing: which parameters each loss term trains.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STRUCTURE_PARAMS } from '../src/causal/scm.ts';
import { generateWorldDataset, worldByName } from '../src/data/world-dataset.ts';
import type { Ccig } from '../src/model/ccig.ts';
import { type CcigConfig, resolveConfig } from '../src/model/config.ts';
import type { Tensor } from '../src/torch/index.ts';
import * as torch from '../src/torch/index.ts';
import { createTrainer, type EgTerms, encoderGeneratorTerms, isLabelled } from '../src/train/train.ts';

const world = generateWorldDataset(worldByName('pendulum'), { count: 16, imageSize: 64, seed: 5 });
const B = 8;

type Part = 'encoder' | 'generator' | 'discriminator' | 'mechanism' | 'structure';

/** The model's parameters by the part they belong to. */
function parts(model: Ccig): Record<Part, [string, Tensor][]> {
  const prior = model.prior.namedParameters();
  return {
    encoder: model.encoder.namedParameters(),
    generator: model.generator.namedParameters(),
    discriminator: model.discriminator.namedParameters(),
    mechanism: prior.filter(([n]) => !STRUCTURE_PARAMS.includes(n)),
    structure: prior.filter(([n]) => STRUCTURE_PARAMS.includes(n)),
  };
}

/** The parts that received a non-zero gradient. */
function partsWithGradient(model: Ccig): Part[] {
  return (Object.entries(parts(model)) as [Part, [string, Tensor][]][])
    .filter(([, ps]) =>
      ps.some(([, p]) => {
        const g = p.grad;
        return g !== undefined && torch.scope(() => g.abs().max().item()) > 0;
      }),
    )
    .map(([part]) => part)
    .sort();
}

function batch(model: Ccig) {
  const b = world.batch(Array.from({ length: B }, (_, i) => i));
  return {
    x: torch.tensor(b.images, { shape: [B, 3, 64, 64] }),
    y: torch.tensor(b.labels, { shape: [B, model.m] }),
    supMask: torch.ones([B, 1]),
  };
}

/** Backpropagates each term alone and records which parts it reaches. */
function routing(cfg: CcigConfig, dag = { alpha: 1, rho: 1, lastH: 1 }) {
  torch.manualSeed(0);
  const { model } = createTrainer(cfg, world.attributes);
  const routes: Partial<Record<keyof EgTerms, Part[]>> = {};
  let aGradOutsideMask = 0;
  torch.scope(() => {
    const { x, y, supMask } = batch(model);
    model.discriminator.setTrainable(false); // as the step does
    const terms = encoderGeneratorTerms(model, cfg.train, x, y, supMask, dag);
    model.discriminator.setTrainable(true);
    for (const [name, loss] of Object.entries(terms) as [keyof EgTerms, Tensor][]) {
      for (const p of model.parameters()) p.zeroGrad();
      if (loss.requiresGrad) loss.backward(undefined, { retainGraph: true });
      routes[name] = partsWithGradient(model);
      if (name === 'g' && model.prior.parentModel === 'linear') {
        const outside = torch.ones([model.m, model.m]).sub(model.prior.mask);
        aGradOutsideMask = model.prior
          .namedParameters()
          .find(([n]) => n === 'A')![1]
          .grad!.mul(outside)
          .abs()
          .sum()
          .item();
      }
    }
  });
  model.dispose();
  return { routes, aGradOutsideMask };
}

test('each term of the E + G/prior step trains what its table says (given, linear)', () => {
  const cfg = resolveConfig('tiny', { train: { lambdaScm: 1, lambdaCyc: 1, lambdaRec: 1 } });
  const { routes, aGradOutsideMask } = routing(cfg);
  assert.deepEqual(routes, {
    advE: ['encoder'],
    sup: ['encoder'],
    scm: ['structure'],
    g: ['generator', 'mechanism', 'structure'],
    // the cycle trains G alone: no gradient into the frozen encoder, none into the prior
    cyc: ['generator'],
    // the image reconstruction trains E and G together, and leaves the prior alone
    rec: ['encoder', 'generator'],
    structure: [],
  });
  assert.equal(aGradOutsideMask, 0, 'A got gradient outside the given super-graph');
});

test('each term of the E + G/prior step trains what its table says (learned, MLP parents)', () => {
  const cfg = resolveConfig('tiny', {
    scm: { structure: 'learned', search: 'notears', parents: 'mlp', mechanism: 'nonlinear' },
    train: { lambdaScm: 1, lambdaCyc: 1 },
  });
  const { routes } = routing(cfg);
  assert.deepEqual(routes, {
    advE: ['encoder'],
    sup: ['encoder'],
    scm: ['structure'],
    g: ['generator', 'mechanism', 'structure'],
    cyc: ['generator'],
    rec: [], // lambdaRec absent: off
    structure: ['structure'],
  });
});

test('the E + G/prior step leaves D unchanged and D trainable afterwards', () => {
  const cfg = resolveConfig('tiny', { train: { lambdaCyc: 1 } });
  torch.manualSeed(0);
  const trainer = createTrainer(cfg, world.attributes);
  const { model } = trainer;
  const snapshot = (ps: [string, Tensor][]) => ps.map(([n, p]) => [n, p.toNumbers()] as const);
  const d0 = snapshot(parts(model).discriminator);
  const g0 = snapshot(parts(model).generator);
  torch.scope(() => {
    const { x, y, supMask } = batch(model);
    trainer.encoderGeneratorStep(x, y, supMask, { alpha: 0, rho: 1, lastH: Number.POSITIVE_INFINITY });
  });
  assert.deepEqual(snapshot(parts(model).discriminator), d0, 'D changed in the E + G step');
  assert.ok(
    parts(model).discriminator.every(([, p]) => p.grad === undefined),
    'D recorded gradients in the E + G step',
  );
  assert.ok(parts(model).discriminator.every(([, p]) => p.requiresGrad));
  assert.notDeepEqual(snapshot(parts(model).generator), g0, 'G did not learn');
  model.dispose();
});

test('supProp: a fixed share of examples is labelled, and the supervised term reads only those', () => {
  const share = (p: number) => {
    let k = 0;
    for (let i = 0; i < 20000; i++) if (isLabelled(i, p, 7)) k++;
    return k / 20000;
  };
  assert.equal(share(1), 1);
  assert.equal(share(0), 0);
  assert.ok(Math.abs(share(0.3) - 0.3) < 0.02, `share ${share(0.3)}`);
  assert.equal(isLabelled(123, 0.3, 7), isLabelled(123, 0.3, 7), 'the choice must not change between steps');
  assert.notDeepEqual(
    Array.from({ length: 64 }, (_, i) => isLabelled(i, 0.5, 1)),
    Array.from({ length: 64 }, (_, i) => isLabelled(i, 0.5, 2)),
    'the seed picks the labelled examples',
  );

  const cfg = resolveConfig('tiny');
  torch.manualSeed(0);
  const { model } = createTrainer(cfg, world.attributes);
  model.eval(); // fixed batch-norm statistics: the same images give the same mu
  torch.scope(() => {
    const { x, y } = batch(model);
    const mask = torch.tensor(Float32Array.from({ length: B }, (_, i) => (i % 2 === 0 ? 1 : 0))).unsqueeze(1);
    const dag = { alpha: 0, rho: 1, lastH: 1 };
    const sup = (labels: Tensor, m: Tensor) =>
      torch.noGrad(() => encoderGeneratorTerms(model, cfg.train, x, labels, m, dag).sup.item());
    // changing the labels of unlabelled examples changes nothing
    const scrambled = y.add(
      torch.tensor(Float32Array.from({ length: B }, (_, i) => (i % 2 === 0 ? 0 : 37))).unsqueeze(1),
    );
    assert.equal(sup(scrambled, mask), sup(y, mask));
    // it is the mean BCE over the labelled rows only
    const muC = torch.noGrad(() => model.encode(x).mu.slice(1, 0, model.m));
    // the per-element supervision loss (MSE in standardized units under the presets' default)
    const bce = model.supervisionLoss(muC, y).toNumbers();
    const rowsKept = bce.filter((_, k) => Math.floor(k / model.m) % 2 === 0);
    const want = rowsKept.reduce((a, b) => a + b, 0) / rowsKept.length;
    assert.ok(Math.abs(sup(y, mask) - want) < 1e-5, `${sup(y, mask)} vs ${want}`);
    assert.equal(sup(y, torch.zeros([B, 1])), 0);
  });
  model.dispose();
});

test('the adversarial terms see only the observational rows: a do() image is never real to D', () => {
  const cfg = resolveConfig('tiny');
  const m = world.attributes.length;
  const px = 3 * 64 * 64;
  const b = world.batch(Array.from({ length: B }, (_, i) => i));
  // the odd rows were rendered under do(attribute 2); replacing their images must change nothing
  const scrambled = Float32Array.from(b.images, (v, k) => (Math.floor(k / px) % 2 === 1 ? 1 - v : v));
  const intervened = Float32Array.from({ length: B * m }, (_, k) =>
    Math.floor(k / m) % 2 === 1 && k % m === 2 ? 1 : 0,
  );
  const dag = { alpha: 0, rho: 1, lastH: 1 };
  /** advE and L_D of a fresh model (same seed) on these images */
  const losses = (images: Float32Array, regimes: Float32Array | undefined) => {
    torch.manualSeed(0);
    const trainer = createTrainer(cfg, world.attributes);
    trainer.model.eval(); // batch-norm statistics that do not mix the rows
    const r = torch.scope(() => {
      const x = torch.tensor(images, { shape: [B, 3, 64, 64] });
      const y = torch.tensor(b.labels, { shape: [B, m] });
      const iv = regimes && torch.tensor(regimes, { shape: [B, m] });
      torch.manualSeed(1);
      const advE = torch.noGrad(() =>
        encoderGeneratorTerms(trainer.model, cfg.train, x, y, torch.ones([B, 1]), dag, iv).advE.item(),
      );
      torch.manualSeed(2);
      return { advE, d: trainer.discriminatorStep(x, iv).item() };
    });
    trainer.model.dispose();
    return r;
  };
  assert.deepEqual(losses(scrambled, intervened), losses(b.images, intervened));
  // without the regimes those rows count, and the scrambled images change both terms
  const all = losses(b.images, undefined);
  const allScrambled = losses(scrambled, undefined);
  assert.notEqual(allScrambled.advE, all.advE);
  assert.notEqual(allScrambled.d, all.d);
});
