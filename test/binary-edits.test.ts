// Counterfactual edits of labelled images (the CelebA evaluation) on a tiny model over binary
// labels made from the pendulum world, and the class-balanced oracle.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AttributeInfo, Dataset } from '../src/data/dataset.ts';
import { generateWorldDataset, worldByName } from '../src/data/world-dataset.ts';
import { binaryEditSection, binaryEditSummary } from '../src/eval/binary-edits.ts';
import { Bootstrap } from '../src/eval/bootstrap.ts';
import type { AttributeCounterfactuals, EvalContext } from '../src/eval/context.ts';
import { evaluate } from '../src/eval/evaluate.ts';
import { classifierScores, positiveRates, trainOracle } from '../src/eval/oracle.ts';
import { resolveConfig } from '../src/model/config.ts';
import * as torch from '../src/torch/index.ts';
import { loadModel } from '../src/train/checkpoint.ts';
import { train } from '../src/train/train.ts';

const NAMES = ['pendulum_angle', 'light_angle', 'shadow_length', 'shadow_position'];

/** Pendulum images with each factor cut at a quantile into 0/1 (a rare one for shadow_length). */
function binaryPendulum(count: number, seed: number): Dataset {
  const world = generateWorldDataset(worldByName('pendulum'), { count, imageSize: 64, seed });
  const cut = [0.5, 0.5, 0.85, 0.5].map((q, j) => {
    const v = Array.from({ length: count }, (_, i) => world.labels(i)[j]).sort((a, b) => a - b);
    return v[Math.floor(q * (count - 1))];
  });
  const attributes: AttributeInfo[] = NAMES.map((name) => ({ name, kind: 'binary', min: 0, max: 1 }));
  const labels = (i: number) => Float32Array.from(world.labels(i), (v, j) => (v > cut[j] ? 1 : 0));
  return {
    size: count,
    imageSize: 64,
    attributes,
    image: (i) => world.image(i),
    labels,
    batch(indices) {
      const b = world.batch(indices);
      const out = new Float32Array(b.labels.length);
      Array.from(indices).forEach((i, r) => out.set(labels(i), r * NAMES.length));
      return { ...b, labels: out };
    },
  };
}

test('classifier scores: balanced accuracy is the mean of the two recalls', () => {
  // 8 negatives all right, 2 positives one right: accuracy 0.9, balanced (1 + 0.5) / 2
  const p = [0, 0, 0, 0, 0, 0, 0, 0, 0.9, 0.2];
  const y = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
  const s = classifierScores(p, y);
  assert.equal(s.accuracy, 0.9);
  assert.equal(s.balancedAccuracy, 0.75);
  assert.equal(classifierScores([0.9, 0.8], [1, 1]).balancedAccuracy, 1, 'an absent class is left out');
});

test('edits of labelled images: directions, descendants, identity, reconstructions', async () => {
  const trainSet = binaryPendulum(160, 1);
  const testSet = binaryPendulum(48, 2);
  const rates = positiveRates(trainSet);
  assert.ok(Math.abs(rates.shadow_length - 0.15) < 0.03, `share of 1s ${rates.shadow_length}`);

  const oracle = trainOracle(trainSet, testSet, { steps: 3, batchSize: 16, flip: true });
  assert.deepEqual(oracle.meta.positiveRate, rates);
  for (const name of NAMES) {
    const b = oracle.meta.heldOutBalancedAccuracy?.[name];
    assert.ok(b !== undefined && b >= 0 && b <= 1, `${name} balanced accuracy ${b}`);
  }

  const out = mkdtempSync(join(tmpdir(), 'ccig-edits-'));
  await train({
    config: resolveConfig('tiny', { train: { steps: 2 } }),
    data: { train: trainSet, test: testSet },
    outDir: out,
    grids: false,
  });
  // edges of the given pendulum super-graph with nonzero weights, so abduction is not trivial
  const file = join(out, 'checkpoint.safetensors');
  const { tensors, metadata } = torch.loadSafetensors(file);
  tensors['model.prior.A'].copy_(
    torch.tensor([
      [0, 0, 0.8, -0.7],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]),
  );
  torch.saveSafetensors(file, tensors, metadata);
  const { model } = loadModel(file);

  const result = evaluate(model, testSet, oracle, { n: 40 });
  const r = result.binaryEdits!;
  assert.ok(r, 'binary labels on real (non-world) data get the section');
  assert.equal(r.n, 40);
  assert.equal(r.rows.length, 2 * NAMES.length);
  const labels = testSet.batch(Array.from({ length: 40 }, (_, i) => i)).labels;
  for (const row of r.rows) {
    const j = NAMES.indexOf(row.attribute);
    const eligible = Array.from({ length: 40 }, (_, i) => labels[i * 4 + j]).filter(
      (v) => v !== row.target,
    ).length;
    assert.equal(row.n, eligible, `${row.attribute} = ${row.target}: the faces labelled the other value`);
    const s = row.success.causal!;
    assert.ok(s.mean >= 0 && s.mean <= 1 && s.lo <= s.mean && s.mean <= s.hi);
    assert.ok(row.identity.causal.pixelL1!.mean > 0 && row.identity.causal.ssim!.mean < 1);
  }
  const of = (name: string, target: number) =>
    r.rows.find((x) => x.attribute === name && x.target === target)!;
  assert.deepEqual(of('pendulum_angle', 1).descendants, ['shadow_length', 'shadow_position']);
  assert.deepEqual(of('light_angle', 1).descendants, []);
  assert.deepEqual(of('light_angle', 1).nonDescendants, [
    'pendulum_angle',
    'shadow_length',
    'shadow_position',
  ]);
  // the model's own latents follow the learned edges: + on 0 -> 2, - on 0 -> 3; the reverse for do(0)
  const up = of('pendulum_angle', 1).intended;
  const down = of('pendulum_angle', 0).intended;
  assert.ok(up.shadow_length! > 0 && up.shadow_position! < 0, JSON.stringify(up));
  assert.ok(down.shadow_length! < 0 && down.shadow_position! > 0, JSON.stringify(down));
  assert.ok(Math.abs(up.light_angle!) < 1e-6);
  // a node without descendants: the causal edit is the non-causal one (up to float error)
  const leaf = of('shadow_position', 1);
  for (const [name, e] of Object.entries(leaf.effects))
    assert.ok(Math.abs(e.causal!.mean - e.nonCausal!.mean) < 1e-4, name);
  assert.ok(Math.abs(leaf.success.difference!.mean) < 1e-9);
  assert.ok(Math.abs(leaf.identity.causal.pixelL1!.mean - leaf.identity.nonCausal.pixelL1!.mean) < 1e-5);
  assert.ok(r.reconstruction.allKept <= Math.min(...Object.values(r.reconstruction.kept)));
  const summary = binaryEditSummary(r);
  assert.equal(summary['reconstruction.allKept'], r.reconstruction.allKept);
  assert.equal(result.oracle.heldOutBalancedAccuracy, oracle.meta.heldOutBalancedAccuracy);
  model.dispose();
});

test('kept (against the face) and unchanged (against the reconstruction) are read apart', () => {
  // two binary attributes a -> b (no edge above the threshold: b is a non-descendant), 4 faces
  // labelled a = 0, all edited by do(a = 1); the oracle's readings are given:
  //   face:            b = 1, 1, 0, 0
  //   reconstruction:  b = 1, 0, 0, 1   (inversion lost b on faces 1 and 3)
  //   causal edit:     b = 1, 0, 1, 1
  // kept (edit = face): face 0 yes, 1 no, 2 no, 3 no = 1/4
  // unchanged (edit = reconstruction): 0 yes, 1 yes, 2 no, 3 yes = 3/4
  const names = ['a', 'b'];
  const pairs = (bs: number[]) => Float32Array.from(bs.flatMap((b) => [0.1, b ? 0.9 : 0.1]));
  const model = {
    prior: {
      adjacencyArray: () => [
        [0, 0.1],
        [0, 0],
      ],
      standardizedEffects: () => [
        [0, 0.1],
        [0, 0],
      ],
    },
    latentToLabels: (z: torch.Tensor) => z,
  };
  const edited = (bs: number[]) => ({
    values: Float32Array.from(bs.flatMap((b) => [0.9, b ? 0.9 : 0.1])),
    features: new Float32Array(4),
    pixelL1: null,
    ssim: null,
    identity: {
      pixelL1: new Float64Array(4).fill(0.1),
      ssim: new Float64Array(4).fill(0.5),
      outside: {
        pixelL1: new Float64Array(4).fill(0.05),
        ssim: new Float64Array(4).fill(0.8),
        share: new Float64Array(4).fill(0.7),
      },
    },
  });
  const ctx = {
    model,
    n: 4,
    m: 2,
    names,
    boot: new Bootstrap({ resamples: 10 }),
    test: { attributes: names.map((name) => ({ name, kind: 'binary', min: 0, max: 1 })) },
    world: undefined,
    mu: torch.zeros([4, 2]),
    real: { features: new Float32Array(4), values: pairs([1, 1, 0, 0]) },
    reconstruction: { features: new Float32Array(4), values: pairs([1, 0, 0, 1]) },
    decoded: { features: new Float32Array(4), values: pairs([1, 0, 0, 1]) },
    oracle: { featureDim: 1 },
    residual: false,
  } as unknown as EvalContext;
  const cf: AttributeCounterfactuals = {
    attribute: 0,
    targets: Float64Array.from([1, 1, 1, 1]),
    truth: null,
    modelValues: new Float32Array(8),
    causal: edited([1, 0, 1, 1]),
    nonCausal: edited([1, 1, 0, 0]),
  };
  const r = binaryEditSection(ctx, [cf])!;
  const up = r.rows.find((x) => x.attribute === 'a' && x.target === 1)!;
  assert.equal(up.n, 4);
  assert.equal(up.effects.b.keptCausal, 0.25);
  assert.equal(up.effects.b.unchangedCausal, 0.75);
  // the non-causal edit reads as the face: kept everywhere, unchanged where inversion kept b
  assert.equal(up.effects.b.keptNonCausal, 1);
  assert.equal(up.effects.b.unchangedNonCausal, 0.5);
  assert.deepEqual(r.reconstruction.kept, { a: 1, b: 0.5 });
  assert.equal(r.reconstruction.allKept, 0.5);
  assert.equal(up.success.causal!.mean, 1);
});
