// Can a world's graph be learned from its labels alone, as the encoder's causal latents would
// show them? Runs src/causal/structure.ts (the SCM prior's standardized, regime-masked score,
// NOTEARS augmented Lagrangian) on the true labels of a world dataset, represented as the latents
// each supervision trains: `bce` (logit of min-max scaled labels, the BCE target) or `mse`
// (labels in standardized units), plus a little Gaussian noise (the encoder is not exact).
//
//   node --import tsx scripts/structure-from-labels.ts [--world pendulum] [--repr mse|bce]
//     [--interventional 0.2] [--parents mlp|linear] [--seeds 0,1,2] [--n 2000] [--steps 2000]
//     [--score nv|ls] [--l1 0.01] [--noise 0.05] [--search notears|exact] [--edge-cost 0.02]
//
// --search exact runs src/causal/exact-search.ts instead (the best DAG of the masked likelihood
// score over every DAG, k-NN fits; --parents, --steps, --score and --l1 do not apply).
//
// Prints one line per seed: SHD / TPR / FDR against the world's graph and the edges found.
// Findings are recorded in docs/results/structure.md.
import { parseArgs } from 'node:util';
import { exactSearch } from '../src/causal/exact-search.ts';
import { compareGraphs } from '../src/causal/graph.ts';
import type { StructureScore } from '../src/causal/scm.ts';
import { superGraphMask } from '../src/causal/scm.ts';
import { learnStructure } from '../src/causal/structure.ts';
import { Rng } from '../src/data/rng.ts';
import { generateWorldDataset, worldByName } from '../src/data/world-dataset.ts';
import * as torch from '../src/torch/index.ts';

const { values: a } = parseArgs({
  options: {
    world: { type: 'string', default: 'pendulum' },
    repr: { type: 'string', default: 'mse' },
    interventional: { type: 'string', default: '0' },
    parents: { type: 'string', default: 'mlp' },
    seeds: { type: 'string', default: '0' },
    n: { type: 'string', default: '2000' },
    steps: { type: 'string', default: '2000' },
    score: { type: 'string', default: 'nv' },
    l1: { type: 'string' },
    noise: { type: 'string', default: '0.05' },
    search: { type: 'string', default: 'notears' },
    'edge-cost': { type: 'string' },
  },
});
torch.setNumThreads(1);
const world = worldByName(a.world!);
const n = Number(a.n);
const m = world.names.length;
const LABEL_EPS = 1e-3; // as the model's labelToLatent
for (const seed of a.seeds!.split(',').map(Number)) {
  const ds = generateWorldDataset(world, {
    count: n,
    imageSize: 8,
    seed: seed + 1,
    interventional: Number(a.interventional),
  });
  const rng = new Rng(seed, 99);
  const latent = new Float64Array(n * m);
  ds.attributes.forEach((att, j) => {
    for (let r = 0; r < n; r++) {
      const y = ds.values[r * m + j];
      let v: number;
      if (a.repr === 'bce') {
        const s = Math.min(1 - LABEL_EPS, Math.max(LABEL_EPS, (y - att.min) / (att.max - att.min)));
        v = Math.log(s / (1 - s));
      } else v = (y - att.mean!) / att.std!;
      latent[r * m + j] = v;
    }
  });
  // noise in each column's own standard deviation, as an imperfect encoder would add
  for (let j = 0; j < m; j++) {
    let s = 0;
    let s2 = 0;
    for (let r = 0; r < n; r++) {
      s += latent[r * m + j];
      s2 += latent[r * m + j] ** 2;
    }
    const sd = Math.sqrt(s2 / n - (s / n) ** 2);
    for (let r = 0; r < n; r++) latent[r * m + j] += Number(a.noise) * sd * rng.normal();
  }
  const parents = a.parents as 'linear' | 'mlp';
  const t0 = performance.now();
  const res =
    a.search === 'exact'
      ? exactFound(latent, ds.intervened)
      : learnStructure(latent, n, m, {
          nodes: world.names,
          intervened: ds.intervened,
          parents,
          steps: Number(a.steps),
          score: a.score as StructureScore,
          l1: a.l1 !== undefined ? Number(a.l1) : undefined,
          seed,
        });
  const ms = Math.round(performance.now() - t0);
  const c = compareGraphs(superGraphMask(world.names, world.edges()), res.adjacency, { threshold: 0.3 });
  console.log(
    [
      a.search === 'exact'
        ? `${a.world} repr=${a.repr} do=${a.interventional} search=exact seed=${seed}:`
        : `${a.world} repr=${a.repr} do=${a.interventional} parents=${parents} score=${a.score} seed=${seed}:`,
      `SHD ${c.shd} TPR ${c.tpr.toFixed(2)} FDR ${c.fdr.toFixed(2)} h ${res.h.toExponential(1)} ${ms} ms |`,
      res.edges.map((e) => `${e.from}->${e.to} ${e.weight.toFixed(2)}`).join(', ') || 'no edges',
    ].join(' '),
  );
}

/** The exact search's graph in learnStructure's shape (weights 1: it has no weights). */
function exactFound(latent: Float64Array, intervened: Uint8Array) {
  const edgeCost = a['edge-cost'] !== undefined ? Number(a['edge-cost']) : undefined;
  const found = exactSearch(latent, n, m, { nodes: world.names, intervened, edgeCost });
  return {
    adjacency: found.adjacency,
    edges: found.edges.map(([from, to]) => ({ from, to, weight: 1 })),
    h: 0,
  };
}
