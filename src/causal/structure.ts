/**
 * Structure learning on a table of values (labels, or an encoder's causal latents), with the
 * same parent models, acyclicity schedule and score as the SCM prior's consistency loss:
 *
 *   minimize  score(A) + l1 |A|_1   subject to  h(A) = 0   (NOTEARS, augmented Lagrangian)
 *
 * - Values are standardized per column first, so A is in standardized units (path
 *   coefficients): multiplying a column by any constant changes nothing, and the 0.3 threshold
 *   means the same for every variable (Reisach et al. 2021).
 * - Rows may carry a regime: intervened[r][j] = 1 when node j was set by do() in row r. Node j's
 *   mechanism is then not scored on row r (DCDI's and GIES's likelihood masking), which is what
 *   lets interventional rows orient edges that observational data leave undecided.
 *
 * @example
 *   const { edges } = learnStructure(values, n, m, { intervened, nodes: ['x', 'y', 'z'] });
 */
import { OptionError } from '../errors.ts';
import * as torch from '../torch/index.ts';
import { optim, type Tensor } from '../torch/index.ts';
import { EDGE_THRESHOLD, findCycle } from './graph.ts';
import {
  type ParentModel,
  ScmPrior,
  STRUCTURE_PARAMS,
  STRUCTURE_SCORES,
  type StructureScore,
  structureScore,
  updateDagSchedule,
} from './scm.ts';

export interface LearnStructureOptions {
  /** node names (default x0, x1, ...) */
  nodes?: readonly string[];
  /** [n, m] 1 where the row's node was set by intervention; default all observational */
  intervened?: ArrayLike<number>;
  /** parent model (default linear) */
  parents?: ParentModel;
  /** hidden units per node of the MLP parent model (default 16) */
  hidden?: number;
  /** allowed edges [cause, effect] by name; default every off-diagonal pair */
  allowed?: readonly (readonly [string, string])[];
  /** L1 weight on A (linear) or on the first-layer weights (MLP); default 0.01 */
  l1?: number;
  /** Adam steps on the full table (default 2000) and learning rate (default 0.01) */
  steps?: number;
  lr?: number;
  /** augmented Lagrangian: update every this many steps (default 100) */
  dagEvery?: number;
  /** edges: standardized effect > threshold (default EDGE_THRESHOLD, 0.3; linear: |A[i][j]|, the columns being standardized) */
  threshold?: number;
  /** the structure score (default nv, as the SCM prior's consistency loss) */
  score?: StructureScore;
  /** seed of the MLP's initial weights (default 0); the global torch RNG is left as it was */
  seed?: number;
  /** steps of the penalty-free refit of the thresholded DAG's weights (default 500; 0: none) */
  refitSteps?: number;
}

export interface LearnedStructure {
  nodes: string[];
  /** weighted adjacency in standardized units, A[i][j] for i -> j (refitted: see `refitSteps`) */
  adjacency: number[][];
  /** standardized effect > threshold */
  edges: { from: string; to: string; weight: number }[];
  /** h(A) at the end (about 0 for a DAG) */
  h: number;
  /** the masked score at the end (without penalties) */
  score: number;
}

/** Learns a DAG over the m columns of `values` ([n, m] row-major). */
export function learnStructure(
  values: ArrayLike<number>,
  n: number,
  m: number,
  o: LearnStructureOptions = {},
): LearnedStructure {
  if (!(Number.isInteger(n) && Number.isInteger(m) && n >= 2 && m >= 2) || values.length !== n * m)
    throw new OptionError(
      `learnStructure needs an [n, m] table with n, m >= 2; got ${values.length} values for ${n} x ${m}`,
    );
  if (o.intervened && o.intervened.length !== n * m)
    throw new OptionError(`learnStructure: intervened must be [n, m] = [${n}, ${m}] like the values`);
  const nodes = [...(o.nodes ?? Array.from({ length: m }, (_, j) => `x${j}`))];
  if (nodes.length !== m) throw new OptionError(`learnStructure: ${nodes.length} names for ${m} columns`);
  const steps = o.steps ?? 2000;
  const l1 = o.l1 ?? 0.01;
  const every = o.dagEvery ?? 100;
  const threshold = o.threshold ?? EDGE_THRESHOLD;
  const score = o.score ?? 'nv';
  if (!STRUCTURE_SCORES.includes(score))
    throw new OptionError(`Expected one of ${STRUCTURE_SCORES.join(', ')} for score but received '${score}'`);

  const saved = torch.getRngState();
  torch.manualSeed(o.seed ?? 0);
  const prior = new ScmPrior({
    nodes,
    mode: o.allowed ? 'given' : 'learned',
    edges: o.allowed,
    mechanism: 'linear',
    parents: o.parents ?? 'linear',
    hidden: o.hidden,
  });
  torch.setRngState(saved);
  saved.dispose();
  try {
    const u = torch.keep(
      torch.scope(() => standardize(torch.tensor(Float32Array.from(values), { shape: [n, m] }))),
    );
    const scored = torch.keep(
      o.intervened
        ? torch.tensor(
            Float32Array.from(o.intervened, (v) => (v ? 0 : 1)),
            { shape: [n, m] },
          )
        : torch.ones([1, m]),
    );
    const params = prior
      .namedParameters()
      .filter(([name]) => STRUCTURE_PARAMS.includes(name))
      .map(([, p]) => p);
    const opt = new optim.Adam(params, { lr: o.lr ?? 0.01 });
    const schedule = { rhoInit: 1, rhoMax: 1e5, rhoGrowth: 3, hShrink: 0.5 };
    let dag = { alpha: 0, rho: schedule.rhoInit, lastH: Number.POSITIVE_INFINITY };
    const fit = () => structureScore(score, u, prior.residual(u), scored);
    for (let step = 1; step <= steps; step++) {
      const h = torch.scope(() => {
        const hA = prior.acyclicity();
        const loss = fit()
          .add(hA.mul(dag.alpha))
          .add(hA.square().mul(dag.rho / 2))
          .add(prior.sparsity().mul(l1));
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return step % every === 0 ? hA.item() : 0;
      });
      if (step % every === 0) dag = updateDagSchedule(dag, h, schedule);
    }
    let found = prior.edges(threshold, u);
    const h = torch.scope(() => torch.noGrad(() => prior.acyclicity().item()));
    let adjacency = prior.adjacencyArray();
    let final = torch.scope(() => torch.noGrad(() => fit().item()));
    u.dispose();
    scored.dispose();
    // The L1 penalty shrinks every weight and the search stops before the weights settle: refit
    // the chosen DAG without penalties, so the weights are the score's own (NOTEARS thresholds
    // only; a refit is the usual post-processing, e.g. in DAGMA's and GOLEM's evaluations).
    const support = found.map((e): [string, string] => [e.from, e.to]);
    if (!o.allowed && support.length > 0 && isDag(nodes, support) && (o.refitSteps ?? 500) > 0) {
      const refit = learnStructure(values, n, m, {
        ...o,
        allowed: support,
        l1: 0,
        steps: o.refitSteps ?? 500,
      });
      adjacency = refit.adjacency;
      found = support.map(([from, to]) => ({
        from,
        to,
        weight: adjacency[nodes.indexOf(from)][nodes.indexOf(to)],
      }));
      final = refit.score;
    }
    return { nodes, adjacency, edges: found, h, score: final };
  } finally {
    prior.dispose();
  }
}

function isDag(nodes: readonly string[], edges: readonly (readonly [string, string])[]): boolean {
  const A = nodes.map((from) => nodes.map((to) => (edges.some(([a, b]) => a === from && b === to) ? 1 : 0)));
  return findCycle(A) === null;
}

/** (x - mean) / std per column; a constant column becomes 0. */
function standardize(x: Tensor): Tensor {
  const centred = x.sub(x.mean(0, true));
  return centred.div(centred.square().mean(0, true).sqrt().add(1e-8));
}
