// One structure search on a random linear-Gaussian SCM of many attributes (issue #26 item 3):
// method, CPDAG SHD against the truth, score against the true graph's, wall and CPU seconds.
//   node --import tsx scripts/structure-scale.ts [--m 40] [--n 2000] [--score knn] [--seed 1]
import { parseArgs } from 'node:util';
import { essentialGraph } from '../src/causal/essential-graph.ts';
import { compareGraphs } from '../src/causal/graph.ts';
import { SCORES, type ScoreKind } from '../src/causal/local-score.ts';
import { searchStructure } from '../src/causal/search.ts';
import { randomLinearScm } from '../test/helpers/random-scm.ts';

const { values: a } = parseArgs({
  options: {
    m: { type: 'string', default: '40' },
    n: { type: 'string', default: '2000' },
    score: { type: 'string', default: 'knn' },
    seed: { type: 'string', default: '1' },
    density: { type: 'string', default: '0.06' },
  },
});
const m = Number(a.m);
const n = Number(a.n);
const score = a.score as ScoreKind;
if (!SCORES.includes(score)) throw new Error(`--score: one of ${SCORES.join(', ')}`);
const w = randomLinearScm(m, n, { seed: Number(a.seed), density: Number(a.density) });
const marks = (A: number[][]) => {
  const g = essentialGraph(A);
  const M = g.directed.map((r) => [...r]);
  for (const [i, j] of g.undirected) M[i][j] = M[j][i] = 1;
  return M;
};
const wall = performance.now();
const cpu = process.cpuUsage();
const found = searchStructure(w.values, n, m, { score });
const used = process.cpuUsage(cpu);
console.log(
  JSON.stringify({
    m,
    n,
    score,
    method: found.method,
    trueEdges: w.adjacency.flat().filter(Boolean).length,
    found: found.edges.length,
    undetermined: found.edges.filter((e) => !e.directed).length,
    cpdagShd: compareGraphs(marks(w.adjacency), found.adjacency).shd,
    score_found: Number(found.score.toFixed(3)),
    score_truth: Number(found.scoreWithin(w.adjacency).toFixed(3)),
    wallSeconds: Number(((performance.now() - wall) / 1000).toFixed(1)),
    cpuSeconds: Number(((used.user + used.system) / 1e6).toFixed(1)),
  }),
);
