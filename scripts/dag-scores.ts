// Is a world's graph identified by a regression score on its observational labels? Scores every
// DAG over the world's factors (543 for four) without any optimizer, so a failure here is the
// score's, not a search's: each node's residual variance given its parents comes from
// leave-one-out k-nearest-neighbour regression on standardized labels (a nonparametric fit, so
// nonlinear mechanisms are fitted as well as linear ones). Scores, lower is better:
//   ls  sum over nodes of the residual variance in standardized units (what the SCM prior's
//       standardized squared-residual score estimates);
//   nv  sum over nodes of the log residual variance (Gaussian likelihood with a variance per
//       node, as GOLEM-NV and CAM; scale-free for any transform of a single column's units).
// Each edge costs `--edge-cost` (default 0.01), as an L1 penalty would.
//   node --import tsx scripts/dag-scores.ts [--world garden] [--n 1500] [--k 25] [--seed 1]
//     [--labels identity|logit] [--top 5]
// Prints, per score, the rank of the true graph, the best DAGs and the best DAG that is not the
// true graph plus extra edges. Findings: docs/results/structure.md.
import { parseArgs } from 'node:util';
import { knnResidualVariance } from '../src/causal/exact-search.ts';
import { compareGraphs } from '../src/causal/graph.ts';
import { generateWorldDataset, worldByName } from '../src/data/world-dataset.ts';

const { values: opt } = parseArgs({
  options: {
    world: { type: 'string', default: 'garden' },
    n: { type: 'string', default: '1500' },
    k: { type: 'string', default: '25' },
    seed: { type: 'string', default: '1' },
    labels: { type: 'string', default: 'identity' },
    'edge-cost': { type: 'string', default: '0.01' },
    top: { type: 'string', default: '5' },
    interventional: { type: 'string', default: '0' },
    jitter: { type: 'string', default: '0' },
  },
});
const world = worldByName(opt.world);
const n = Number(opt.n);
const k = Number(opt.k);
const edgeCost = Number(opt['edge-cost']);
const m = world.names.length;
if (m > 5) throw new Error(`${world.name} has ${m} factors; enumerating DAGs is meant for at most 5`);
if (!['identity', 'logit'].includes(opt.labels)) throw new Error('--labels must be identity or logit');
const ds = generateWorldDataset(world, {
  count: n,
  imageSize: 8,
  seed: Number(opt.seed),
  interventional: Number(opt.interventional),
});
// --jitter: label noise in standardized units (an encoder's error), seeded
let jitterState = 12345;
const gauss = () => {
  const u = () => {
    jitterState = (jitterState * 1103515245 + 12345) % 2147483648;
    return (jitterState + 0.5) / 2147483648;
  };
  return Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
};
const jitter = Number(opt.jitter);

// Columns, transformed (logit of the min-max scaled label, as a BCE-supervised latent) and standardized.
const cols = world.factors.map((f, j) => {
  const c = Float64Array.from({ length: n }, (_, r) => {
    const y = ds.values[r * m + j];
    if (opt.labels === 'identity') return y;
    const s = Math.min(0.99, Math.max(0.01, (y - f.min) / (f.max - f.min)));
    return Math.log(s / (1 - s));
  });
  const mean = c.reduce((s, v) => s + v, 0) / n;
  const sd = Math.sqrt(c.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
  return c.map((v) => (v - mean) / sd + jitter * gauss());
});
// DCDI's masking: node j's mechanism is fitted and scored only on rows where j was not set by do()
const scoredRows = world.names.map((_, j) =>
  Int32Array.from({ length: n }, (_, r) => r).filter((r) => ds.intervened[r * m + j] === 0),
);

/** Leave-one-out k-NN residual variance of column j given the columns `ps` (the exact search's fit). */
const cache = new Map<string, number>();
function residualVariance(j: number, ps: number[]): number {
  const key = `${j}:${ps.join(',')}`;
  const hit = cache.get(key) ?? knnResidualVariance(cols, scoredRows[j], j, ps, k);
  cache.set(key, hit);
  return hit;
}

// Every DAG: one parent set per node, kept when the graph is acyclic.
const parentSets = world.names.map((_, j) => {
  const others = world.names.map((_, i) => i).filter((i) => i !== j);
  return Array.from({ length: 1 << others.length }, (_, b) => others.filter((_, t) => (b >> t) & 1));
});
function acyclic(pa: number[][]): boolean {
  const placed = new Set<number>();
  for (let grew = true; grew; ) {
    grew = false;
    for (let j = 0; j < m; j++)
      if (!placed.has(j) && pa[j].every((p) => placed.has(p))) {
        placed.add(j);
        grew = true;
      }
  }
  return placed.size === m;
}
interface Scored {
  parents: number[][];
  ls: number;
  nv: number;
}
const dags: Scored[] = [];
const choose = (j: number, pa: number[][]): void => {
  if (j === m) {
    if (!acyclic(pa)) return;
    const rv = pa.map((ps, i) => residualVariance(i, ps));
    const edges = pa.reduce((s, ps) => s + ps.length, 0);
    dags.push({
      parents: pa.map((ps) => [...ps]),
      ls: rv.reduce((s, v) => s + v, 0) + edgeCost * edges,
      nv: rv.reduce((s, v) => s + Math.log(v), 0) + edgeCost * edges,
    });
    return;
  }
  for (const ps of parentSets[j]) choose(j + 1, [...pa, ps]);
};
choose(0, []);

const adjacency = (pa: number[][]) =>
  world.names.map((_, i) => world.names.map((_, j) => (pa[j].includes(i) ? 1 : 0)));
const truth = world.adjacency();
const show = (d: Scored) =>
  d.parents.flatMap((ps, j) => ps.map((p) => `${world.names[p]} -> ${world.names[j]}`)).join(', ') ||
  'no edges';
const isTrue = (d: Scored) => compareGraphs(truth, adjacency(d.parents)).shd === 0;
// true graph plus extra edges: every true edge present
const isSuper = (d: Scored) =>
  compareGraphs(truth, adjacency(d.parents)).truePositive === world.edges().length;

console.log(
  `${world.name}: ${dags.length} DAGs, ${n} samples (${Number(opt.interventional) * 100}% interventional, jitter ${jitter}, seed ${opt.seed}), labels ${opt.labels}, ${k}-NN, edge cost ${edgeCost}`,
);
for (const score of ['ls', 'nv'] as const) {
  dags.sort((a, b) => a[score] - b[score]);
  const rank = dags.findIndex(isTrue);
  const best = dags[0];
  const c = compareGraphs(truth, adjacency(best.parents));
  console.log(
    `\n${score}: true graph ranks ${rank + 1} of ${dags.length} (score ${dags[rank][score].toFixed(3)}); best: SHD ${c.shd} (${show(best)})`,
  );
  for (const d of dags.slice(0, Number(opt.top))) console.log(`  ${d[score].toFixed(3)}  ${show(d)}`);
  const rival = dags.find((d) => !isSuper(d))!;
  console.log(
    `  best graph missing or reversing a true edge: ${rival[score].toFixed(3)} (+${(rival[score] - dags[rank][score]).toFixed(3)})  ${show(rival)}`,
  );
}
