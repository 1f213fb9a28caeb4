// Interventional regimes and structure learning that uses them: the masked, unit-free score
// orients what observational data cannot; worlds draw exact do() samples; folders parse regimes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { essentialGraph } from '../src/causal/essential-graph.ts';
import { exactSearch } from '../src/causal/exact-search.ts';
import { compareGraphs, EDGE_THRESHOLD } from '../src/causal/graph.ts';
import { localScorer } from '../src/causal/local-score.ts';
import { ScmPrior } from '../src/causal/scm.ts';
import { EXACT_SEARCH_MAX_NODES, MAX_STRUCTURE_NODES, searchStructure } from '../src/causal/search.ts';
import { learnStructure } from '../src/causal/structure.ts';
import { openFolder, parseLabelCsv } from '../src/data/folder.ts';
import { pendulum } from '../src/data/pendulum.ts';
import { Rng } from '../src/data/rng.ts';
import {
  generateWorldDataset,
  splitWorldDataset,
  worldByName,
  writeWorldToDisk,
} from '../src/data/world-dataset.ts';
import { DataError } from '../src/errors.ts';
import { edgeStability, formatEdgeStability } from '../src/eval/edge-stability.ts';
import { Ccig } from '../src/model/ccig.ts';
import { resolveConfig } from '../src/model/config.ts';
import * as torch from '../src/torch/index.ts';
import { chooseGraph, SEARCH_SWITCH_MARGIN, train } from '../src/train/train.ts';
import { allDags } from './helpers/dags.ts';
import { randomLinearScm } from './helpers/random-scm.ts';

torch.setNumThreads(1);

/**
 * A linear Gaussian chain x0 -> x1 -> x2 (x1 = 0.8 x0 + e1, x2 = -1.5 x1 + e2, unit noises).
 * With `fraction` > 0, that share of rows sets one node, drawn uniformly, to an independent
 * normal value with the node's observational spread.
 */
function chain(n: number, fraction: number, seed = 1) {
  const rng = new Rng(seed);
  const values = new Float64Array(n * 3);
  const intervened = new Uint8Array(n * 3);
  const sd = [1, Math.sqrt(0.64 + 1), Math.sqrt(2.25 * 1.64 + 1)];
  for (let r = 0; r < n; r++) {
    const j = rng.float() < fraction ? rng.int(3) : -1;
    const x0 = j === 0 ? sd[0] * rng.normal() : rng.normal();
    const x1 = j === 1 ? sd[1] * rng.normal() : 0.8 * x0 + rng.normal();
    const x2 = j === 2 ? sd[2] * rng.normal() : -1.5 * x1 + rng.normal();
    values.set([x0, x1, x2], r * 3);
    if (j >= 0) intervened[r * 3 + j] = 1;
  }
  return { values, intervened };
}

function columnSd(values: Float64Array, m: number, j: number): number {
  const n = values.length / m;
  let s = 0;
  let s2 = 0;
  for (let r = 0; r < n; r++) {
    s += values[r * m + j];
    s2 += values[r * m + j] ** 2;
  }
  return Math.sqrt(s2 / n - (s / n) ** 2);
}

const TRUE_CHAIN: [string, string][] = [
  ['x0', 'x1'],
  ['x1', 'x2'],
];
const REVERSED_CHAIN: [string, string][] = [
  ['x1', 'x0'],
  ['x2', 'x1'],
];

test('3-node chain: observational scores tie the chain and its reversal; the masked interventional score orients it with exact coefficients', () => {
  const n = 3000;
  const obs = chain(n, 0);
  const fit = (d: ReturnType<typeof chain>, allowed: [string, string][], masked: boolean) =>
    learnStructure(d.values, n, 3, {
      allowed,
      intervened: masked ? d.intervened : undefined,
      steps: 600,
    }).score;
  // Markov equivalent graphs: the likelihood cannot tell them apart
  const tie = Math.abs(fit(obs, TRUE_CHAIN, false) - fit(obs, REVERSED_CHAIN, false));
  assert.ok(tie < 0.01, `observational scores differ by ${tie}`);

  const mixed = chain(n, 0.3);
  const truth = fit(mixed, TRUE_CHAIN, true);
  const reversed = fit(mixed, REVERSED_CHAIN, true);
  assert.ok(reversed - truth > 0.05, `masked score: true ${truth}, reversed ${reversed}`);

  const found = learnStructure(mixed.values, n, 3, { intervened: mixed.intervened });
  assert.deepEqual(
    found.edges.map((e) => [e.from, e.to]),
    TRUE_CHAIN,
    `learned ${JSON.stringify(found.edges)}`,
  );
  // standardized weights back in the data's units: A_raw[i][j] = A[i][j] sd_j / sd_i
  const raw = (i: number, j: number) =>
    (found.adjacency[i][j] * columnSd(mixed.values, 3, j)) / columnSd(mixed.values, 3, i);
  assert.ok(Math.abs(raw(0, 1) - 0.8) < 0.05, `x0 -> x1: ${raw(0, 1)}`);
  assert.ok(Math.abs(raw(1, 2) - -1.5) < 0.05, `x1 -> x2: ${raw(1, 2)}`);
});

test('the learned graph does not depend on units: labels times 100, or each column scaled differently', () => {
  const n = 1500;
  const d = chain(n, 0.3, 2);
  const base = learnStructure(d.values, n, 3, { intervened: d.intervened, steps: 800 });
  for (const scale of [
    [100, 100, 100],
    [100, 0.01, 7],
  ]) {
    const scaled = d.values.map((v, k) => v * scale[k % 3]);
    const other = learnStructure(scaled, n, 3, { intervened: d.intervened, steps: 800 });
    assert.deepEqual(
      other.edges.map((e) => [e.from, e.to]),
      base.edges.map((e) => [e.from, e.to]),
    );
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++)
        assert.ok(Math.abs(other.adjacency[i][j] - base.adjacency[i][j]) < 1e-3, `A[${i}][${j}] at ${scale}`);
  }
  // the model's supervision reads labels x 100 (with their ranges and moments x 100) as before
  const cfg = resolveConfig('tiny');
  const attrs = pendulum.factors.map((f) => ({
    name: f.name,
    kind: 'continuous' as const,
    min: f.min,
    max: f.max,
    mean: (f.min + f.max) / 2,
    std: (f.max - f.min) / 4,
  }));
  const times100 = attrs.map((a) => ({
    ...a,
    min: a.min * 100,
    max: a.max * 100,
    mean: a.mean * 100,
    std: a.std * 100,
  }));
  for (const mode of ['bce', 'mse'] as const) {
    const c = { ...cfg, train: { ...cfg.train, continuousSupervision: mode } };
    torch.scope(() => {
      const y = torch.tensor([
        [10, 70, 4, 9],
        [-20, 120, 3, 14],
      ]);
      const mu = torch.randn([2, 4]);
      const a = new Ccig(c, attrs).supervisionLoss(mu, y).toNumbers();
      const b = new Ccig(c, times100).supervisionLoss(mu, y.mul(100)).toNumbers();
      a.forEach((v, k) => assert.ok(Math.abs(v - b[k]) < 1e-4, `${mode}: ${v} vs ${b[k]}`));
    });
  }
});

test('the consistency loss leaves out the mechanism of an intervened node on that row only', () => {
  const p = new ScmPrior({ nodes: ['x', 'y'], mode: 'learned', mechanism: 'linear' });
  torch.noGrad(() =>
    p.stateDict().A.copy_(
      torch.tensor([
        [0, 0.5],
        [0, 0],
      ]),
    ),
  );
  torch.scope(() => {
    const zc = torch.tensor([
      [1, 0.5],
      [2, 1],
      [-1, 3], // y set by do(): far from 0.5 x
      [0.5, 0.2],
    ]);
    const none = torch.zeros([4, 2]);
    const doY = torch.tensor([
      [0, 0],
      [0, 0],
      [0, 1],
      [0, 0],
    ]);
    // NV: 1/2 log(mean squared residual of y over its scored rows + a floor of 1e-4 of y's
    // variance); x has no parents in this graph... but `learned` lets it have some, and A's
    // column x is 0, so x's residual is x itself: it is scored too.
    const ys = [0.5, 1, 3, 0.2];
    const xs = [1, 2, -1, 0.5];
    const variance = (v: number[]) => {
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      return v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1);
    };
    const residY = ys.map((y, i) => y - 0.5 * xs[i]);
    const nv = (r: number[], rows: number[], all: number[]) =>
      0.5 * Math.log(rows.reduce((a, i) => a + r[i] ** 2, 0) / rows.length + variance(all) * 1e-4 + 1e-8);
    const xTerm = nv(xs, [0, 1, 2, 3], xs);
    const lossAll = p.consistencyLoss(zc, none).item();
    const lossMasked = p.consistencyLoss(zc, doY).item();
    assert.ok(Math.abs(lossAll - (xTerm + nv(residY, [0, 1, 2, 3], ys))) < 1e-4, `all rows ${lossAll}`);
    assert.ok(Math.abs(lossMasked - (xTerm + nv(residY, [0, 1, 3], ys))) < 1e-4, `masked ${lossMasked}`);
    assert.ok(lossMasked < lossAll - 1, 'the intervened row dominated the unmasked loss');
  });
});

test("a world's interventional samples obey do() exactly; the rest are the observational samples", () => {
  const count = 600;
  const obs = generateWorldDataset(pendulum, { count, imageSize: 16, seed: 4 });
  const mix = generateWorldDataset(pendulum, { count, imageSize: 16, seed: 4, interventional: 0.5 });
  const m = pendulum.names.length;
  let nDo = 0;
  const doValues: number[][] = pendulum.names.map(() => []);
  for (let i = 0; i < count; i++) {
    const set = mix.intervenedSet(i);
    const row = mix.values.subarray(i * m, (i + 1) * m);
    const factual = obs.values.subarray(i * m, (i + 1) * m);
    assert.deepEqual(mix.noise.subarray(i * m, (i + 1) * m), obs.noise.subarray(i * m, (i + 1) * m));
    if (set.length === 0) {
      assert.deepEqual(row, factual, `observational row ${i}`);
      continue;
    }
    nDo++;
    assert.equal(set.length, 1);
    const j = pendulum.index(set[0]);
    doValues[j].push(row[j]);
    // descendants follow the equations with the row's own noises; everything else is untouched
    const expected = pendulum.counterfactual(
      { values: Float64Array.from(factual), noise: obs.sample(i).noise },
      { [set[0]]: row[j] },
      16,
    );
    assert.deepEqual(Array.from(row), Array.from(expected.values), `row ${i} under do(${set[0]})`);
    const desc = new Set(pendulum.descendants(set[0]));
    for (let k = 0; k < m; k++)
      if (k !== j && !desc.has(pendulum.names[k])) assert.equal(row[k], factual[k], `non-descendant ${k}`);
    assert.deepEqual(mix.image(i), pendulum.render(row, 16), `row ${i} is rendered as set`);
  }
  assert.ok(nDo > 240 && nDo < 360, `${nDo} of ${count} rows intervened at 50%`);
  // the set value is drawn from the node's observational distribution: compare means and spreads
  for (const [j, vs] of doValues.entries()) {
    if (vs.length < 30) continue;
    const o = Array.from({ length: count }, (_, i) => obs.values[i * m + j]);
    const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
    const sd = (xs: number[]) => Math.sqrt(mean(xs.map((v) => (v - mean(xs)) ** 2)));
    assert.ok(
      Math.abs(mean(vs) - mean(o)) < 0.35 * sd(o),
      `${pendulum.names[j]}: mean ${mean(vs)} vs ${mean(o)}`,
    );
    assert.ok(Math.abs(sd(vs) / sd(o) - 1) < 0.3, `${pendulum.names[j]}: sd ${sd(vs)} vs ${sd(o)}`);
  }
  // undoing the interventions gives back the observational dataset, images included
  const undone = mix.observational();
  assert.deepEqual(undone.values, obs.values);
  assert.deepEqual(undone.pixels, obs.pixels);
  // batches carry the regime mask; a counterfactual of an intervened row keeps its intervention
  const i = Array.from({ length: count }, (_, k) => k).find(
    (k) => mix.intervenedSet(k)[0] === 'light_angle',
  )!;
  const b = mix.batch([i, 0]);
  assert.deepEqual(Array.from(b.intervened.subarray(0, m)), [0, 1, 0, 0]);
  const cf = mix.counterfactual(i, { pendulum_angle: 10 });
  assert.equal(cf.values[1], mix.values[i * m + 1]);
  assert.throws(
    () => generateWorldDataset(pendulum, { count: 4, interventional: 1.5 }),
    /fraction in \[0, 1\] for interventional/,
  );
});

test('labels.csv regime column: parsed per row, written by data world, bad cells refused with file and line', async () => {
  const header = 'file,a,b,c,intervened';
  const t = parseLabelCsv(`${header}\nx.png,1,2,3,\ny.png,1,2,3,b\nz.png,1,2,3, c ; a \n`, 'labels.csv');
  assert.deepEqual(
    t.attributes.map((a) => a.name),
    ['a', 'b', 'c'],
  );
  assert.deepEqual(Array.from(t.intervened), [0, 0, 0, 0, 1, 0, 1, 0, 1]);
  const without = parseLabelCsv('file,a,b\nx.png,1,2\n', 'l.csv');
  assert.deepEqual(Array.from(without.intervened), [0, 0]);
  for (const [cell, why] of [
    ['d', /unknown attribute 'd' in the intervened column; attributes are a, b, c/],
    ['a;;b', /empty attribute name in the intervened column/],
    ['b;b', /attribute 'b' is named twice/],
    ['file', /unknown attribute 'file'/],
  ] as const) {
    assert.throws(
      () => parseLabelCsv(`${header}\nx.png,1,2,3,\ny.png,1,2,3,${cell}\n`, 'labels.csv'),
      (e: unknown) =>
        e instanceof DataError && e.file === 'labels.csv' && e.line === 3 && why.test(e.message),
      cell,
    );
  }

  // a world written with regimes opens as a folder with the same regime per image
  const dir = mkdtempSync(join(tmpdir(), 'ccig-regimes-'));
  const ds = generateWorldDataset(pendulum, { count: 40, imageSize: 16, seed: 2, interventional: 0.4 });
  const written = await writeWorldToDisk(join(dir, 'w'), ds);
  const opened = await openFolder({ dir: written.dir, imageSize: 16, cacheDir: join(dir, 'cache') });
  for (let k = 0; k < opened.dataset.size; k++) {
    const row = Number(opened.dataset.file(k).match(/(\d+)\.png$/)![1]);
    assert.deepEqual(opened.dataset.intervenedSet(k), ds.intervenedSet(row));
    const b = opened.dataset.batch([k]);
    assert.deepEqual(
      Array.from(b.intervened),
      pendulum.names.map((n) => (ds.intervenedSet(row).includes(n) ? 1 : 0)),
    );
  }
  // a bad cell stops the open before anything is cached
  const bad = join(dir, 'bad');
  await writeWorldToDisk(
    bad,
    generateWorldDataset(pendulum, { count: 3, imageSize: 16, seed: 2, interventional: 1 }),
  );
  const csv = join(bad, 'labels.csv');
  const { readFileSync } = await import('node:fs');
  writeFileSync(csv, readFileSync(csv, 'utf8').replace(/,(\w+)\n$/, ',sun_angle\n'));
  await assert.rejects(
    openFolder({ dir: bad, imageSize: 16, cacheDir: join(dir, 'cache-bad') }),
    (e: unknown) => e instanceof DataError && e.line === 4 && /unknown attribute 'sun_angle'/.test(e.message),
  );
  const { existsSync } = await import('node:fs');
  assert.equal(existsSync(join(dir, 'cache-bad')), false, 'nothing half-loaded');
});

test('exact search: the masked score orients the chain; observational data leave it a tie; units do not matter', () => {
  const n = 1500;
  const score = (d: ReturnType<typeof chain>, allowed: [string, string][], masked: boolean) =>
    exactSearch(d.values, n, 3, { allowed, intervened: masked ? d.intervened : undefined }).score;
  const obs = chain(n, 0);
  const tie = Math.abs(score(obs, TRUE_CHAIN, false) - score(obs, REVERSED_CHAIN, false));
  assert.ok(tie < 0.05, `observational scores differ by ${tie}`);
  const mixed = chain(n, 0.3);
  const found = exactSearch(mixed.values, n, 3, { intervened: mixed.intervened });
  assert.deepEqual(found.edges, TRUE_CHAIN);
  // the optimum is at least as good as any graph it could be compared with, the truth included
  assert.ok(found.score <= score(mixed, TRUE_CHAIN, true) + 1e-12);
  assert.ok(score(mixed, REVERSED_CHAIN, true) - found.score > 0.05);
  // a graph's score read from the search's own fits is the restricted search's
  const reversed = [
    [0, 0, 0],
    [1, 0, 0],
    [0, 1, 0],
  ];
  assert.ok(Math.abs(found.scoreWithin(reversed) - score(mixed, REVERSED_CHAIN, true)) < 1e-9);
  assert.ok(Math.abs(found.scoreWithin(found.adjacency) - found.score) < 1e-9);
  // a column in other units (x 100, or shifted) changes nothing
  const scaled = Float64Array.from(mixed.values, (v, i) => (i % 3 === 1 ? v * 100 + 7 : v));
  const again = exactSearch(scaled, n, 3, { intervened: mixed.intervened });
  assert.deepEqual(again.adjacency, found.adjacency);
  assert.ok(Math.abs(again.score - found.score) < 1e-9);
});

test("exact search finds Pendulum's graph from 20% interventional labels and Garden's from observational ones", () => {
  for (const [name, interventional] of [
    ['pendulum', 0.2],
    ['garden', 0],
  ] as const) {
    const world = worldByName(name);
    const m = world.names.length;
    const n = 800;
    const ds = generateWorldDataset(world, { count: n, imageSize: 8, seed: 5, interventional });
    // an encoder's reading error: 5% of each factor's spread
    const rng = new Rng(9);
    const values = Float64Array.from(
      ds.values,
      (v, i) => v + 0.05 * columnSd(ds.values, m, i % m) * rng.normal(),
    );
    const found = exactSearch(values, n, m, { nodes: world.names, intervened: ds.intervened });
    assert.equal(
      compareGraphs(world.adjacency(), found.adjacency).shd,
      0,
      `${name}: ${JSON.stringify(found.edges)}`,
    );
  }
});

test('exact search: allowed edges bound the graph; bad tables and names are refused', () => {
  const d = chain(300, 0.3);
  const only = exactSearch(d.values, 300, 3, { intervened: d.intervened, allowed: [['x0', 'x1']] });
  assert.deepEqual(only.edges, [['x0', 'x1']]);
  assert.throws(() => exactSearch(d.values, 299, 3), /exactSearch needs an \[n, m\] table/);
  assert.throws(
    () => exactSearch(d.values, 300, 3, { allowed: [['x0', 'x9']] }),
    /bad allowed edge x0 -> x9/,
  );
});

test('edge stability of a graph larger than the structure search takes: skipped with the reason, not an error (eval, info)', () => {
  const names = Array.from({ length: MAX_STRUCTURE_NODES + 1 }, (_, j) => `a${j}`);
  const model = {
    config: resolveConfig('tiny', { attributes: names, scm: { edges: [['a0', 'a1']] } }),
    prior: {
      mode: 'given',
      parentModel: 'linear',
      adjacencyArray: () => names.map(() => names.map(() => 0)),
    },
    causalLatents: () => assert.fail('no latents are needed for a skipped measurement'),
  } as unknown as Ccig;
  const s = edgeStability(model, { size: 100 } as unknown as Parameters<typeof edgeStability>[1]);
  assert.ok(s?.skipped, JSON.stringify(s));
  assert.match(
    s.skipped,
    new RegExp(`at most ${MAX_STRUCTURE_NODES} attributes, and this graph has ${names.length}`),
  );
  assert.deepEqual([s.edges, s.others, s.resamples], [[], [], 0]);
  assert.deepEqual(formatEdgeStability(s, '  '), [`  stability not measured: ${s.skipped}`]);
});

test("edge stability: on latents that read the world's labels, the true edges hold in every resample", () => {
  const world = worldByName('pendulum');
  const n = 400;
  const ds = generateWorldDataset(world, { count: n, imageSize: 8, seed: 11, interventional: 0.2 });
  const truth = world.adjacency();
  // a stand-in for a trained model whose encoder reads each label exactly
  const model = (mode: 'given' | 'learned') =>
    ({
      config: {
        attributes: world.names,
        scm: { edges: world.edges(), search: 'exact' },
      },
      prior: {
        mode,
        parentModel: 'mlp',
        adjacencyArray: () => truth.map((r) => r.map((v) => v * 1.5)),
        standardizedEffects: () => truth.map((r) => r.map((v) => v * 0.5)),
      },
      causalLatents: (_: unknown, idx: readonly number[]) => ({
        values: Float32Array.from(idx.flatMap((i) => Array.from(ds.values.subarray(i * 4, i * 4 + 4)))),
        intervened: Uint8Array.from(idx.flatMap((i) => Array.from(ds.intervened.subarray(i * 4, i * 4 + 4)))),
      }),
    }) as unknown as Ccig;
  const heldOut = { size: n } as unknown as Parameters<typeof edgeStability>[1];
  for (const mode of ['given', 'learned'] as const) {
    const s = edgeStability(model(mode), heldOut, { resamples: 5 });
    assert.ok(s);
    assert.equal(s.edges.length, 4);
    for (const e of s.edges) assert.equal(e.stability, 1, `${mode}: ${e.from} -> ${e.to} ${e.stability}`);
    assert.deepEqual(s.others, [], `${mode}: no other edge in a fifth of the resamples`);
  }
});

test('a search replaces the graph only when the found one scores better by more than the margin', () => {
  // y = x + noise: x -> y and y -> x fit alike (Markov equivalent), the empty graph much worse
  const rng = new Rng(4, 0);
  const n = 300;
  const values = new Float64Array(2 * n);
  for (let r = 0; r < n; r++) {
    const x = rng.normal();
    values[2 * r] = x;
    values[2 * r + 1] = x + 0.5 * rng.normal();
  }
  const found = exactSearch(values, n, 2, { nodes: ['x', 'y'] });
  assert.equal(found.edges.length, 1, JSON.stringify(found.edges));
  const reversed = found.adjacency.map((row, i) => row.map((_, j) => found.adjacency[j][i]));
  const tie = found.scoreWithin(reversed) - found.score;
  assert.ok(tie > 0 && tie < SEARCH_SWITCH_MARGIN, `the reversed edge is not a near tie: ${tie}`);
  // a near tie keeps the current graph (a better score, but not by the margin)
  const kept = chooseGraph(found, found.adjacency, reversed);
  assert.deepEqual([kept.switched, kept.adjacency], [false, reversed]);
  assert.equal(kept.gain, tie);
  // a clearly better graph replaces it
  const empty = [
    [0, 0],
    [0, 0],
  ];
  const replaced = chooseGraph(found, found.adjacency, empty);
  assert.ok(replaced.gain > SEARCH_SWITCH_MARGIN, `${replaced.gain}`);
  assert.deepEqual([replaced.switched, replaced.adjacency], [true, found.adjacency]);
  // the current graph found again: nothing to gain, nothing changes
  assert.deepEqual(chooseGraph(found, found.adjacency, found.adjacency).switched, false);
});

test('a training run changes its graph only where a search clears the margin (no flip-flop on a tie)', async () => {
  const flow = worldByName('flow');
  const data = splitWorldDataset(generateWorldDataset(flow, { count: 96, imageSize: 64, seed: 2 }), {
    testFraction: 0.25,
    seed: 0,
  });
  const cfg = resolveConfig('tiny', {
    attributes: flow.names,
    scm: { structure: 'learned', search: 'exact', edges: flow.edges() },
    train: { steps: 13, logEvery: 1, sampleEvery: 100, checkpointEvery: 100, searchEvery: 1, searchRows: 72 },
  });
  const out = mkdtempSync(join(tmpdir(), 'ccig-flipflop-'));
  await train({ config: cfg, data, outDir: out, grids: false });
  const searches: { step: number; edges: [string, string][]; gain: number; switched: boolean }[] =
    readFileSync(join(out, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).search);
  assert.equal(searches.length, 13);
  const graph = (s: (typeof searches)[number]) => JSON.stringify(s.edges.map(String).sort());
  for (const [i, s] of searches.entries()) {
    // every search follows the rule, and the graph changes exactly where one switched
    assert.equal(s.switched, s.gain > SEARCH_SWITCH_MARGIN, `step ${s.step}: gain ${s.gain}`);
    if (i > 0 && searches[i - 1].step !== s.step)
      assert.equal(graph(s) !== graph(searches[i - 1]), s.switched, `step ${s.step}`);
  }
  // the case this is about happened: a search found a better graph, but not by the margin, and kept the current one
  assert.ok(
    searches.some((s) => !s.switched && s.gain > 0),
    `no near tie among ${searches.length} searches: ${searches.map((s) => s.gain.toFixed(3)).join(', ')}`,
  );
});

// --- searchStructure (src/causal/search.ts): equivalence classes, constraints, scale, reading error

/** The score of a DAG under a local scorer: the sum of its nodes' scores. */
function dagScore(scorer: ReturnType<typeof localScorer>, A: number[][]): number {
  return A.reduce(
    (s, _, j) =>
      s +
      scorer.score(
        j,
        A.flatMap((row, i) => (row[j] ? [i] : [])),
      ),
    0,
  );
}

test('search: a linear-Gaussian chain comes back undirected, a v-structure oriented (both scores)', () => {
  const n = 1000;
  const rng = new Rng(3);
  const chainValues = new Float64Array(n * 3);
  const collider = new Float64Array(n * 3);
  for (let r = 0; r < n; r++) {
    const a = rng.normal();
    const b = 0.8 * a + rng.normal();
    chainValues.set([a, b, -0.9 * b + rng.normal()], r * 3);
    const x = rng.normal();
    const z = rng.normal();
    collider.set([x, 0.8 * x - 0.7 * z + 0.6 * rng.normal(), z], r * 3);
  }
  const pairs = (found: ReturnType<typeof searchStructure>) =>
    found.edges
      .map((e) => `${[e.from, e.to].sort().join('')}:${e.directed ? `${e.from}>${e.to}` : 'undirected'}`)
      .sort();
  for (const score of ['knn', 'linear'] as const) {
    const chained = searchStructure(chainValues, n, 3, { score });
    assert.deepEqual(pairs(chained), ['x0x1:undirected', 'x1x2:undirected'], score);
    assert.deepEqual(chained.adjacency, [
      [0, 1, 0],
      [1, 0, 1],
      [0, 1, 0],
    ]);
    assert.deepEqual(pairs(searchStructure(collider, n, 3, { score })), ['x0x1:x0>x1', 'x1x2:x2>x1'], score);
  }
  // interventions on the chain's middle node orient both of its edges
  const d = chain(1500, 0.3);
  const found = searchStructure(d.values, 1500, 3, { intervened: d.intervened });
  assert.deepEqual(pairs(found), ['x0x1:x0>x1', 'x1x2:x1>x2']);
});

test('exact search = brute force over all 25 DAGs on 3 nodes and all 543 on 4, same score', () => {
  for (const m of [3, 4]) {
    const dags = allDags(m);
    assert.equal(dags.length, m === 3 ? 25 : 543);
    for (const score of ['knn', 'linear'] as const) {
      const w = randomLinearScm(m, 200, { seed: m, density: 0.6 });
      const scorer = localScorer(w.values, 200, m, { score });
      const scores = dags.map((A) => dagScore(scorer, A));
      const best = Math.min(...scores);
      const found = exactSearch(w.values, 200, m, { score });
      assert.ok(Math.abs(found.score - best) < 1e-9, `${m} nodes, ${score}: ${found.score} vs ${best}`);
      assert.ok(Math.abs(dagScore(scorer, found.adjacency) - best) < 1e-9);
      // the greedy search reaches the same optimum on these small tables
      const greedy = searchStructure(w.values, 200, m, { score, method: 'greedy' });
      assert.ok(
        Math.abs(greedy.score - best) < 1e-9,
        `greedy ${m} nodes, ${score}: ${greedy.score} vs ${best}`,
      );
    }
  }
});

test('search: required and forbidden edges are obeyed (exact and greedy); bad constraints refused', () => {
  const d = chain(600, 0);
  for (const method of ['exact', 'greedy'] as const) {
    const free = searchStructure(d.values, 600, 3, { method });
    assert.ok(free.edges.some((e) => [e.from, e.to].sort().join() === 'x0,x1'));
    const forbidden = searchStructure(d.values, 600, 3, {
      method,
      forbidden: [
        ['x0', 'x1'],
        ['x1', 'x0'],
      ],
    });
    assert.ok(!forbidden.edges.some((e) => [e.from, e.to].sort().join() === 'x0,x1'), method);
    const required = searchStructure(d.values, 600, 3, { method, required: [['x2', 'x0']] });
    assert.ok(required.dag[2][0] === 1, `${method}: x2 -> x0 required`);
    // a required direction counts as known: the chain it starts is oriented through Meek's rules
    const oriented = searchStructure(d.values, 600, 3, { method, required: [['x0', 'x1']] });
    assert.deepEqual(
      oriented.edges.map((e) => [e.from, e.to, e.directed]),
      [
        ['x0', 'x1', true],
        ['x1', 'x2', true],
      ],
    );
  }
  assert.throws(
    () => searchStructure(d.values, 600, 3, { required: [['x0', 'q']] }),
    /bad required edge x0 -> q/,
  );
  assert.throws(
    () => searchStructure(d.values, 600, 3, { required: [['x0', 'x1']], forbidden: [['x0', 'x1']] }),
    /x0 -> x1 is required but not allowed/,
  );
  assert.throws(
    () =>
      searchStructure(d.values, 600, 3, {
        required: [
          ['x0', 'x1'],
          ['x1', 'x0'],
        ],
      }),
    /required edges make a cycle: x0 -> x1 -> x0/,
  );
});

test('reading error: the corrected linear score recovers the graph the uncorrected one misses', () => {
  // seed 3 of scripts/structure-reading-error.ts: 6 nodes, 2000 rows, values read with 15% noise
  const noise = 0.15;
  const w = randomLinearScm(6, 2000, { seed: 3, readingError: noise, density: 0.4 });
  const cpdagOf = (A: number[][]) => searchStructureMarks(A);
  const truth = cpdagOf(w.adjacency);
  const plain = searchStructure(w.values, 2000, 6, { score: 'linear' });
  const corrected = searchStructure(w.values, 2000, 6, {
    score: 'linear',
    readingError: noise / Math.sqrt(1 + noise ** 2),
  });
  assert.equal(compareGraphs(truth, corrected.adjacency).shd, 0, JSON.stringify(corrected.edges));
  assert.ok(compareGraphs(w.adjacency, plain.dag).extra >= 1, JSON.stringify(plain.edges));
  // without reading error the linear score finds the graph as it is
  const clean = searchStructure(w.truth, 2000, 6, { score: 'linear' });
  assert.equal(compareGraphs(truth, clean.adjacency).shd, 0);
  assert.throws(
    () => searchStructure(w.values, 2000, 6, { readingError: 0.1 }),
    /readingError needs the linear score/,
  );
});

test('search scales past the exact limit: 40 attributes by the greedy search, close to the true class', () => {
  assert.equal(EXACT_SEARCH_MAX_NODES, 16);
  assert.ok(MAX_STRUCTURE_NODES >= 40);
  const w = randomLinearScm(40, 1000, { seed: 1, density: 0.06 });
  const found = searchStructure(w.values, 1000, 40, { score: 'linear' });
  assert.equal(found.method, 'greedy');
  const truth = searchStructureMarks(w.adjacency);
  const edges = w.adjacency.flat().filter(Boolean).length;
  const shd = compareGraphs(truth, found.adjacency).shd;
  assert.ok(shd <= edges / 5, `CPDAG SHD ${shd} for ${edges} true edges`);
  assert.ok(
    found.score <= found.scoreWithin(w.adjacency) + 1e-9,
    'no worse than the true graph by the score',
  );
  assert.throws(
    () => searchStructure(new Float64Array(2 * 65), 2, 65),
    new RegExp(`at most ${MAX_STRUCTURE_NODES} attributes`),
  );
});

test('search: stability counts the subsamples that join a pair and give it the same mark', () => {
  const d = chain(800, 0.3);
  const found = searchStructure(d.values, 800, 3, { intervened: d.intervened, resamples: 4, seed: 2 });
  assert.equal(found.resamples, 4);
  for (const e of found.edges) {
    assert.ok(e.stability !== undefined && e.markStability !== undefined);
    assert.ok(e.markStability <= e.stability && e.stability <= 1);
    assert.equal(Math.round(e.stability * 4), e.stability * 4, 'a share of 4 subsamples');
  }
  // a pair with no dependence at all is never joined
  const rng = new Rng(5);
  const noise = Float64Array.from({ length: 400 * 2 }, () => rng.normal());
  assert.deepEqual(searchStructure(noise, 400, 2, { resamples: 3 }).edges, []);
});

test('ccig structure: a table in, every edge determined or not; --json; bad edges exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ccig-structure-'));
  const d = chain(500, 0);
  const rows = ['a,b,c'];
  for (let r = 0; r < 500; r++)
    rows.push(Array.from(d.values.subarray(r * 3, r * 3 + 3), (v) => v.toFixed(5)).join(','));
  const csv = join(dir, 'chain.csv');
  writeFileSync(csv, `${rows.join('\n')}\n`);
  const ccig = (...args: string[]) =>
    spawnSync(process.execPath, ['bin/ccig.js', 'structure', csv, ...args], {
      encoding: 'utf8',
      timeout: 120_000,
    });
  const json = ccig('--json', '--resamples', '2');
  assert.equal(json.status, 0, json.stderr);
  const out = JSON.parse(json.stdout) as {
    nodes: string[];
    edges: { from: string; to: string; directed: boolean; stability: number }[];
  };
  assert.deepEqual(out.nodes, ['a', 'b', 'c']);
  assert.deepEqual(
    out.edges.map((e) => [[e.from, e.to].sort().join(''), e.directed]),
    [
      ['ab', false],
      ['bc', false],
    ],
  );
  for (const e of out.edges) assert.ok(e.stability >= 0 && e.stability <= 1);
  const text = ccig('--resamples', '0', '--require', 'a->b');
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /a -> b {2}determined/);
  assert.match(text.stdout, /b -> c {2}determined/);
  const undetermined = ccig('--resamples', '0');
  assert.match(undetermined.stdout, / -- .*undetermined/);
  const bad = ccig('--require', 'a->zz');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /bad required edge a -> zz/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
  const missing = spawnSync(process.execPath, ['bin/ccig.js', 'structure', join(dir, 'none.csv')], {
    encoding: 'utf8',
  });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /none\.csv does not exist/);
});

test('config: scm.required / scm.forbidden name attributes and need a learned exact search', () => {
  const attributes = ['a', 'b', 'c'];
  const ok = resolveConfig('tiny', {
    attributes,
    scm: { structure: 'learned', search: 'exact', edges: [], required: [['a', 'b']] },
  });
  assert.deepEqual(ok.scm.required, [['a', 'b']]);
  assert.throws(
    () =>
      resolveConfig('tiny', {
        attributes,
        scm: { structure: 'learned', search: 'exact', edges: [], forbidden: [['a', 'q']] },
      }),
    /scm.forbidden edge a -> q names 'q', not an attribute/,
  );
  assert.throws(
    () =>
      resolveConfig('tiny', {
        attributes,
        scm: { structure: 'given', edges: [['a', 'b']], required: [['a', 'b']] },
      }),
    /scm.required constrains a learned graph's search/,
  );
});

/** The CPDAG of a DAG as one matrix (both entries 1 for an undirected edge). */
function searchStructureMarks(A: number[][]): number[][] {
  const g = essentialGraph(A);
  const M = g.directed.map((r) => [...r]);
  for (const [i, j] of g.undirected) {
    M[i][j] = 1;
    M[j][i] = 1;
  }
  return M;
}

test('edge threshold: one meaning, the standardized effect, for linear and MLP parents (#24 item 10)', () => {
  assert.equal(EDGE_THRESHOLD, 0.3);
  // linear: u0 -> u2 with A = 0.31 beside u1 -> u2 with A = 2: |A| is above 0.3, but a standard
  // deviation of u0 moves u2 by 0.31 / sd(u2) = 0.31 / sqrt(0.31^2 + 4 + 1) = 0.137 of its sd
  const linear = new ScmPrior({ nodes: ['u0', 'u1', 'u2'], mode: 'learned', mechanism: 'linear' });
  torch.noGrad(() =>
    linear.stateDict().A.copy_(
      torch.tensor([
        [0, 0, 0.31],
        [0, 0, 2],
        [0, 0, 0],
      ]),
    ),
  );
  const effect = linear.standardizedEffects();
  const sd2 = Math.sqrt(0.31 ** 2 + 4 + 1);
  assert.ok(Math.abs(effect[0][2] - 0.31 / sd2) < 0.01, `${effect[0][2]} vs ${0.31 / sd2}`);
  assert.ok(Math.abs(effect[1][2] - 2 / sd2) < 0.03, `${effect[1][2]} vs ${2 / sd2}`);
  assert.deepEqual(
    linear.edges().map((e) => [e.from, e.to, e.weight]),
    [['u1', 'u2', 2]],
    'the 0.31 coefficient is not an edge; the weight reported is still A',
  );
  linear.dispose();
  // MLP: the mean |d parents_j / d u_i| (checked by finite differences of the residual) times sd_i / sd_j
  const mlp = new ScmPrior({ nodes: ['a', 'b', 'c'], mode: 'learned', mechanism: 'linear', parents: 'mlp' });
  const rng = new Rng(2);
  const n = 300;
  const rows = Float32Array.from({ length: n * 3 }, (_, k) => (1 + (k % 3)) * rng.normal());
  const measured = torch.scope(() => mlp.standardizedEffects(torch.tensor(rows, { shape: [n, 3] })));
  const residual = (x: Float32Array) =>
    torch.scope(() => torch.noGrad(() => mlp.residual(torch.tensor(x, { shape: [n, 3] })).toNumbers()));
  const base = residual(rows);
  const sd = [0, 1, 2].map((j) => columnSd(Float64Array.from(rows), 3, j));
  const h = 1e-2;
  for (let i = 0; i < 3; i++) {
    const moved = Float32Array.from(rows, (v, k) => (k % 3 === i ? v + h : v));
    const after = residual(moved);
    for (let j = 0; j < 3; j++) {
      if (i === j) continue;
      let slope = 0;
      for (let r = 0; r < n; r++) slope += Math.abs((after[r * 3 + j] - base[r * 3 + j]) / h);
      const expected = ((slope / n) * sd[i]) / sd[j];
      assert.ok(
        Math.abs(measured[i][j] - expected) < 0.02 * Math.max(1, expected),
        `${i} -> ${j}: ${measured[i][j]} vs ${expected}`,
      );
    }
  }
  mlp.dispose();
});
