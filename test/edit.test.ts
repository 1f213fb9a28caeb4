// Edits on a model whose SCM has non-zero edges: the numbers do() must give, by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AttributeInfo } from '../src/data/dataset.ts';
import { generateWorldDataset, worldByName } from '../src/data/world-dataset.ts';
import { Ccig } from '../src/model/ccig.ts';
import { resolveConfig } from '../src/model/config.ts';
import { counterfactual, editLatentsEach, intervene, invert, nonCausalEdit } from '../src/model/edit.ts';
import { LabelScale } from '../src/model/label-scale.ts';
import type { Tensor } from '../src/torch/index.ts';
import * as torch from '../src/torch/index.ts';

const world = generateWorldDataset(worldByName('pendulum'), { count: 8, imageSize: 64, seed: 4 });
// pendulum_angle (0), light_angle (1) -> shadow_length (2), shadow_position (3); f is the identity
const A = [
  [0, 0, 0.5, -0.8],
  [0, 0, 1.2, 0.3],
  [0, 0, 0, 0],
  [0, 0, 0, 0],
];

function model(): Ccig {
  torch.manualSeed(0);
  const m = new Ccig(resolveConfig('tiny'), world.attributes);
  torch.noGrad(() => m.prior.stateDict().A.copy_(torch.tensor(A)));
  m.eval();
  return m;
}

/** What do(node p = latent) gives each row of z (identity f, linear SCM, one layer of edges). */
function byHand(z: number[][], p: number, latent: number[]): number[][] {
  return z.map((row, b) => row.map((v, j) => (j === p ? latent[b] : v + A[p][j] * (latent[b] - row[p]))));
}

const rows = (t: Tensor, m: number) => {
  const flat = t.toNumbers();
  return Array.from({ length: flat.length / m }, (_, i) => flat.slice(i * m, (i + 1) * m));
};

function near(actual: number[][], expected: number[][], tol: number, what: string) {
  actual.forEach((row, b) =>
    row.forEach((v, j) =>
      assert.ok(Math.abs(v - expected[b][j]) <= tol, `${what}: row ${b} col ${j}: ${v} vs ${expected[b][j]}`),
    ),
  );
}

test('editLatentsEach: do() moves the descendants by A, the non-causal edit moves one column', () =>
  torch.scope(() => {
    const mdl = model();
    const zc = torch.tensor(
      Float32Array.from([0.3, -0.4, 0.9, 0.1, -1.1, 0.6, -0.2, 0.5, 0.0, 1.3, 0.4, -0.7]),
      { shape: [3, 4] },
    );
    const a = world.attributes[0];
    const values = [
      a.min + 0.2 * (a.max - a.min),
      a.min + 0.5 * (a.max - a.min),
      a.min + 0.9 * (a.max - a.min),
    ];
    const latent = values.map((v) => mdl.labelToLatent(0, v));
    const { causal, nonCausal } = editLatentsEach(mdl, zc, 'pendulum_angle', values);
    const z = rows(zc, 4);
    near(rows(causal, 4), byHand(z, 0, latent), 1e-4, 'causal');
    near(
      rows(nonCausal, 4),
      z.map((r, b) => r.map((v, j) => (j === 0 ? latent[b] : v))),
      1e-6,
      'non-causal',
    );
    // a node without children: the causal edit is the non-causal one
    const leaf = editLatentsEach(mdl, zc, 'shadow_length', [5, 6, 7]);
    near(rows(leaf.causal, 4), rows(leaf.nonCausal, 4), 1e-4, 'leaf');
    mdl.dispose();
  }));

test('counterfactual of real images: abduct, do() through A, decode with the same z_r', () =>
  torch.scope(() => {
    const mdl = model();
    const b = world.batch([0, 1, 2, 3]);
    const x = torch.tensor(b.images, { shape: [4, 3, 64, 64] });
    const v = 100;
    const edit = counterfactual(mdl, x, { light_angle: v });
    const mu = torch.noGrad(() => mdl.encode(x).mu);
    const { zc, zr } = mdl.split(mu);
    const latent = mdl.labelToLatent(1, v);
    const expected = byHand(rows(zc, 4), 1, [latent, latent, latent, latent]);
    const expectedZc = torch.tensor(Float32Array.from(expected.flat()), { shape: [4, 4] });
    near(rows(edit.labels.causal, 4), rows(mdl.latentToLabels(expectedZc), 4), 1e-3, 'causal labels');
    near(rows(edit.labels.factual, 4), rows(mdl.latentToLabels(zc), 4), 1e-4, 'factual labels');
    // the non-descendant pendulum_angle keeps its factual value; the shadows move
    const causal = rows(edit.labels.causal, 4);
    const factual = rows(edit.labels.factual, 4);
    causal.forEach((r, i) => {
      assert.ok(Math.abs(r[0] - factual[i][0]) < 1e-3, 'pendulum_angle must not move');
      assert.ok(Math.abs(r[1] - v) < 0.05, `light_angle ${r[1]} should be ${v}`);
    });
    assert.ok(
      causal.some((r, i) => Math.abs(r[2] - factual[i][2]) > 1e-2),
      'shadow_length must follow the light',
    );
    // the causal image is G of the causal latents with the image's own z_r
    const image = torch.noGrad(() => mdl.decode(mdl.join(expectedZc, zr)));
    assert.ok(edit.causal.sub(image).abs().max().item() < 1e-3, 'causal image');
    assert.ok(edit.causal.sub(edit.nonCausal).abs().max().item() > 1e-4, 'the two edits must differ');
    mdl.dispose();
  }));

test('intervene: fresh noise shared by factual and do(); non-descendants keep their values', () =>
  torch.scope(() => {
    const mdl = model();
    torch.manualSeed(3);
    const v = 40;
    const edit = intervene(mdl, { pendulum_angle: v }, 5);
    // back from label units to latents through the model's own label scale (logit of the min-max
    // scaled label, or standardized units, whichever the config's supervision uses)
    const toLatent = (labels: Tensor) => rows(labels, 4).map((r) => r.map((y, j) => mdl.labelToLatent(j, y)));
    const factual = toLatent(edit.labels.factual);
    const causal = toLatent(edit.labels.causal);
    const latent = mdl.labelToLatent(0, v);
    near(
      causal,
      byHand(
        factual,
        0,
        factual.map(() => latent),
      ),
      2e-3,
      'causal latents',
    );
    const nc = torch.noGrad(() => nonCausalEdit(mdl, torch.zeros([1, 4]), { light_angle: 2 })).toNumbers();
    assert.deepEqual(nc, [0, 2, 0, 0]);
    mdl.dispose();
  }));

test('the label scale: logit of the unit scale, or standardized units under mse, and back', () => {
  const attributes: AttributeInfo[] = [
    { name: 'angle', kind: 'continuous', min: -40, max: 40, mean: 5, std: 20 },
    { name: 'smile', kind: 'binary', min: 0, max: 1 },
    { name: 'old', kind: 'continuous', min: 0, max: 12 },
  ];
  torch.scope(() => {
    const logit = new LabelScale(attributes, 'bce');
    const std = new LabelScale(attributes, 'mse');
    assert.deepEqual(std.standardized, [true, false, true]);
    assert.ok(Math.abs(logit.toLatent(0, 0) - 0) < 1e-9, 'mid-range is logit 0.5 = 0');
    assert.ok(Math.abs(std.toLatent(0, 45) - 2) < 1e-9, '(45 - 5) / 20');
    // without recorded moments: a uniform distribution over the range, std = 12 / sqrt(12)
    assert.ok(Math.abs(std.toLatent(2, 6 + Math.sqrt(12)) - 1) < 1e-9);
    assert.ok(Math.abs(std.toLatent(1, 1) - logit.toLatent(1, 1)) < 1e-12, 'binary is always a logit');
    for (const scale of [logit, std]) {
      const values = [30, 1, 3];
      const zc = torch.tensor([values.map((v, i) => scale.toLatent(i, v))]);
      const back = Array.from(scale.latentToLabels(zc).toFloat32Array());
      values.forEach((v, i) => assert.ok(Math.abs(back[i] - v) < 1e-3, `${v} -> ${back[i]}`));
    }
  });
});

test('invert: the encoder mean, or with z_r refined toward the image; z_c and the generator untouched', () =>
  torch.scope(() => {
    const mdl = model();
    assert.ok(mdl.k > 0, 'the tiny preset has free latents');
    const b = world.batch([0, 1, 2, 3]);
    const x = torch.tensor(b.images, { shape: [4, 3, 64, 64] });
    const mu = torch.noGrad(() => mdl.encode(x).mu);
    assert.deepEqual(invert(mdl, x).toNumbers(), mu.toNumbers(), 'no refinement: the encoder mean');

    const before = mdl.generator.parameters().map((p) => p.toNumbers());
    const z = invert(mdl, x, { refine: 20, refineLr: 0.05 });
    assert.equal(z.requiresGrad, false);
    assert.deepEqual(z.slice(1, 0, mdl.m).toNumbers(), mu.slice(1, 0, mdl.m).toNumbers(), 'z_c is kept');
    const l1 = (zz: Tensor) => torch.noGrad(() => mdl.decode(zz).sub(x).abs().mean().item());
    assert.ok(l1(z) < l1(mu), `refined reconstruction L1 ${l1(z)} < encoder's ${l1(mu)}`);
    mdl.generator.parameters().forEach((p, k) => {
      assert.deepEqual(p.toNumbers(), before[k], 'the generator is held fixed');
      assert.equal(p.requiresGrad, true, 'and trainable again afterwards');
      assert.equal(p.grad, undefined, 'with no gradient left on it');
    });
    // a counterfactual on the refined latents keeps z_r and edits through the graph as before
    const e = counterfactual(mdl, x, { light_angle: 100 }, { refine: 20, refineLr: 0.05 });
    assert.deepEqual(e.factual.toNumbers(), torch.noGrad(() => mdl.decode(z)).toNumbers());

    for (const refine of [-1, 1.5])
      assert.throws(() => invert(mdl, x, { refine }), /whole number >= 0 of refinement steps/);
    assert.throws(() => invert(mdl, x, { refine: 1, refineLr: 0 }), /positive refinement rate/);
  }));
