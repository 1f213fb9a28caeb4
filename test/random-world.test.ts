/**
 * The random world and the structure benchmark's scoring: seeded graphs of the family and degree
 * asked for, the four mechanism families (re-derived here from the formulas in random-scm.ts's
 * header, not imported), exact do() through the World, a renderer monotone in every node, the
 * factor sheet, the CLI, and the benchmark's graph scores.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import {
  type FoundEdge,
  fromNamedEdges,
  runStructureBench,
  scoreGraph,
  structureTable,
} from '../bench/structure.ts';
import { compareGraphs, descendants, findCycle } from '../src/causal/graph.ts';
import { factorSheet } from '../src/data/contact-sheet.ts';
import {
  applyMechanism,
  type EdgeMechanism,
  MECHANISM_FAMILIES,
  NOISE_SHARE_RANGE,
  type RandomScm,
  randomDag,
  randomScm,
} from '../src/data/random-scm.ts';
import {
  cellCentre,
  RANDOM_SCENE,
  randomWorld,
  randomWorldGrid,
  VISUAL_PROPERTIES,
  type VisualProperty,
} from '../src/data/random-world.ts';
import { Rng } from '../src/data/rng.ts';
import { generateWorldDataset } from '../src/data/world-dataset.ts';
import { OptionError } from '../src/errors.ts';

/** The mechanism formulas of random-scm.ts's header, written out again. */
function formula(e: EdgeMechanism, t: number): number {
  if (e.family === 'linear') return e.w * (2 * t - 1);
  if (e.family === 'monotone') return e.w * (2 * t ** e.p! - 1);
  if (e.family === 'nonmonotone') return e.w * (1 - 2 * ((t - e.c!) / Math.max(e.c!, 1 - e.c!)) ** 2);
  return e.w * (2 / (1 + Math.exp(-(t - e.c!) / e.tau!)) - 1);
}

/** Node j's value from the parents in x and its noise, by the header's equation. */
function childByFormula(scm: RandomScm, j: number, x: ArrayLike<number>, u: number): number {
  const nd = scm.nodes[j];
  const s = nd.mechanisms.reduce((a, e) => a + formula(e, x[e.parent]), 0);
  return (s - nd.lo) / (nd.hi - nd.lo) + u;
}

function edgeCount(A: readonly (readonly number[])[]): number {
  return A.reduce((s, row) => s + row.reduce((a, v) => a + v, 0), 0);
}

function sd(v: ArrayLike<number>): number {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < v.length; i++) {
    s += v[i];
    s2 += v[i] ** 2;
  }
  return Math.sqrt(s2 / v.length - (s / v.length) ** 2);
}

describe('random SCM', () => {
  it('is reproducible from its options, and different for another graph seed', () => {
    const o = { graphSeed: 7, nodes: 9, graph: 'sf' as const, degree: 1.7 };
    const a = randomScm(o);
    const b = randomScm(o);
    assert.deepEqual(a.adjacency, b.adjacency);
    assert.deepEqual(a.nodes, b.nodes);
    assert.deepEqual(
      a.sampleTable({ count: 50, seed: 3, interventional: 0.3 }),
      b.sampleTable({ count: 50, seed: 3, interventional: 0.3 }),
    );
    const others = [8, 9, 10].map((graphSeed) => randomScm({ ...o, graphSeed }));
    assert.ok(others.some((c) => JSON.stringify(c.adjacency) !== JSON.stringify(a.adjacency)));
    assert.ok(others.every((c) => JSON.stringify(c.nodes) !== JSON.stringify(a.nodes)));
  });

  it('draws DAGs with the expected degree asked for, scale-free ones with hubs, in a random node order', () => {
    for (const graph of ['er', 'sf'] as const)
      for (const [nodes, degree] of [
        [8, 1],
        [8, 2],
        [12, 1.5],
        [3, 2],
      ] as const) {
        let total = 0;
        const seeds = 300;
        for (let g = 0; g < seeds; g++) {
          const A = randomDag(nodes, graph, degree, new Rng(g, 1));
          assert.equal(findCycle(A), null);
          total += (2 * edgeCount(A)) / nodes;
        }
        const mean = total / seeds;
        assert.ok(Math.abs(mean - degree) < 0.1, `${graph} ${nodes} nodes degree ${degree}: mean ${mean}`);
      }
    // preferential attachment: the best-connected node has more neighbours than in ER
    const maxDegree = (graph: 'er' | 'sf') => {
      let s = 0;
      for (let g = 0; g < 200; g++) {
        const A = randomDag(12, graph, 2, new Rng(g, 1));
        s += Math.max(...A.map((row, i) => row.reduce((a, v, j) => a + v + A[j][i], 0)));
      }
      return s / 200;
    };
    const [er, sf] = [maxDegree('er'), maxDegree('sf')];
    assert.ok(sf > er + 0.5, `mean largest degree: sf ${sf}, er ${er}`);
    // names say nothing of the causal order: edges run from lower to higher index about half the time
    let forward = 0;
    let all = 0;
    for (let g = 0; g < 300; g++) {
      const A = randomDag(6, g % 2 ? 'sf' : 'er', 1.5, new Rng(g, 1));
      for (let i = 0; i < 6; i++)
        for (let j = 0; j < 6; j++) {
          all += A[i][j];
          if (i < j) forward += A[i][j];
        }
    }
    assert.ok(Math.abs(forward / all - 0.5) < 0.08, `forward share ${forward / all}`);
    // the SCM's graph is that DAG, drawn from the graph seed's first stream
    for (const graph of ['er', 'sf'] as const)
      for (let g = 0; g < 5; g++)
        assert.deepEqual(
          randomScm({ graphSeed: g, nodes: 7, graph, degree: 2 }).adjacency,
          randomDag(7, graph, 2, new Rng(g, 1)),
        );
  });

  it('rejects options outside their ranges with one clear message', () => {
    assert.throws(() => randomScm({ nodes: 2 }), /\[3, 12\] for nodes/);
    assert.throws(() => randomScm({ nodes: 13 }), OptionError);
    assert.throws(() => randomScm({ nodes: 4, degree: 3.5 }), /degree in \(0, 3\]/);
    assert.throws(() => randomScm({ degree: 0 }), OptionError);
    assert.throws(() => randomScm({ graph: 'ba' as 'er' }), /er, sf for graph/);
    assert.throws(() => randomScm({ graphSeed: -1 }), OptionError);
    assert.throws(() => randomScm({ mechanisms: [] }), OptionError);
  });

  it('draws every mechanism family equally often, each with its shape, and noise at the stated share', () => {
    const counts = Object.fromEntries(MECHANISM_FAMILIES.map((f) => [f, 0]));
    const grid = Array.from({ length: 201 }, (_, k) => k / 200);
    let edges = 0;
    for (let g = 0; g < 60; g++) {
      const scm = randomScm({ graphSeed: g, nodes: 8, degree: 2 });
      for (const nd of scm.nodes)
        for (const e of nd.mechanisms) {
          edges++;
          counts[e.family]++;
          const f = grid.map((t) => applyMechanism(e, t));
          for (const [k, t] of grid.entries()) assert.ok(Math.abs(f[k] - formula(e, t)) < 1e-12);
          assert.ok(Math.abs(e.w) >= 0.5 && Math.abs(e.w) <= 1.5);
          const steps = f.slice(1).map((v, k) => v - f[k]);
          const rising = steps.every((d) => d > 0);
          const falling = steps.every((d) => d < 0);
          if (e.family === 'linear') assert.ok(steps.every((d) => Math.abs(d - steps[0]) < 1e-12));
          if (e.family === 'monotone') {
            assert.ok(rising || falling);
            // not a straight line: the middle is off the chord by at least a tenth of the range
            assert.ok(Math.abs(f[100] - (f[0] + f[200]) / 2) > 0.1 * Math.abs(f[200] - f[0]));
          }
          if (e.family === 'nonmonotone') {
            assert.ok(!rising && !falling);
            assert.ok(e.c! >= 0.3 && e.c! <= 0.7);
          }
          if (e.family === 'threshold') {
            assert.ok(rising || falling);
            // most of the change happens within 3 tau of the threshold
            const near = (t: number) => applyMechanism(e, t);
            const inside = Math.abs(near(e.c! + 3 * e.tau!) - near(e.c! - 3 * e.tau!));
            assert.ok(inside > 0.85 * Math.abs(f[200] - f[0]));
          }
        }
    }
    for (const f of MECHANISM_FAMILIES)
      assert.ok(Math.abs(counts[f] / edges - 0.25) < 0.07, `${f}: ${counts[f]} of ${edges}`);
    // the noise's share of each child's sd, measured on a large sample (truncation at 2.5 sd
    // trims the noise's sd by 5%), and every value inside [0, 1]
    const scm = randomScm({ graphSeed: 4, nodes: 8, degree: 2 });
    const n = 20000;
    const m = scm.size;
    const x = new Float64Array(n * m);
    const u = new Float64Array(n * m);
    for (let k = 0; k < n; k++) {
      const noise = scm.sampleNoise(new Rng(11, k));
      u.set(noise, k * m);
      x.set(scm.solve(noise), k * m);
    }
    assert.ok(x.every((v) => v >= 0 && v <= 1));
    let children = 0;
    for (const [j, nd] of scm.nodes.entries()) {
      if (!nd.parents.length) continue;
      children++;
      assert.ok(nd.noiseShare >= NOISE_SHARE_RANGE[0] && nd.noiseShare <= NOISE_SHARE_RANGE[1]);
      const col = (a: Float64Array) => Float64Array.from({ length: n }, (_, k) => a[k * m + j]);
      const share = sd(col(u)) / sd(col(x));
      assert.ok(
        share > 0.88 * nd.noiseShare && share < 1.05 * nd.noiseShare,
        `${nd.name}: ${share} vs ${nd.noiseShare}`,
      );
    }
    assert.ok(children >= 3);
  });
});

describe('random world', () => {
  it('obeys do() exactly: the value set, descendants by the mechanisms with the abducted noise, the rest unchanged', () => {
    for (const [graphSeed, nodes, graph] of [
      [1, 5, 'er'],
      [2, 8, 'sf'],
      [3, 12, 'sf'],
      [4, 12, 'er'],
    ] as const) {
      const world = randomWorld({ graphSeed, nodes, graph, degree: 2 });
      const scm = world.scm;
      const A = world.adjacency();
      assert.deepEqual(
        A,
        scm.adjacency.map((r) => [...r]),
      );
      const rng = new Rng(graphSeed, 99);
      for (let trial = 0; trial < 10; trial++) {
        const factual = world.sample(rng);
        const u = world.abduct(factual.values);
        for (let j = 0; j < nodes; j++) assert.ok(Math.abs(u[j] - factual.noise[j]) < 1e-12);
        const j = rng.int(nodes);
        const v = rng.float();
        // bare values: the noises are recovered by abduction
        const cf = world.counterfactual(Float64Array.from(factual.values), { [`x${j}`]: v }, 16);
        const desc = new Set(descendants(A, j));
        assert.equal(cf.values[j], v);
        assert.deepEqual(new Set(cf.changed), new Set([j, ...desc].map((i) => `x${i}`)));
        const expected = Float64Array.from(factual.values);
        expected[j] = v;
        for (const i of scm.order) if (desc.has(i)) expected[i] = childByFormula(scm, i, expected, u[i]);
        for (let i = 0; i < nodes; i++) {
          if (i === j) continue;
          if (desc.has(i)) assert.ok(Math.abs(cf.values[i] - expected[i]) < 1e-12, `x${i}`);
          else assert.equal(cf.values[i], factual.values[i], `x${i} is not a descendant of x${j}`);
        }
        // the SCM's own do() agrees with the world's
        const own = scm.counterfactual(factual.values, factual.noise, new Map([[j, v]]));
        for (let i = 0; i < nodes; i++) assert.ok(Math.abs(own[i] - cf.values[i]) < 1e-12);
      }
    }
  });

  it('samples interventional datasets with the same labels as the SCM table of that seed', () => {
    const world = randomWorld({ graphSeed: 5, nodes: 6, graph: 'sf' });
    const ds = generateWorldDataset(world, { count: 40, imageSize: 16, seed: 9, interventional: 0.4 });
    const table = world.scm.sampleTable({ count: 40, seed: 9, interventional: 0.4 });
    assert.deepEqual(ds.values, table.values);
    assert.deepEqual(ds.intervened, table.intervened);
    assert.ok(table.intervened.includes(1));
    // an intervened row: its node's value came from elsewhere, its descendants follow it
    const m = 6;
    for (let r = 0; r < 40; r++) {
      const j = table.intervened.subarray(r * m, (r + 1) * m).indexOf(1);
      if (j < 0) continue;
      const row = table.values.subarray(r * m, (r + 1) * m);
      for (const i of world.scm.order) {
        if (i === j) continue;
        const noise = ds.noise[r * m + i];
        if (world.scm.nodes[i].parents.length)
          assert.ok(Math.abs(row[i] - childByFormula(world.scm, i, row, noise)) < 1e-12);
      }
    }
  });

  /** What a person would read off node j's cell: the property's value, from the pixels. */
  function measure(img: Uint8Array, size: number, m: number, j: number, property: VisualProperty): number {
    const { cols, rows } = randomWorldGrid(m);
    const scale = size / Math.max(cols, rows);
    const [cx, cy] = cellCentre(m, j);
    const ox = size / 2 - (cols / 2) * scale;
    const oy = size / 2 + (rows / 2) * scale;
    const x0 = Math.ceil(ox + (cx - 0.5) * scale);
    const x1 = Math.floor(ox + (cx + 0.5) * scale);
    const y0 = Math.ceil(oy - (cy + 0.5) * scale);
    const y1 = Math.floor(oy - (cy - 0.5) * scale);
    let w = 0;
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let syy = 0;
    let sxy = 0;
    const colour = [0, 0, 0];
    let coloured = 0;
    for (let y = y0; y < y1; y++)
      for (let x = x0; x < x1; x++) {
        const k = (y * size + x) * 3;
        const [r, g, b] = [img[k], img[k + 1], img[k + 2]];
        if (Math.max(r, g, b) - Math.min(r, g, b) > 80) {
          colour[0] += r;
          colour[1] += g;
          colour[2] += b;
          coloured++;
        }
        // ink: darker than the grey track (190), weighted by how much darker
        const ink = Math.max(0, 180 - (0.3 * r + 0.59 * g + 0.11 * b));
        w += ink;
        sx += ink * x;
        sy += ink * y;
        sxx += ink * x * x;
        syy += ink * y * y;
        sxy += ink * x * y;
      }
    if (property === 'colour') {
      const [r, g, b] = colour.map((c) => c / coloured);
      const max = Math.max(r, g, b);
      const d = max - Math.min(r, g, b);
      const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
      return (h * 60 + 360) % 360;
    }
    if (property === 'position') return sx / w;
    if (property === 'rotation') {
      const mx = sx / w;
      const my = sy / w;
      const cxx = sxx / w - mx * mx;
      const cyy = syy / w - my * my;
      const cxy = sxy / w - mx * my;
      // the principal axis, as an angle clockwise from vertical (image y points down)
      const a = 0.5 * Math.atan2(2 * cxy, cxx - cyy);
      const [ux, uy] = [Math.cos(a), Math.sin(a)];
      const deg = (Math.atan2(ux, -uy) * 180) / Math.PI;
      return deg > 90 ? deg - 180 : deg < -90 ? deg + 180 : deg;
    }
    return w; // size, thickness, count: the ink grows
  }

  it('draws each node as its visual property, monotonically over [0, 1], without wrap-around, inside its cell', () => {
    const world = randomWorld({ graphSeed: 6, nodes: 6 });
    assert.deepEqual(new Set(world.properties), new Set(VISUAL_PROPERTIES));
    const size = 96;
    const sweep = Array.from({ length: 11 }, (_, k) => k / 10);
    for (let j = 0; j < 6; j++) {
      const base = new Float64Array(6).fill(0.5);
      const images = sweep.map((v) => {
        const x = Float64Array.from(base);
        x[j] = v;
        return world.render(x, size);
      });
      const read = images.map((img) => measure(img, size, 6, j, world.properties[j]));
      for (let k = 1; k < read.length; k++)
        assert.ok(
          read[k] > read[k - 1],
          `${world.properties[j]} of x${j}: ${read.map((r) => r.toFixed(2)).join(' ')}`,
        );
      if (world.properties[j] === 'colour') {
        assert.ok(
          read[0] < 15 && read[10] > 225 && read[10] < 255,
          `hue runs red to blue: ${read[0]} .. ${read[10]}`,
        );
      }
      if (world.properties[j] === 'rotation')
        assert.ok(read[0] < -50 && read[10] > 50, `${read[0]} .. ${read[10]}`);
      // nothing outside the node's cell moves
      const cells = images.map((img) => {
        const copy = Uint8Array.from(img);
        const { cols, rows } = randomWorldGrid(6);
        const scale = size / Math.max(cols, rows);
        const [cx, cy] = cellCentre(6, j);
        for (let y = 0; y < size; y++)
          for (let x = 0; x < size; x++) {
            const sxn = (x + 0.5 - (size / 2 - (cols / 2) * scale)) / scale;
            const syn = (size / 2 + (rows / 2) * scale - (y + 0.5)) / scale;
            if (Math.abs(sxn - cx) < 0.5 && Math.abs(syn - cy) < 0.5)
              copy.fill(0, (y * size + x) * 3, (y * size + x) * 3 + 3);
          }
        return copy;
      });
      for (const c of cells) assert.deepEqual(c, cells[0]);
    }
  });

  it('redraws only the cells of the intervened node and its descendants', () => {
    const world = randomWorld({ graphSeed: 8, nodes: 9, graph: 'sf', degree: 2 });
    const size = 64;
    const { cols, rows } = randomWorldGrid(9);
    const scale = size / Math.max(cols, rows);
    const cellOf = (x: number, y: number) =>
      Math.floor((y + 0.5) / scale) * cols + Math.floor((x + 0.5) / scale);
    const s = world.sample(new Rng(8, 1));
    const before = world.render(s.values, size);
    for (let j = 0; j < 9; j++) {
      const v = s.values[j] > 0.5 ? 0.05 : 0.95;
      const cf = world.counterfactual(s, { [`x${j}`]: v }, size);
      const allowed = new Set([j, ...world.descendants(`x${j}`).map((n) => Number(n.slice(1)))]);
      let changedInCell = 0;
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const k = (y * size + x) * 3;
          const same =
            cf.image[k] === before[k] &&
            cf.image[k + 1] === before[k + 1] &&
            cf.image[k + 2] === before[k + 2];
          if (!same) {
            assert.ok(allowed.has(cellOf(x, y)), `x${j}: pixel (${x}, ${y}) of cell ${cellOf(x, y)} changed`);
            if (cellOf(x, y) === j) changedInCell++;
          }
        }
      assert.ok(changedInCell > 0, `x${j}'s own cell was redrawn`);
    }
    assert.equal(RANDOM_SCENE.inset > 0, true);
  });

  it('has a factor sheet: one row per node, swept over its range', () => {
    const world = randomWorld({ graphSeed: 2, nodes: 5 });
    const sheet = factorSheet(world, { cols: 4, tile: 24, gap: 2 });
    assert.deepEqual(sheet.rows, ['x0', 'x1', 'x2', 'x3', 'x4']);
    assert.equal(sheet.width, 4 * 24 + 5 * 2);
    assert.equal(sheet.height, 5 * 24 + 6 * 2);
    // tile (row 3, column 1) is x3 = 0.375 with the others at 0.5
    const v = new Float64Array(5).fill(0.5);
    v[3] = 0.375;
    const expected = world.render(v, 24);
    const x0 = 2 + 1 * 26;
    const y0 = 2 + 3 * 26;
    for (let y = 0; y < 24; y++)
      assert.deepEqual(
        sheet.pixels.subarray(((y0 + y) * sheet.width + x0) * 3, ((y0 + y) * sheet.width + x0 + 24) * 3),
        expected.subarray(y * 24 * 3, (y + 1) * 24 * 3),
      );
  });

  it('is written by ccig data world and ccig data sheet, and misplaced options are one clear error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ccig-random-'));
    const ccig = (...args: string[]) =>
      spawnSync(process.execPath, ['bin/ccig.js', 'data', ...args], { encoding: 'utf8' });
    try {
      const opts = [
        '--world',
        'random',
        '--graph',
        'sf',
        '--nodes',
        '7',
        '--graph-seed',
        '4',
        '--degree',
        '2',
      ];
      let r = ccig(
        'world',
        ...opts,
        '--count',
        '12',
        '--size',
        '16',
        '--interventional',
        '0.5',
        '--out',
        join(dir, 'w'),
      );
      assert.equal(r.status, 0, r.stderr);
      const meta = JSON.parse(await readFile(join(dir, 'w', 'world.json'), 'utf8'));
      const world = randomWorld({ graphSeed: 4, nodes: 7, graph: 'sf', degree: 2 });
      assert.deepEqual(meta.edges, world.edges());
      assert.match(meta.description, /sf graph, 7 nodes, expected degree 2, graph seed 4/);
      const csv = (await readFile(join(dir, 'w', 'labels.csv'), 'utf8')).trim().split('\n');
      assert.equal(csv[0], 'file,x0,x1,x2,x3,x4,x5,x6,intervened');
      assert.equal(csv.length, 13);
      r = ccig('sheet', ...opts, '--size', '32', '--out', join(dir, 's.png'));
      assert.equal(r.status, 0, r.stderr);
      const png = await sharp(join(dir, 's.png')).metadata();
      assert.equal(png.height, 7 * 32 + 8 * 2);
      r = ccig('world', '--world', 'garden', '--nodes', '4', '--out', join(dir, 'g'));
      assert.equal(r.status, 2);
      assert.match(r.stderr, /--nodes applies only to --world random/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('structure benchmark scores', () => {
  const A = [
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 0],
    [0, 0, 1, 0],
  ]; // 0 -> 1 -> 2 <- 3
  const e = (from: number, to: number, directed = true): FoundEdge => ({ from, to, directed });

  it('counts SHD, orientation and skeleton as defined, and agree with compareGraphs on directed graphs', () => {
    assert.deepEqual(scoreGraph(A, [e(0, 1), e(1, 2), e(3, 2)]), {
      shd: 0,
      skeletonF1: 1,
      oriented: 3,
      orientedRight: 3,
    });
    // one reversed, one undirected (neither right nor wrong, but an SHD error), one missing, one extra
    const s = scoreGraph(A, [e(1, 0), e(1, 2, false), e(0, 3)]);
    assert.equal(s.shd, 4);
    assert.equal(s.oriented, 1);
    assert.equal(s.orientedRight, 0);
    assert.equal(s.skeletonF1, (2 * 2) / (3 + 3));
    // both directions reported: undirected
    assert.deepEqual(scoreGraph(A, [e(0, 1), e(1, 0)]), {
      shd: 3,
      skeletonF1: 0.5,
      oriented: 0,
      orientedRight: 0,
    });
    assert.equal(
      scoreGraph(
        [
          [0, 0],
          [0, 0],
        ],
        [],
      ).skeletonF1,
      1,
    );
    const rng = new Rng(3);
    for (let t = 0; t < 50; t++) {
      const scm = randomScm({ graphSeed: t, nodes: 6, degree: 2 });
      const est = scm.adjacency.map((row) => row.map(() => 0));
      const found: FoundEdge[] = [];
      for (let i = 0; i < 6; i++)
        for (let j = 0; j < 6; j++)
          if (i < j && rng.float() < 0.4) {
            const [a, b] = rng.float() < 0.5 ? [i, j] : [j, i];
            est[a][b] = 1;
            found.push(e(a, b));
          }
      assert.equal(scoreGraph(scm.adjacency, found).shd, compareGraphs(scm.adjacency, est).shd);
    }
    assert.deepEqual(
      fromNamedEdges(
        [
          { from: 'b', to: 'a' },
          { from: 'a', to: 'c', directed: false },
        ],
        ['a', 'b', 'c'],
      ),
      [e(1, 0), e(0, 2, false)],
    );
  });

  it('runs cells of graphs through the methods and prints a Markdown table with intervals', () => {
    const settings = {
      graphs: 3,
      nodes: [3],
      families: ['er' as const, 'sf' as const],
      regimes: [0, 0.2],
      errors: [0.1],
      samples: 80,
      methods: ['search'],
      notearsSteps: 10,
    };
    const results = runStructureBench(settings);
    assert.equal(results.length, 4);
    for (const r of results) {
      assert.equal(r.scores.length, 3);
      assert.ok(r.scores.every((x) => x.shd >= 0 && x.shd <= 3 && x.skeletonF1 >= 0 && x.skeletonF1 <= 1));
    }
    const table = structureTable(results, settings).split('\n');
    assert.equal(table.length, 2 + 4 + 1);
    assert.match(table[2], /^\| er \| 3 \| obs \| 0\.1 \| search \| 3 \| [\d.]+ \[[\d.]+, [\d.]+\] \|/);
    assert.match(table[6], /\*\*search\*\* \(per SCM\) \| 6 \|/);
  });
});
