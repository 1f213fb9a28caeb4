/**
 * Random structural causal models for a structure benchmark that no single world can game: a
 * seeded DAG (Erdos-Renyi or scale-free), a mechanism per edge drawn from four families, and
 * additive noise at a random share of each child's spread. Engine-free and render-free, so the
 * label-level benchmark (bench/structure.ts) samples it directly; src/data/random-world.ts draws
 * it as an image.
 *
 * Everything follows from the options (the graph seed among them):
 *
 * - Nodes `x0 ... x{m-1}`, named in a random order, so a node's index says nothing of its place
 *   in the causal order.
 * - Graph, with "degree" the expected number of neighbours of a node (2 |E| / m):
 *   - `er`: a random causal order, each pair joined with probability degree / (m - 1);
 *   - `sf`: preferential attachment (Barabasi-Albert) in a random arrival order: a new node
 *     joins earlier nodes with probability proportional to their degree + 1, and points to them,
 *     as NOTEARS' simulate_dag does, so hubs are effects with many causes. Node k of the arrival
 *     order makes a_k edges on average (a random rounding of a_k), the a_k spread as evenly as
 *     the k earlier nodes allow so that |E| averages degree m / 2 exactly.
 * - Values: every node lies in [0, 1]. A root is uniform on [0, 1]. A child is
 *
 *     x_j = (sum_e f_e(x_parent(e)) - lo_j) / (hi_j - lo_j) + u_j
 *
 *   with one mechanism f_e per incoming edge, drawn uniformly among the families (t in [0, 1]
 *   is the parent's value, w = +-U(0.5, 1.5) a random sign and strength):
 *   - `linear`:      f(t) = w (2t - 1)
 *   - `monotone`:    f(t) = w (2 t^p - 1), p in U(2, 4) or its inverse (convex or concave)
 *   - `nonmonotone`: f(t) = w (1 - 2 ((t - c) / r)^2), c in U(0.3, 0.7), r = max(c, 1 - c): an
 *                    arch or a valley turning at c, inside the range
 *   - `threshold`:   f(t) = w (2 sigmoid((t - c) / tau) - 1), c in U(0.3, 0.7), tau in U(0.02, 0.06)
 *   The noise u_j is Gaussian, truncated at 2.5 sd, with sd = share_j x the child's standard
 *   deviation (share_j uniform on [0.1, 0.5]; the signal's spread is measured on 2,000 seeded
 *   observational draws). lo_j and hi_j are the sum of the mechanisms' extremes over [0, 1]
 *   widened by the noise's truncation, so x_j stays in [0, 1] for any parent values, under any
 *   intervention.
 *
 * do(): `counterfactual` keeps the noises, sets the intervened nodes and recomputes their
 * descendants; `abduct` recovers every noise from values (roots: the value; children: the
 * residual). `sampleTable` draws a labelled table with a share of rows under do(node = value),
 * exactly as generateWorldDataset draws a world's rows (same streams: the same seed gives the
 * random world's labels).
 *
 * @example
 *   const scm = randomScm({ graphSeed: 3, nodes: 8, graph: 'sf', degree: 1.5 });
 *   scm.edges();                                     // [['x5', 'x2'], ...]
 *   const { values, intervened } = scm.sampleTable({ count: 1000, seed: 1, interventional: 0.2 });
 */
import { descendants, topologicalOrder } from '../causal/graph.ts';
import { OptionError } from '../errors.ts';
import { expectOneOf } from '../options.ts';
import { deriveSeed, Rng } from './rng.ts';

/** Graph families: Erdos-Renyi and scale-free (preferential attachment). */
export const GRAPH_FAMILIES = ['er', 'sf'] as const;
export type GraphFamily = (typeof GRAPH_FAMILIES)[number];

/** Mechanism families, one drawn per edge. */
export const MECHANISM_FAMILIES = ['linear', 'monotone', 'nonmonotone', 'threshold'] as const;
export type MechanismFamily = (typeof MECHANISM_FAMILIES)[number];

/** Node counts the benchmark's SCMs have. */
export const NODE_RANGE = [3, 12] as const;
/** Range of a child's noise share (sd of the noise / sd of the child). */
export const NOISE_SHARE_RANGE = [0.1, 0.5] as const;
/** Child noises are truncated at this many standard deviations. */
export const NOISE_TRUNCATION = 2.5;
/** Observational draws on which each child's signal spread is measured. */
const SPREAD_DRAWS = 2000;
/** Slack of range checks, as World's. */
const RANGE_EPS = 1e-9;
/** Seed family of the do() draws: generateWorldDataset's (world-dataset.ts REGIME_STREAMS). */
const REGIME_STREAMS = 0x52454749;

export interface RandomScmOptions {
  /** seed of the graph, mechanisms and noise shares (default 0) */
  graphSeed?: number;
  /** number of nodes, 3 to 12 (default 5) */
  nodes?: number;
  /** 'er' (default) or 'sf' */
  graph?: GraphFamily;
  /** expected number of neighbours per node, 2 |E| / m, in (0, m - 1] (default 1.5) */
  degree?: number;
  /** the mechanism families edges draw from (default all four) */
  mechanisms?: readonly MechanismFamily[];
}

/** One edge's mechanism: f(t) of the parent's value t in [0, 1] (formulas in the file header). */
export interface EdgeMechanism {
  /** index of the parent */
  readonly parent: number;
  readonly family: MechanismFamily;
  /** signed strength */
  readonly w: number;
  /** exponent (monotone) */
  readonly p?: number;
  /** turning point (nonmonotone) or threshold (threshold) */
  readonly c?: number;
  /** half-width of the arch (nonmonotone) */
  readonly r?: number;
  /** steepness (threshold) */
  readonly tau?: number;
}

/** A node: its mechanisms (one per parent, in parent order), normalization and noise. */
export interface ScmNode {
  readonly name: string;
  /** parent indices, ascending */
  readonly parents: readonly number[];
  readonly mechanisms: readonly EdgeMechanism[];
  /** the signal's normalization: (sum f - lo) / (hi - lo); roots: 0 and 1 */
  readonly lo: number;
  readonly hi: number;
  /** sd of the (normalized) noise before truncation; 0 for roots (uniform) */
  readonly noiseSd: number;
  /** noise sd / the child's sd (0 for roots) */
  readonly noiseShare: number;
}

/** A labelled table: [count, m] values, and 1 where a row's node was set by do(). */
export interface ScmTable {
  values: Float64Array;
  intervened: Uint8Array;
  count: number;
}

/** The value of one mechanism at the parent value t. */
export function applyMechanism(e: EdgeMechanism, t: number): number {
  switch (e.family) {
    case 'linear':
      return e.w * (2 * t - 1);
    case 'monotone':
      return e.w * (2 * Math.max(t, 0) ** e.p! - 1);
    case 'nonmonotone':
      return e.w * (1 - 2 * ((t - e.c!) / e.r!) ** 2);
    case 'threshold':
      return e.w * (2 / (1 + Math.exp(-(t - e.c!) / e.tau!)) - 1);
  }
}

/** Smallest and largest value of a mechanism over t in [0, 1] (ends and turning point). */
export function mechanismRange(e: EdgeMechanism): [number, number] {
  const at = [0, 1, ...(e.family === 'nonmonotone' ? [e.c!] : [])].map((t) => applyMechanism(e, t));
  return [Math.min(...at), Math.max(...at)];
}

/** A random SCM; build one with `randomScm(options)`. */
export class RandomScm {
  /** the resolved options (every default filled in) */
  readonly options: Required<RandomScmOptions>;
  readonly names: readonly string[];
  readonly nodes: readonly ScmNode[];
  /** 0/1 adjacency, A[i][j] = 1 for i -> j */
  readonly adjacency: readonly (readonly number[])[];
  /** node indices, parents before children */
  readonly order: readonly number[];

  constructor(options: RandomScmOptions = {}) {
    const o = resolveOptions(options);
    this.options = o;
    const m = o.nodes;
    this.names = Array.from({ length: m }, (_, j) => `x${j}`);
    const A = randomDag(m, o.graph, o.degree, new Rng(o.graphSeed, 1));
    this.adjacency = A;
    this.order = topologicalOrder(A);
    const rng = new Rng(o.graphSeed, 2);
    const drafts = this.names.map((name, j) => {
      const parents = this.names.flatMap((_, i) => (A[i][j] ? [i] : []));
      const mechanisms = parents.map((parent) => drawMechanism(parent, o.mechanisms, rng));
      const noiseShare = parents.length ? rng.uniform(...NOISE_SHARE_RANGE) : 0;
      return { name, parents, mechanisms, noiseShare, lo: 0, hi: 1, noiseSd: 0 };
    });
    // Each child's spread is measured on seeded observational draws, parents first, so the noise
    // share means the same whatever the mechanisms' scale.
    const draws = new Float64Array(SPREAD_DRAWS * m);
    const mc = new Rng(o.graphSeed, 3);
    for (const j of this.order) {
      const d = drafts[j];
      if (d.parents.length === 0) {
        for (let r = 0; r < SPREAD_DRAWS; r++) draws[r * m + j] = mc.float();
        continue;
      }
      const signal = Float64Array.from({ length: SPREAD_DRAWS }, (_, r) =>
        d.mechanisms.reduce((s, e) => s + applyMechanism(e, draws[r * m + e.parent]), 0),
      );
      const sd = Math.max(standardDeviation(signal), 1e-9);
      // noise sd = share x sd(child) and sd(child)^2 = sd(signal)^2 + sd(noise)^2
      const rawNoiseSd = (d.noiseShare * sd) / Math.sqrt(1 - d.noiseShare ** 2);
      const ranges = d.mechanisms.map(mechanismRange);
      const margin = NOISE_TRUNCATION * rawNoiseSd;
      d.lo = ranges.reduce((s, [a]) => s + a, 0) - margin;
      d.hi = ranges.reduce((s, [, b]) => s + b, 0) + margin;
      d.noiseSd = rawNoiseSd / (d.hi - d.lo);
      for (let r = 0; r < SPREAD_DRAWS; r++)
        draws[r * m + j] = (signal[r] - d.lo) / (d.hi - d.lo) + truncatedNormal(mc, d.noiseSd);
    }
    this.nodes = drafts;
  }

  /** Number of nodes. */
  get size(): number {
    return this.names.length;
  }

  /** Edges [cause, effect] by name. */
  edges(): [string, string][] {
    return this.nodes.flatMap((nd) => nd.parents.map((i): [string, string] => [this.names[i], nd.name]));
  }

  /** Indices of the nodes reachable from node i (not including i). */
  descendants(i: number): number[] {
    return descendants(this.adjacency, i);
  }

  /** Exogenous noises of every node, drawn in node order (roots: their value). */
  sampleNoise(rng: Rng): Float64Array {
    return Float64Array.from(this.nodes, (_, j) => this.sampleNoise1(j, rng));
  }

  /** Node j's exogenous noise: uniform on [0, 1] for a root, truncated Gaussian for a child. */
  sampleNoise1(j: number, rng: Rng): number {
    const nd = this.nodes[j];
    return nd.parents.length === 0 ? rng.float() : truncatedNormal(rng, nd.noiseSd);
  }

  /** Node j's structural equation: its value from the parents' values in `x` and its noise. */
  equation(j: number, x: ArrayLike<number>, noise: number): number {
    const nd = this.nodes[j];
    if (nd.parents.length === 0) return noise;
    return this.childValue(
      j,
      nd.mechanisms.map((e) => x[e.parent]),
      noise,
    );
  }

  /** A child's value from its parents' values (in `parents` order) and its noise. */
  childValue(j: number, parentValues: ArrayLike<number>, noise: number): number {
    const nd = this.nodes[j];
    let s = 0;
    for (const [k, e] of nd.mechanisms.entries()) s += applyMechanism(e, parentValues[k]);
    return (s - nd.lo) / (nd.hi - nd.lo) + noise;
  }

  /** Values produced by the noises (the equations in topological order). */
  solve(noise: ArrayLike<number>): Float64Array {
    const x = new Float64Array(this.size);
    for (const j of this.order) x[j] = this.equation(j, x, noise[j]);
    return x;
  }

  /** The noises that produce `values`: roots their value, children their residual. */
  abduct(values: ArrayLike<number>): Float64Array {
    return Float64Array.from(this.nodes, (nd, j) =>
      nd.parents.length === 0 ? values[j] : values[j] - this.equation(j, values, 0),
    );
  }

  /**
   * The counterfactual values under do(intervention) (node index -> value in [0, 1]), with the
   * noises kept: intervened nodes set, their descendants recomputed, the rest as they were.
   */
  counterfactual(values: ArrayLike<number>, noise: ArrayLike<number>, intervention: Map<number, number>) {
    for (const [j, v] of intervention) {
      if (!(Number.isInteger(j) && j >= 0 && j < this.size))
        throw new OptionError(`random SCM: no node ${j}; nodes are 0 to ${this.size - 1}`);
      if (!(v >= -RANGE_EPS && v <= 1 + RANGE_EPS))
        throw new OptionError(`random SCM: do(${this.names[j]} = ${v}) is outside [0, 1]`);
    }
    const recompute = new Set([...intervention.keys()].flatMap((j) => this.descendants(j)));
    const x = Float64Array.from(values);
    for (const j of this.order) {
      const v = intervention.get(j);
      if (v !== undefined) x[j] = v;
      else if (recompute.has(j)) x[j] = this.equation(j, x, noise[j]);
    }
    return x;
  }

  /**
   * A labelled table: row k from the noise stream (seed, k); with `interventional` > 0 a share
   * of the rows under do(node = value), the node uniform, the value the node's in an independent
   * observational draw (generateWorldDataset's rule and streams).
   */
  sampleTable(o: { count: number; seed?: number; interventional?: number }): ScmTable {
    const { count } = o;
    const seed = o.seed ?? 0;
    const share = o.interventional ?? 0;
    if (!(Number.isSafeInteger(count) && count >= 1))
      throw new OptionError(`Expected a positive integer for count but received ${count}`);
    if (!(share >= 0 && share <= 1))
      throw new OptionError(`Expected a fraction in [0, 1] for interventional but received ${share}`);
    const m = this.size;
    const values = new Float64Array(count * m);
    const intervened = new Uint8Array(count * m);
    const regimeSeed = deriveSeed(seed, REGIME_STREAMS);
    for (let k = 0; k < count; k++) {
      const u = this.sampleNoise(new Rng(seed, k));
      let x = this.solve(u);
      if (share > 0) {
        const r = new Rng(regimeSeed, k);
        if (r.float() < share) {
          const j = r.int(m);
          x = this.counterfactual(x, u, new Map([[j, this.solve(this.sampleNoise(r))[j]]]));
          intervened[k * m + j] = 1;
        }
      }
      values.set(x, k * m);
    }
    return { values, intervened, count };
  }

  /** One line per child: its equation in words (for world.json and descriptions). */
  describe(j: number): string {
    const nd = this.nodes[j];
    if (nd.parents.length === 0) return `${nd.name} = uniform on [0, 1] (a root)`;
    const terms = nd.mechanisms.map((e) => `${e.family}(${this.names[e.parent]}; ${mechanismParams(e)})`);
    const shift = nd.lo < 0 ? `+ ${round(-nd.lo)}` : `- ${round(nd.lo)}`;
    return `${nd.name} = (${terms.join(' + ')} ${shift}) / ${round(nd.hi - nd.lo)} + noise (sd ${round(nd.noiseSd)}, ${Math.round(nd.noiseShare * 100)}% of its spread)`;
  }
}

/** A random SCM from its options (defaults: graph seed 0, 5 nodes, 'er', degree 1.5). */
export function randomScm(options: RandomScmOptions = {}): RandomScm {
  return new RandomScm(options);
}

function resolveOptions(o: RandomScmOptions): Required<RandomScmOptions> {
  const graphSeed = o.graphSeed ?? 0;
  if (!Number.isSafeInteger(graphSeed) || graphSeed < 0)
    throw new OptionError(`Expected a non-negative integer for graph seed but received ${graphSeed}`);
  const nodes = o.nodes ?? 5;
  if (!Number.isInteger(nodes) || nodes < NODE_RANGE[0] || nodes > NODE_RANGE[1])
    throw new OptionError(
      `Expected an integer in [${NODE_RANGE[0]}, ${NODE_RANGE[1]}] for nodes but received ${nodes}`,
    );
  const graph = expectOneOf(o.graph ?? 'er', GRAPH_FAMILIES, 'graph');
  const degree = o.degree ?? 1.5;
  if (!(typeof degree === 'number' && degree > 0 && degree <= nodes - 1))
    throw new OptionError(
      `Expected a degree in (0, ${nodes - 1}] (at most every other node a neighbour) for ${nodes} nodes but received ${degree}`,
    );
  const mechanisms = [...(o.mechanisms ?? MECHANISM_FAMILIES)];
  if (mechanisms.length === 0) throw new OptionError('Expected at least one mechanism family');
  for (const f of mechanisms) expectOneOf(f, MECHANISM_FAMILIES, 'mechanism family');
  return { graphSeed, nodes, graph, degree, mechanisms };
}

/**
 * A random DAG on m nodes, A[i][j] = 1 for i -> j, with `degree` expected neighbours per node
 * (file header: 'er' and 'sf'). Node indices are a random permutation of the causal order.
 */
export function randomDag(m: number, family: GraphFamily, degree: number, rng: Rng): number[][] {
  const A = Array.from({ length: m }, () => new Array<number>(m).fill(0));
  // order[k]: the node at place k of the causal (er) or arrival (sf) order
  const order = rng.shuffle(Array.from({ length: m }, (_, k) => k));
  if (family === 'er') {
    const p = Math.min(1, degree / (m - 1));
    for (let a = 0; a < m; a++)
      for (let b = a + 1; b < m; b++) if (rng.float() < p) A[order[a]][order[b]] = 1;
    return A;
  }
  const neighbours = new Array<number>(m).fill(0);
  let remaining = (degree * m) / 2;
  for (let k = 1; k < m; k++) {
    const mean = Math.min(k, remaining / (m - k));
    remaining -= mean;
    const whole = Math.floor(mean);
    const count = Math.min(k, whole + (rng.float() < mean - whole ? 1 : 0));
    // preferential attachment without replacement among the k earlier nodes
    const pool = order.slice(0, k);
    for (let t = 0; t < count; t++) {
      const weights = pool.map((i) => neighbours[i] + 1);
      let pick = rng.float() * weights.reduce((s, w) => s + w, 0);
      let at = 0;
      while (at < pool.length - 1 && pick >= weights[at]) pick -= weights[at++];
      const target = pool.splice(at, 1)[0];
      A[order[k]][target] = 1;
      neighbours[target]++;
      neighbours[order[k]]++;
    }
  }
  return A;
}

function drawMechanism(parent: number, families: readonly MechanismFamily[], rng: Rng): EdgeMechanism {
  const family = families[rng.int(families.length)];
  const w = (rng.float() < 0.5 ? -1 : 1) * rng.uniform(0.5, 1.5);
  switch (family) {
    case 'linear':
      return { parent, family, w };
    case 'monotone': {
      const p = rng.uniform(2, 4);
      return { parent, family, w, p: rng.float() < 0.5 ? p : 1 / p };
    }
    case 'nonmonotone': {
      const c = rng.uniform(0.3, 0.7);
      return { parent, family, w, c, r: Math.max(c, 1 - c) };
    }
    case 'threshold':
      return { parent, family, w, c: rng.uniform(0.3, 0.7), tau: rng.uniform(0.02, 0.06) };
  }
}

/** N(0, sd^2) truncated at +-NOISE_TRUNCATION sd by rejection. */
function truncatedNormal(rng: Rng, sd: number): number {
  for (;;) {
    const n = rng.normal();
    if (Math.abs(n) <= NOISE_TRUNCATION) return n * sd;
  }
}

function standardDeviation(v: Float64Array): number {
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  return Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
}

function mechanismParams(e: EdgeMechanism): string {
  const parts = [`w ${round(e.w)}`];
  if (e.p !== undefined) parts.push(`p ${round(e.p)}`);
  if (e.c !== undefined) parts.push(`c ${round(e.c)}`);
  if (e.tau !== undefined) parts.push(`tau ${round(e.tau)}`);
  return parts.join(', ');
}

function round(v: number): number {
  return Number(v.toPrecision(4));
}
