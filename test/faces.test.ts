// Issue 25: do() values where real images of each class lie (class latents), residual edits,
// identity outside the edit, and the realism check of each edit.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { topologicalOrder } from '../src/causal/graph.ts';
import { superGraphMask } from '../src/causal/scm.ts';
import { editableFromReport } from '../src/cli/calibrate.ts';
import { CELEBA_PRESETS } from '../src/data/celeba.ts';
import type { AttributeInfo, Batch, Dataset } from '../src/data/dataset.ts';
import { generateWorldDataset, splitWorldDataset, worldByName } from '../src/data/world-dataset.ts';
import { binaryEditSection, REALISM_RATIO } from '../src/eval/binary-edits.ts';
import { Bootstrap } from '../src/eval/bootstrap.ts';
import { type AttributeCounterfactuals, colourLayout, type EvalContext } from '../src/eval/context.ts';
import { ssim } from '../src/eval/ssim.ts';
import { Ccig, CLASS_LATENTS } from '../src/model/ccig.ts';
import { resolveConfig } from '../src/model/config.ts';
import { counterfactual, residualEdit } from '../src/model/edit.ts';
import { LabelScale } from '../src/model/label-scale.ts';
import * as torch from '../src/torch/index.ts';
import { loadModel, saveCheckpoint } from '../src/train/checkpoint.ts';
import { snapshotPath } from '../src/train/run-folder.ts';
import { train } from '../src/train/train.ts';

const NAMES = ['pendulum_angle', 'light_angle', 'shadow_length', 'shadow_position'];
/** The tiny preset's four attributes, the first two binary, the others continuous. */
const ATTRIBUTES: AttributeInfo[] = NAMES.map((name, i) =>
  i < 2 ? { name, kind: 'binary', min: 0, max: 1 } : { name, kind: 'continuous', min: -10, max: 10 },
);

function tinyModel(): Ccig {
  torch.manualSeed(0);
  const m = new Ccig(resolveConfig('tiny'), ATTRIBUTES);
  m.eval();
  return m;
}

test('class latents: do(a = 0 / 1) sets them, values between go between, continuous attributes keep their scale', () => {
  const scale = new LabelScale(ATTRIBUTES);
  const logitOne = scale.toLatent(0, 1);
  assert.ok(Math.abs(logitOne - Math.log(0.999 / 0.001)) < 1e-9, 'without them: logit(0.999)');
  const continuousBefore = scale.toLatent(2, 3);
  scale.setClassLatents({ zero: [-2, Number.NaN, 0, 0], one: [3, Number.NaN, 9, 9] });
  assert.equal(scale.toLatent(0, 1), 3);
  assert.equal(scale.toLatent(0, 0), -2);
  assert.equal(scale.toLatent(0, 0.5), 0.5);
  assert.equal(scale.toLatent(0, 2), 3, 'clamped to the class-1 latent');
  assert.equal(scale.toLatent(1, 1), logitOne, 'NaN: that attribute keeps the logit scale');
  assert.equal(scale.toLatent(2, 3), continuousBefore, 'continuous attributes ignore class latents');
  scale.setClassLatents(null);
  assert.equal(scale.toLatent(0, 1), logitOne);
});

test('class latents travel in the state dict and a weights-only checkpoint; a model without them keeps the logit scale', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ccig-faces-'));
  const plain = tinyModel();
  const meta = {
    config: plain.config,
    attributes: [...ATTRIBUTES],
    step: 0,
    dag: { lastH: 0 } as never,
    dataRng: [0, 0, 0, 0] as never,
    metrics: {},
  };
  saveCheckpoint(join(dir, 'plain.safetensors'), plain, {}, meta);
  const old = loadModel(join(dir, 'plain.safetensors')).model;
  assert.equal(old.classLatents(), null);
  assert.ok(Math.abs(old.labelToLatent(0, 1) - Math.log(0.999 / 0.001)) < 1e-9);

  plain.setClassLatents({
    zero: [-1.5, -2.5, Number.NaN, Number.NaN],
    one: [2.5, 1.25, Number.NaN, Number.NaN],
  });
  assert.ok(CLASS_LATENTS in plain.stateDict());
  saveCheckpoint(join(dir, 'calibrated.safetensors'), plain, {}, meta);
  const back = loadModel(join(dir, 'calibrated.safetensors')).model;
  assert.equal(back.labelToLatent(0, 1), 2.5);
  assert.equal(back.labelToLatent(1, 0), -2.5);
  assert.deepEqual(back.classLatents()?.one.slice(0, 2), [2.5, 1.25]);
  for (const m of [plain, old, back]) m.dispose();
});

test('computeClassLatents: the median encoder latent of each class, per binary attribute', () =>
  torch.scope(() => {
    const model = tinyModel();
    const S = model.config.imageSize;
    const n = 9;
    torch.manualSeed(3);
    const images = torch.randn([n, 3, S, S]).clamp(-1, 1).toFloat32Array();
    // attribute 0: rows 0-3 labelled 1; attribute 1: rows 0-6 labelled 1
    const labels = Float32Array.from({ length: n * 4 }, (_, k) => {
      const [r, j] = [Math.floor(k / 4), k % 4];
      return j === 0 ? +(r < 4) : j === 1 ? +(r < 7) : r;
    });
    const data = {
      size: n,
      imageSize: S,
      attributes: ATTRIBUTES,
      batch(idx: ArrayLike<number>): Batch {
        const rows = Array.from(idx);
        const px = 3 * S * S;
        const out = new Float32Array(rows.length * px);
        rows.forEach((r, b) => out.set(images.subarray(r * px, (r + 1) * px), b * px));
        return {
          images: out,
          labels: Float32Array.from(rows.flatMap((r) => Array.from(labels.subarray(r * 4, r * 4 + 4)))),
          intervened: new Uint8Array(rows.length * 4),
        } as Batch;
      },
    } as unknown as Dataset;
    const c = model.computeClassLatents(
      data,
      Array.from({ length: n }, (_, i) => i),
    );
    const mu = torch.noGrad(() => model.encode(torch.tensor(images, { shape: [n, 3, S, S] })).mu).toNumbers();
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    };
    const col = (j: number, rows: number[]) => rows.map((r) => mu[r * model.zDim + j]);
    const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
    assert.ok(Math.abs(c.one[0] - median(col(0, range(0, 4)))) < 1e-6);
    assert.ok(Math.abs(c.zero[0] - median(col(0, range(4, 9)))) < 1e-6);
    assert.ok(Math.abs(c.one[1] - median(col(1, range(0, 7)))) < 1e-6);
    assert.ok(Math.abs(c.zero[1] - median(col(1, range(7, 9)))) < 1e-6);
    assert.deepEqual(c.counts.one.slice(0, 2), [4, 7]);
    assert.ok(Number.isNaN(c.zero[2]) && Number.isNaN(c.one[3]), 'continuous attributes get none');
    model.dispose();
  }));

test('residual edits: x + G(z_do) - G(z), clamped; the null edit returns the image itself', () =>
  torch.scope(() => {
    const x = torch.tensor([0.5, -0.9, 0.2, 0.95], { shape: [1, 1, 2, 2] });
    const recon = torch.tensor([0.1, 0.1, 0.1, 0.1], { shape: [1, 1, 2, 2] });
    const edited = torch.tensor([0.3, -0.4, 0.1, 0.5], { shape: [1, 1, 2, 2] });
    const r = residualEdit(x, recon, edited).toNumbers();
    [0.7, -1, 0.2, 1].forEach((v, k) => assert.ok(Math.abs(r[k] - v) < 1e-6, `pixel ${k}: ${r[k]} vs ${v}`));

    const model = tinyModel();
    const S = model.config.imageSize;
    torch.manualSeed(5);
    const faces = torch.rand([2, 3, S, S]).mul(2).sub(1);
    const plain = counterfactual(model, faces, { pendulum_angle: 1 });
    const res = counterfactual(model, faces, { pendulum_angle: 1 }, { residual: true });
    const none = counterfactual(model, faces, {}, { residual: true });
    assert.ok(none.causal.sub(faces).abs().max().item() < 1e-5, 'no do(): the face itself');
    assert.ok(res.factual.sub(faces).abs().max().item() === 0, 'the factual image is the face');
    const expected = faces.add(plain.causal.sub(plain.factual)).clamp(-1, 1);
    assert.ok(res.causal.sub(expected).abs().max().item() < 1e-5);
    assert.ok(res.causal.sub(faces).abs().max().item() > 1e-3, 'the edit changes something');
    model.dispose();
  }));

test('ssim weights: only the windows centred on weighted pixels count', () => {
  const S = 24;
  const a = Float32Array.from({ length: S * S }, (_, p) => ((p * 37) % 101) / 100);
  const b = Float32Array.from(a);
  // spoil the left half of b
  for (let y = 0; y < S; y++) for (let x = 0; x < S / 2; x++) b[y * S + x] = 1 - b[y * S + x];
  const img = (d: Float32Array) => ({ data: d, height: S, width: S, channels: 1 });
  const all = ssim(img(a), img(b), { dataRange: 1 });
  const ones = ssim(img(a), img(b), { dataRange: 1, weights: new Float32Array(S * S).fill(1) });
  assert.ok(Math.abs(all - ones) < 1e-12, 'all-ones weights are the plain SSIM');
  // weight only the pixels whose 11 x 11 window lies in the unspoiled right half
  const right = Float32Array.from({ length: S * S }, (_, p) => (p % S >= S / 2 + 5 ? 1 : 0));
  assert.ok(all < 0.8, `the spoiled image scores low overall (${all})`);
  assert.ok(Math.abs(ssim(img(a), img(b), { dataRange: 1, weights: right }) - 1) < 1e-9);
  assert.ok(Number.isNaN(ssim(img(a), img(b), { dataRange: 1, weights: new Float32Array(S * S) })));
  assert.throws(() => ssim(img(a), img(b), { dataRange: 1, weights: new Float32Array(3) }), /weights/);
});

/**
 * A context of n faces with 2 binary attributes whose oracle features are 2-d Gaussian; the
 * edits of attribute a are read as `editFeatures` gives them.
 */
function realismCase(shift: number, spread: number, layoutShift: number | null = null) {
  const n = 80;
  const m = 2;
  const d = 2;
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31 - 0.5;
  };
  // faces 2i and 2i + 1 read alike, and so do their reconstructions (wider than the faces)
  const base = Float32Array.from({ length: (n / 2) * d }, rand);
  const noise = Float32Array.from(base, () => 0.2 * rand());
  const pairOf = (k: number) => Math.floor(k / (2 * d)) * d + (k % d);
  const real = Float32Array.from({ length: n * d }, (_, k) => base[pairOf(k)]);
  const recon = Float32Array.from({ length: n * d }, (_, k) => base[pairOf(k)] * 1.6 + noise[pairOf(k)]);
  const editFeatures = Float32Array.from(recon, (v) => v * spread + shift);
  // colour layouts (3 x 8 x 8 per face) spread from the same numbers, when asked
  const L = 3 * 64;
  const layoutOf = (f: Float32Array, add = 0) =>
    Float32Array.from(
      { length: n * L },
      (_, k) => f[Math.floor(k / L) * d + (k % d)] * (1 + (k % L) / L) + add,
    );
  const withLayout = (f: Float32Array, add = 0) => (layoutShift === null ? {} : { layout: layoutOf(f, add) });
  // even faces are labelled a = 0 (do(a = 1) edits them), odd ones a = 1
  const values = Float32Array.from({ length: n * m }, (_, k) =>
    k % m === 0 ? (Math.floor(k / m) % 2 ? 0.9 : 0.1) : 0.9,
  );
  const ctx = {
    model: {
      prior: {
        adjacencyArray: () => [
          [0, 0],
          [0, 0],
        ],
        standardizedEffects: () => [
          [0, 0],
          [0, 0],
        ],
      },
      latentToLabels: (z: torch.Tensor) => z,
    },
    n,
    m,
    names: ['a', 'b'],
    boot: new Bootstrap({ resamples: 10 }),
    test: { attributes: ['a', 'b'].map((name) => ({ name, kind: 'binary', min: 0, max: 1 })) },
    world: undefined,
    mu: torch.zeros([n, m]),
    oracle: { featureDim: d },
    real: { features: real, values, ...withLayout(real) },
    reconstruction: { features: recon, values, ...withLayout(recon) },
    decoded: { features: recon, values, ...withLayout(recon) },
    residual: false,
  } as unknown as EvalContext;
  const edited = () => ({
    // every edit reads as its target: a = 1 on even faces, a = 0 on odd ones
    values: Float32Array.from({ length: n * m }, (_, k) =>
      k % m === 0 ? (Math.floor(k / m) % 2 ? 0.1 : 0.9) : 0.9,
    ),
    features: editFeatures,
    ...withLayout(recon, layoutShift ?? 0),
    pixelL1: null,
    ssim: null,
    identity: {
      pixelL1: new Float64Array(n).fill(0.1),
      ssim: new Float64Array(n).fill(0.5),
      outside: {
        pixelL1: new Float64Array(n).fill(0.05),
        ssim: new Float64Array(n).fill(0.8),
        share: new Float64Array(n).fill(0.6),
      },
    },
  });
  const cf: AttributeCounterfactuals = {
    attribute: 0,
    targets: Float64Array.from({ length: n }, (_, r) => (r % 2 ? 0 : 1)),
    truth: null,
    modelValues: new Float32Array(n * m),
    causal: edited(),
    nonCausal: edited(),
  };
  return binaryEditSection(ctx, [cf])!;
}

test('realism: an edit whose features leave the real faces fails, one like the reconstructions passes', () => {
  const good = realismCase(0, 1);
  const up = good.rows.find((r) => r.attribute === 'a' && r.target === 1)!;
  assert.equal(up.n, 40);
  // the edits read exactly as the reconstructions of the faces of the target class
  assert.ok(Math.abs((up.realism.ratio ?? 0) - 1) < 1e-6, `ratio ${up.realism.ratio}`);
  assert.equal(up.realism.pass, true);
  assert.equal(up.works, true, 'success 1 and realistic');
  const down = good.rows.find((r) => r.attribute === 'a' && r.target === 0)!;
  assert.ok(down.works, `do(a = 0): ratio ${down.realism.ratio}, success ${down.success.causal?.mean}`);
  assert.equal(good.editable.a, true);
  assert.ok(Math.abs((up.identity.causal.outside.ssim?.mean ?? 0) - 0.8) < 1e-9);
  assert.ok(Math.abs((up.identity.causal.outside.share ?? 0) - 0.6) < 1e-12);

  const blob = realismCase(3, 0.2);
  const blobUp = blob.rows.find((r) => r.attribute === 'a' && r.target === 1)!;
  assert.ok((blobUp.realism.ratio ?? 0) > REALISM_RATIO, `ratio ${blobUp.realism.ratio}`);
  assert.equal(
    blobUp.realism.reconstruction,
    up.realism.reconstruction,
    'the same reference and reconstructions',
  );
  assert.equal(blobUp.realism.pass, false);
  assert.equal(blobUp.works, false, 'the oracle reads the target, but the edit is not a face');
  assert.equal(blob.editable.a, false);
});

test('calibrate --report: the editable record says which attributes pass and why the others do not', () => {
  const r = realismCase(3, 0.2);
  const dir = mkdtempSync(join(tmpdir(), 'ccig-faces-'));
  const file = join(dir, 'report.json');
  writeFileSync(file, JSON.stringify({ checkpoint: 'x', refine: 0, binaryEdits: r }));
  const rec = editableFromReport(file, ['a', 'b']);
  assert.equal(rec.attributes.a, false);
  assert.match(rec.why.a, /Frechet \d+\.\d\dx/);
  assert.equal(rec.residual, false);
  assert.equal(rec.realismRatio, REALISM_RATIO);
  assert.throws(() => editableFromReport(file, ['b']), /not the model's/);
  writeFileSync(file, JSON.stringify({ binaryEdits: null }));
  assert.throws(() => editableFromReport(file, ['a', 'b']), /no per-attribute edit checks/);
});

test('realism on the colour layout: an edit the oracle features take for a face, but with the wrong colours, fails', () => {
  const faceLike = realismCase(0, 1, 0);
  const up = faceLike.rows.find((r) => r.attribute === 'a' && r.target === 1)!;
  assert.ok(Math.abs((up.realism.layout?.ratio ?? 0) - 1) < 1e-6, `layout ratio ${up.realism.layout?.ratio}`);
  assert.equal(up.realism.pass, true);
  const orange = realismCase(0, 1, 0.5);
  const blob = orange.rows.find((r) => r.attribute === 'a' && r.target === 1)!;
  assert.equal(blob.realism.ratio, up.realism.ratio, 'the oracle features read it as before');
  assert.ok((blob.realism.layout?.ratio ?? 0) > REALISM_RATIO, `layout ratio ${blob.realism.layout?.ratio}`);
  assert.equal(blob.realism.pass, false);
  assert.equal(orange.editable.a, false);
});

test('colourLayout: the mean colour of each 8 x 8 block, in [0, 1]', () =>
  torch.scope(() => {
    // one 16 x 16 image: channel 0 is -1 on the left half, 1 on the right; the others 0
    const S = 16;
    const px = Float32Array.from({ length: 3 * S * S }, (_, k) => (k < S * S ? (k % S < S / 2 ? -1 : 1) : 0));
    const l = colourLayout(torch.tensor(px, { shape: [1, 3, S, S] }));
    assert.equal(l.length, 3 * 64);
    // blocks are 2 x 2 pixels: columns 0-3 of channel 0 are 0, 4-7 are 1; other channels 0.5
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++)
          assert.equal(l[c * 64 + y * 8 + x], c === 0 ? (x < 4 ? 0 : 1) : 0.5, `c ${c} y ${y} x ${x}`);
  }));

const CELEBA = process.env.CELEBA ?? join(import.meta.dirname, '..', '../shared/datasets/celeba-8k');

test('celeba-faces10-small (issue 25, item 4; untrained): ten attributes, an acyclic super-graph over them', () => {
  const cfg = resolveConfig('celeba-faces10-small');
  assert.equal(cfg.attributes.length, 10);
  const names: string[] = [...cfg.attributes];
  for (const [a, b] of cfg.scm.edges) assert.ok(names.includes(a) && names.includes(b), `${a} -> ${b}`);
  assert.deepEqual([...cfg.attributes], [...CELEBA_PRESETS.faces10.attributes]);
  const order = topologicalOrder(superGraphMask(names, cfg.scm.edges as [string, string][]));
  assert.equal(order.length, 10, 'acyclic');
});

test('celeba-faces10-small: every attribute has at least 300 faces labelled 1 in celeba-8k', {
  skip: !existsSync(join(CELEBA, 'list_attr_celeba.txt')) && `CelebA not found at ${CELEBA}`,
}, () => {
  const lines = readFileSync(join(CELEBA, 'list_attr_celeba.txt'), 'utf8').trim().split('\n');
  const names = lines[1].trim().split(/\s+/);
  for (const a of CELEBA_PRESETS.faces10.attributes) {
    const j = names.indexOf(a);
    assert.ok(j >= 0, a);
    const positives = lines.slice(2).filter((l) => l.trim().split(/\s+/)[j + 1] === '1').length;
    assert.ok(positives >= 300, `${a}: ${positives} faces labelled 1`);
  }
});

test('training stores the class latents of its own encoder in every checkpoint and snapshot (never stale)', async () => {
  const world = generateWorldDataset(worldByName('pendulum'), { count: 48, imageSize: 64, seed: 5 });
  const split = splitWorldDataset(world, { testFraction: 0.25, seed: 0 });
  /** The world with its first two attributes read as binary (above the middle of their range). */
  const binary = (ds: Dataset): Dataset => ({
    size: ds.size,
    imageSize: ds.imageSize,
    attributes: ATTRIBUTES,
    image: (i) => ds.image(i),
    labels: (i) => ds.labels(i),
    batch(idx) {
      const b = ds.batch(idx);
      const labels = Float32Array.from(b.labels);
      for (let r = 0; r < b.batchSize; r++)
        for (const j of [0, 1]) {
          const a = ds.attributes[j];
          labels[r * 4 + j] = +(labels[r * 4 + j] > (a.min + a.max) / 2);
        }
      return { ...b, labels };
    },
  });
  const data = { train: binary(split.train), test: binary(split.test) };
  const out = mkdtempSync(join(tmpdir(), 'ccig-class-latents-'));
  const cfg = resolveConfig('tiny', { train: { steps: 3, snapshotEvery: 2, stabilityResamples: 0 } });
  await train({ config: cfg, data, outDir: out, grids: false });
  const all = Array.from({ length: data.train.size }, (_, i) => i);
  for (const file of [join(out, 'checkpoint.safetensors'), snapshotPath(out, 2)]) {
    const { model } = loadModel(file);
    const stored = model.classLatents();
    assert.ok(stored, `${file} carries class latents`);
    const measured = model.computeClassLatents(data.train, all);
    for (const j of [0, 1]) {
      assert.ok(Math.abs(stored.zero[j] - measured.zero[j]) < 1e-5, `${file}: class 0 of ${NAMES[j]}`);
      assert.ok(Math.abs(stored.one[j] - measured.one[j]) < 1e-5, `${file}: class 1 of ${NAMES[j]}`);
    }
    assert.ok(Number.isNaN(stored.zero[2]), 'continuous attributes have none');
    model.dispose();
  }
});
