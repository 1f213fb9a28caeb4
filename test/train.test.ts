// Model shapes, the training step, checkpoints and exact resume, divergence, configs.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isDag, namedEdges } from '../src/causal/graph.ts';
import { structurePenalty, updateDagSchedule } from '../src/causal/scm.ts';
import { flipChoice, hflipRows } from '../src/data/augment.ts';
import { CELEBA_PRESETS, CELEBA_SEX_EDGES } from '../src/data/celeba.ts';
import type { Batch, Dataset } from '../src/data/dataset.ts';
import { generateWorldDataset, splitWorldDataset, worldByName } from '../src/data/world-dataset.ts';
import { OptionError } from '../src/errors.ts';
import { Ccig } from '../src/model/ccig.ts';
import { resolveConfig } from '../src/model/config.ts';
import * as torch from '../src/torch/index.ts';
import { optim } from '../src/torch/index.ts';
import { disposeCheckpoint, loadCheckpoint, loadModel } from '../src/train/checkpoint.ts';
import { TrainingDivergedError, train } from '../src/train/train.ts';

const world = generateWorldDataset(worldByName('pendulum'), { count: 96, imageSize: 64, seed: 3 });
const data = splitWorldDataset(world, { testFraction: 0.25, seed: 0 });
const tmp = () => mkdtempSync(join(tmpdir(), 'ccig-train-'));

test('networks have the shapes of SPEC section 2', () =>
  torch.scope(() => {
    const cfg = resolveConfig('tiny');
    const model = new Ccig(cfg, data.train.attributes);
    const x = torch.randn([5, 3, 64, 64]);
    const { mu, logvar } = model.encode(x);
    assert.deepEqual(mu.shape, [5, model.zDim]);
    assert.deepEqual(logvar.shape, [5, model.zDim]);
    const z = model.sampleLatent(5);
    assert.deepEqual(z.shape, [5, model.m + model.k]);
    const g = model.decode(z);
    assert.deepEqual(g.shape, [5, 3, 64, 64]);
    assert.ok(g.abs().max().item() <= 1, 'generator output must be in [-1, 1]');
    assert.deepEqual(model.discriminator.forward(g, z).shape, [5]);
    // the discriminator's weights are spectrally normalized
    assert.ok(model.discriminator.namedParameters().some(([n]) => n.endsWith('weight_orig')));
    model.dispose();
  }));

test('the config reaches the SCM prior (structure, parent model)', () => {
  const mlp = new Ccig(
    resolveConfig('tiny', { scm: { parents: 'mlp', structure: 'learned' } }),
    data.train.attributes,
  );
  assert.equal(mlp.prior.parentModel, 'mlp');
  assert.equal(mlp.prior.mode, 'learned');
  assert.ok(mlp.prior.namedParameters().some(([n]) => n === 'W1'));
  mlp.dispose();
  const lin = new Ccig(resolveConfig('tiny'), data.train.attributes);
  assert.equal(lin.prior.parentModel, 'linear');
  assert.ok(lin.prior.namedParameters().some(([n]) => n === 'A'));
  lin.dispose();
  // new learned runs: exact search and MLP parents unless chosen; the given graph keeps the preset's
  const learned = resolveConfig('pendulum-small', { scm: { structure: 'learned' } });
  assert.deepEqual([learned.scm.search, learned.scm.parents], ['exact', 'mlp']);
  const chosen = resolveConfig('pendulum-small', { scm: { structure: 'learned', parents: 'linear' } });
  assert.equal(chosen.scm.parents, 'linear');
  assert.equal(resolveConfig('pendulum-small').scm.parents, 'linear');
});

test('label <-> latent scaling round-trips', () => {
  const model = new Ccig(resolveConfig('tiny'), data.train.attributes);
  const a = data.train.attributes[1];
  const v = a.min + 0.3 * (a.max - a.min);
  const z = model.labelToLatent(1, v);
  const back = torch.scope(() => model.latentToLabels(torch.tensor([[0, z, 0, 0]])).toNumbers()[1]);
  assert.ok(Math.abs(back - v) < 1e-3 * (a.max - a.min));
  model.dispose();
});

test('training runs, losses are finite, and writes log, grids and a checkpoint', async () => {
  const out = tmp();
  const cfg = resolveConfig('tiny', { train: { steps: 6, logEvery: 3, sampleEvery: 6, checkpointEvery: 3 } });
  const r = await train({ config: cfg, data, outDir: out });
  assert.equal(r.step, 6);
  assert.ok(Object.values(r.losses).every(Number.isFinite));
  for (const f of [
    'checkpoint.safetensors',
    'log.jsonl',
    'config.json',
    'samples/samples-000006.png',
    'samples/recon-000006.png',
  ])
    assert.ok(existsSync(join(out, f)), `missing ${f}`);
  const c = loadCheckpoint(join(out, 'checkpoint.safetensors'));
  assert.equal(c.step, 6);
  assert.equal(c.config.preset, 'tiny');
  assert.ok(c.optimizers.d && c.optimizers.eg && c.rng);
});

test('learned mode: the augmented Lagrangian drives h(A) of a cyclic start towards 0', () => {
  // only the structure penalty: no images, A starts on a strong 2-cycle
  const cfg = resolveConfig('tiny', { scm: { structure: 'learned', search: 'notears', parents: 'linear' } });
  const model = new Ccig(cfg, data.train.attributes);
  const A = model.prior.stateDict().A;
  torch.noGrad(() =>
    A.copy_(
      torch.tensor([
        [0, 1.2, 0, 0],
        [1.1, 0, 0, 0],
        [0, 0, 0, 0.9],
        [0, 0, 0.8, 0],
      ]),
    ),
  );
  const opt = new optim.Adam([A], { lr: 1e-2, betas: cfg.train.betasA });
  const o = { rhoInit: 1, rhoMax: 1e4, rhoGrowth: 4, hShrink: 0.5 };
  let dag = { alpha: 0, rho: o.rhoInit, lastH: Number.POSITIVE_INFINITY };
  const h0 = torch.scope(() => model.prior.acyclicity().item());
  for (let outer = 0; outer < 15; outer++) {
    for (let i = 0; i < 50; i++)
      torch.scope(() => {
        opt.zeroGrad();
        structurePenalty(model.prior, dag, 1e-3).backward();
        opt.step();
      });
    dag = updateDagSchedule(
      dag,
      torch.scope(() => model.prior.acyclicity().item()),
      o,
    );
  }
  const h = torch.scope(() => model.prior.acyclicity().item());
  assert.ok(h0 > 1, `the start must be cyclic (h = ${h0})`);
  assert.ok(h < 1e-3 * h0, `h(A) went from ${h0} to ${h} only`);
  assert.ok(dag.alpha > 0, 'the multiplier must have grown');
  model.dispose();
});

test('learned mode: h(A) and the schedule are logged by a training run', async () => {
  const out = tmp();
  const cfg = resolveConfig('tiny', {
    scm: { structure: 'learned', search: 'notears' },
    train: { steps: 4, logEvery: 2, dag: { updateEvery: 2 } },
  });
  const r = await train({ config: cfg, data, outDir: out, grids: false });
  assert.ok(Number.isFinite(r.losses.h));
  const log = readFileSync(join(out, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    log.map((l) => l.step),
    [2, 4],
  );
  assert.ok(log.every((l) => Number.isFinite(l.h) && l.dag.rho >= 1 && l.A.length === 4));
});

test('resume is exact: 2N steps straight equal N steps + resume N', async () => {
  const cfg = resolveConfig('tiny', {
    train: { steps: 8, logEvery: 4, sampleEvery: 100, checkpointEvery: 4 },
  });
  const a = tmp();
  await train({ config: cfg, data, outDir: a, grids: false });
  const b = tmp();
  await train({ config: cfg, data, outDir: b, grids: false, untilStep: 4 });
  await train({ config: cfg, data, outDir: b, grids: false, resume: true });
  const wa = loadModel(join(a, 'checkpoint.safetensors')).model.stateDict();
  const wb = loadModel(join(b, 'checkpoint.safetensors')).model.stateDict();
  for (const k of Object.keys(wa))
    assert.deepEqual(wb[k].toNumbers(), wa[k].toNumbers(), `weights differ at ${k}`);
});

test('resume is exact in learned mode too: A, alpha, rho and lastH carry over', async () => {
  // the schedule first updates at step 6, after the checkpoint at 4 (lastH still infinite there)
  const cfg = resolveConfig('tiny', {
    scm: { structure: 'learned', search: 'notears', parents: 'mlp' },
    train: { steps: 10, logEvery: 4, sampleEvery: 100, checkpointEvery: 4, dag: { updateEvery: 6 } },
  });
  const a = tmp();
  await train({ config: cfg, data, outDir: a, grids: false });
  const b = tmp();
  await train({ config: cfg, data, outDir: b, grids: false, untilStep: 4 });
  const mid = loadCheckpoint(join(b, 'checkpoint.safetensors'));
  assert.equal(mid.dag.lastH, Number.POSITIVE_INFINITY);
  disposeCheckpoint(mid);
  await train({ config: cfg, data, outDir: b, grids: false, resume: true });
  const ca = loadCheckpoint(join(a, 'checkpoint.safetensors'));
  const cb = loadCheckpoint(join(b, 'checkpoint.safetensors'));
  assert.deepEqual(cb.dag, ca.dag);
  assert.ok(ca.dag.alpha > 0, 'the schedule never updated');
  for (const k of Object.keys(ca.model))
    assert.deepEqual(cb.model[k].toNumbers(), ca.model[k].toNumbers(), `weights differ at ${k}`);
});

/** The checkpoints of two run folders hold the same weights, tensor by tensor. */
function assertSameWeights(runA: string, runB: string): void {
  const ca = loadCheckpoint(join(runA, 'checkpoint.safetensors'));
  const cb = loadCheckpoint(join(runB, 'checkpoint.safetensors'));
  for (const k of Object.keys(ca.model))
    assert.deepEqual(cb.model[k].toNumbers(), ca.model[k].toNumbers(), `weights differ at ${k}`);
  disposeCheckpoint(ca);
  disposeCheckpoint(cb);
}

test('learned by exact search: the graph searched on the latents is the prior graph, a DAG with zero weights elsewhere; resume is exact', async () => {
  const cfg = resolveConfig('tiny', {
    scm: { structure: 'learned', parents: 'mlp', search: 'exact' },
    train: { steps: 8, logEvery: 2, sampleEvery: 100, checkpointEvery: 4, searchEvery: 2, searchRows: 60 },
  });
  const a = tmp();
  await train({ config: cfg, data, outDir: a, grids: false });
  const log = readFileSync(join(a, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  // a search every 2 steps, none at the last one (nothing would train what it adds)
  assert.deepEqual(
    log.map((l) => l.search?.step),
    [2, 4, 6, 6],
  );
  const { model } = loadModel(join(a, 'checkpoint.safetensors'));
  const searched: [string, string][] = log.at(-1).search.edges;
  const names = model.attributes.map((x) => x.name);
  const A = model.prior.weightSupport();
  for (const [i, from] of names.entries())
    for (const [j, to] of names.entries()) {
      const inGraph = searched.some(([f, t]) => f === from && t === to);
      assert.equal(
        A[i][j] === 1,
        inGraph,
        `${from} -> ${to}: weights non-zero ${A[i][j]}, searched ${inGraph}`,
      );
    }
  assert.ok(isDag(A), 'the searched graph has a cycle');
  model.dispose();
  // the checkpoint at step 4 carries the graph in its weights: resuming gives the same run
  const b = tmp();
  await train({ config: cfg, data, outDir: b, grids: false, untilStep: 4 });
  await train({ config: cfg, data, outDir: b, grids: false, resume: true });
  assertSameWeights(a, b);
});

test('learned by exact search with linear parents: a search just before a checkpoint adds edges at weight 0, and resume keeps them (exact)', async () => {
  const cfg = resolveConfig('tiny', {
    scm: { structure: 'learned', parents: 'linear', search: 'exact' },
    train: { steps: 8, logEvery: 2, sampleEvery: 100, checkpointEvery: 4, searchEvery: 2, searchRows: 60 },
  });
  const a = tmp();
  await train({ config: cfg, data, outDir: a, grids: false });
  const b = tmp();
  await train({ config: cfg, data, outDir: b, grids: false, untilStep: 4 });
  // the case to cover: the search at step 4 (just before the checkpoint) has an edge whose weight
  // is still exactly 0, so the weights alone do not show it
  const searched: [string, string][] = readFileSync(join(b, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .find((l) => l.step === 4).search.edges;
  const mid = loadModel(join(b, 'checkpoint.safetensors'));
  const names = mid.meta.config.attributes;
  const A = mid.model.prior.adjacencyArray();
  assert.ok(
    searched.some(([from, to]) => A[names.indexOf(from)][names.indexOf(to)] === 0),
    `every searched edge already has a weight: ${JSON.stringify(searched)}`,
  );
  // loadModel gives the searched graph, not the weights' support
  assert.deepEqual(
    namedEdges(mid.model.prior.maskArray(), names).map(String).sort(),
    searched.map(String).sort(),
    'the mask of the loaded model is the searched graph',
  );
  mid.model.dispose();
  await train({ config: cfg, data, outDir: b, grids: false, resume: true });
  assertSameWeights(a, b);
});

test('resume trains with the learning rates and betas of the edited config, and says once which changed', async () => {
  const out = tmp();
  await train({ config: resolveConfig('tiny', { train: { steps: 2 } }), data, outDir: out, grids: false });
  const edited = resolveConfig('tiny', { train: { steps: 4, lrG: 1e-4, betasA: [0.5, 0.9] } });
  const resume = async (steps: number) => {
    const warnings: string[] = [];
    const config = { ...edited, train: { ...edited.train, steps } };
    await train({
      config,
      data,
      outDir: out,
      grids: false,
      resume: true,
      onWarning: (m) => warnings.push(m),
    });
    return warnings;
  };
  const warnings = await resume(4);
  const said = warnings.filter((w) => /optimizer settings/.test(w));
  assert.equal(said.length, 1, warnings.join('\n'));
  assert.match(said[0], /train\.lrG 0\.0002 -> 0\.0001/);
  assert.match(said[0], /train\.betasA \[0\.9, 0\.999\] -> \[0\.5, 0\.9\]/);
  assert.doesNotMatch(said[0], /lrE|lrD|lrPrior|lrA |train\.betas /, 'only what changed is named');
  // the optimizer state written after the resumed steps holds the new values
  const c = loadCheckpoint(join(out, 'checkpoint.safetensors'));
  const groups = c.optimizers.eg.meta.groups as { lr: number; betas: number[] }[];
  assert.deepEqual(
    groups.map((g) => [g.lr, g.betas]),
    [
      [edited.train.lrE, edited.train.betas],
      [1e-4, edited.train.betas],
      [edited.train.lrPrior, edited.train.betas],
      [edited.train.lrA, [0.5, 0.9]],
    ],
  );
  disposeCheckpoint(c);
  // the next resume with the same config has nothing to say
  assert.deepEqual(
    (await resume(6)).filter((w) => /optimizer settings/.test(w)),
    [],
  );
});

test('resume refuses another architecture or SCM, naming both values', async () => {
  const out = tmp();
  await train({ config: resolveConfig('tiny', { train: { steps: 2 } }), data, outDir: out, grids: false });
  const refused = async (over: object, message: RegExp) => {
    const live = torch.liveTensors();
    await assert.rejects(
      train({ config: resolveConfig('tiny', over), data, outDir: out, resume: true }),
      (e: unknown) => e instanceof OptionError && message.test((e as Error).message),
    );
    assert.equal(torch.liveTensors(), live, 'a refused resume leaked tensors');
  };
  await refused(
    { net: { channels: 8 } },
    /refusing to resume .*net \{"channels":4,.*\}, but this run asks for \{"channels":8,/,
  );
  await refused({ scm: { structure: 'learned' } }, /scm\.structure "given", but this run asks for "learned"/);
  await refused(
    { scm: { mechanism: 'nonlinear' } },
    /scm\.mechanism "linear", but this run asks for "nonlinear"/,
  );
  await refused({ scm: { parents: 'mlp' } }, /scm\.parents "linear", but this run asks for "mlp"/);
  await refused({ zFree: 3 }, /zFree 2, but this run asks for 3/);
  await refused({ scm: { edges: [['pendulum_angle', 'shadow_length']] } }, /scm\.edges \[\[/);
  // two at once: one message names both
  await refused(
    { zFree: 3, scm: { structure: 'none' } },
    /zFree 2, but .* 3; scm\.structure "given", but .* "none"/,
  );
});

test('resume widens a given graph: it says which edges it added, records them, and the new edge learns', async () => {
  const out = tmp();
  const base = resolveConfig('tiny', { train: { steps: 2 } });
  await train({ config: base, data, outDir: out, grids: false });
  const wider = resolveConfig('tiny', {
    train: { steps: 4 },
    scm: { edges: [...base.scm.edges, ['pendulum_angle', 'light_angle']] },
  });
  const warnings: string[] = [];
  await train({
    config: wider,
    data,
    outDir: out,
    grids: false,
    resume: true,
    onWarning: (m) => warnings.push(m),
  });
  assert.ok(
    warnings.some((w) =>
      /wider graph .*pendulum_angle -> light_angle added \(their weights start at 0\)/.test(w),
    ),
    warnings.join('\n'),
  );
  const { model, meta } = loadModel(join(out, 'checkpoint.safetensors'));
  assert.equal(meta.step, 4);
  assert.deepEqual(meta.config.scm.edges, wider.scm.edges, 'the checkpoint records the wider graph');
  const names = meta.config.attributes;
  const adjacency = model.prior.adjacency();
  const A = adjacency.toNumbers();
  adjacency.dispose();
  const m = names.length;
  assert.notEqual(
    A[names.indexOf('pendulum_angle') * m + names.indexOf('light_angle')],
    0,
    'the new edge trained',
  );
  model.dispose();
});

test('snapshotEvery keeps weights-only snapshots that load as models', async () => {
  const out = tmp();
  const cfg = resolveConfig('tiny', { train: { steps: 4, snapshotEvery: 2, checkpointEvery: 4 } });
  await train({ config: cfg, data, outDir: out, grids: false });
  for (const step of [2, 4]) {
    const file = join(out, 'snapshots', `step-00000${step}.safetensors`);
    const c = loadCheckpoint(file);
    assert.equal(c.step, step);
    assert.deepEqual(Object.keys(c.optimizers), [], 'a snapshot holds weights only');
    disposeCheckpoint(c);
    const { model } = loadModel(file);
    model.dispose();
  }
  assert.ok(!existsSync(join(out, 'snapshots', 'step-000001.safetensors')));
  // a snapshot that cannot be written (a file where the folder goes) is said once; training goes on
  const blocked = tmp();
  mkdirSync(blocked, { recursive: true });
  writeFileSync(join(blocked, 'snapshots'), 'in the way');
  const warnings: string[] = [];
  const r = await train({
    config: cfg,
    data,
    outDir: blocked,
    grids: false,
    onWarning: (m) => warnings.push(m),
  });
  assert.equal(r.step, 4);
  assert.equal(warnings.filter((w) => /snapshot/.test(w)).length, 1, warnings.join('\n'));
  assert.ok(existsSync(join(blocked, 'checkpoint.safetensors')));
  assert.ok(
    statSync(join(out, 'snapshots', 'step-000004.safetensors')).size <
      statSync(join(out, 'checkpoint.safetensors')).size,
  );
});

test('NaN in a loss stops training with a message and keeps the last good checkpoint', async () => {
  const out = tmp();
  const cfg = resolveConfig('tiny', { train: { steps: 4, checkpointEvery: 2 } });
  await train({ config: cfg, data, outDir: out, grids: false, untilStep: 2 });
  const before = statSync(join(out, 'checkpoint.safetensors')).mtimeMs;
  // a dataset whose labels turn into NaN
  const poisoned: Dataset = {
    size: data.train.size,
    imageSize: 64,
    attributes: data.train.attributes,
    image: (i) => data.train.image(i),
    labels: (i) => data.train.labels(i).map(() => Number.NaN),
    batch(indices): Batch {
      const b = data.train.batch(indices);
      return { ...b, labels: b.labels.map(() => Number.NaN) };
    },
  };
  const live = torch.liveTensors();
  await assert.rejects(
    train({
      config: cfg,
      data: { train: poisoned, test: data.test },
      outDir: out,
      grids: false,
      resume: true,
    }),
    (e: unknown) =>
      e instanceof TrainingDivergedError && /training diverged at step 3/.test((e as Error).message),
  );
  assert.equal(torch.liveTensors(), live, 'a diverged run must free its model and buffers');
  assert.equal(statSync(join(out, 'checkpoint.safetensors')).mtimeMs, before);
  assert.equal(loadCheckpoint(join(out, 'checkpoint.safetensors')).step, 2);
});

test('configs: unknown keys and wrong types are rejected with their path', () => {
  assert.throws(
    () => resolveConfig('tiny', { train: { stepz: 3 } }),
    (e: unknown) => e instanceof OptionError && /train: Unrecognized key.*stepz/s.test((e as Error).message),
  );
  assert.throws(
    () => resolveConfig('tiny', { train: { lrG: 'fast' } }),
    /train\.lrG: Invalid input: expected number, received string/,
  );
  assert.throws(() => resolveConfig('tiny', { scm: { structure: 'sometimes' } }), /scm\.structure/);
  assert.throws(
    () => resolveConfig('nope'),
    /Expected one of pendulum-small, pendulum, flow-small, garden-small, .*celeba-smile-dear.* for preset but received 'nope'/,
  );
  assert.equal(resolveConfig('tiny', { train: { steps: 7 } }).train.steps, 7);
});

test('horizontal flips mirror the chosen rows only, the same choice on every run', () => {
  const S = 4;
  const images = Float32Array.from({ length: 2 * 3 * S * S }, (_, i) => i);
  const flipped = images.slice();
  hflipRows(flipped, 2, 3, S, (b) => b === 1);
  assert.deepEqual(flipped.subarray(0, 3 * S * S), images.subarray(0, 3 * S * S));
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++) {
        const at = (b: number, xx: number) => ((b * 3 + c) * S + y) * S + xx;
        assert.equal(flipped[at(1, x)], images[at(1, S - 1 - x)]);
      }
  const a = flipChoice(0, 5);
  const b = flipChoice(0, 5);
  const rows = Array.from({ length: 1000 }, (_, r) => a(r));
  assert.deepEqual(
    rows,
    Array.from({ length: 1000 }, (_, r) => b(r)),
  );
  const share = rows.filter(Boolean).length / rows.length;
  assert.ok(share > 0.45 && share < 0.55, `flipped share ${share}`);
  assert.notDeepEqual(
    rows.slice(0, 64),
    Array.from({ length: 64 }, (_, r) => flipChoice(0, 6)(r)),
  );
});

test('CPU face presets: SPEC super-graphs (smile: plus the edges from Male), 64 px, flips; flips change training, labels stay', async () => {
  for (const [preset, graph, extra] of [
    ['celeba-smile-small', CELEBA_PRESETS.smile, CELEBA_SEX_EDGES.smile],
    ['celeba-age-small', CELEBA_PRESETS.age, CELEBA_SEX_EDGES.age],
  ] as const) {
    const cfg = resolveConfig(preset);
    assert.equal(cfg.data.kind, 'celeba');
    assert.equal(cfg.imageSize, 64);
    assert.equal(cfg.train.flip, true);
    assert.deepEqual(cfg.attributes, graph.attributes);
    assert.deepEqual(cfg.scm.edges, [...graph.edges, ...extra]);
  }
  // the DEAR-sized presets keep SPEC's graph as DEAR has it
  assert.deepEqual(resolveConfig('celeba-smile').scm.edges, CELEBA_PRESETS.smile.edges);
  assert.equal(resolveConfig('celeba-smile').train.flip, false, 'the DEAR presets stay as DEAR');
  assert.equal(resolveConfig('tiny', { imageSize: 32 }).imageSize, 32);
  // the same seed with and without flips trains different weights
  const weights = async (flip: boolean) => {
    const out = tmp();
    await train({
      config: resolveConfig('tiny', { train: { steps: 2, flip } }),
      data,
      outDir: out,
      grids: false,
    });
    return loadModel(join(out, 'checkpoint.safetensors'))
      .model.stateDict()
      ['encoder.conv0.weight'].toNumbers();
  };
  assert.notDeepEqual(await weights(true), await weights(false));
});
