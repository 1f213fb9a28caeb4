/**
 * Exact score-based structure search: the DAG that minimizes a decomposable score over every DAG
 * on m nodes, found by dynamic programming over parent sets and orders (Silander & Myllymaki
 * 2006; Koivisto & Sood 2004), not by a local search. For the few factors a CCIG model has
 * (4 to 8), this is a second or two, and it cannot stop in a local optimum: NOTEARS' continuous
 * search on Pendulum's labels finds a wrong graph although the score's optimum is the true one
 * (docs/results/structure.md, scripts/dag-scores.ts).
 *
 * The score of node j with parents S, lower is better:
 *
 *   log( residual variance of j given S ) + edgeCost |S|
 *
 * the Gaussian log-likelihood with one variance per node (the `nv` score of the SCM prior's
 * consistency loss, twice over). The residual variance is a nonparametric one: leave-one-out
 * k-nearest-neighbour regression of j on S, on standardized columns, so linear and nonlinear
 * mechanisms are fitted alike and units do not matter (Reisach et al. 2021). Rows where j was
 * set by do() are left out of j's fit and score (the likelihood masking of DCDI and GIES), which
 * is what lets interventional rows orient edges.
 *
 * Engine-free (plain JS) so data tools and scripts can use it without libtorch.
 *
 * @example
 *   const found = exactSearch(values, n, m, { intervened, nodes: ['x', 'y', 'z'] });
 *   found.edges; // [['x', 'y'], ...]
 */
import { OptionError } from '../errors.ts';
import { assertDag, namedEdges } from './graph.ts';

/** The most nodes exactSearch takes: it enumerates every parent set of every node (2^(m-1) each). */
export const EXACT_SEARCH_MAX_NODES = 16;

export interface ExactSearchOptions {
  /** node names (default x0, x1, ...) */
  nodes?: readonly string[];
  /** [n, m] 1 where the row's node was set by intervention; default all observational */
  intervened?: ArrayLike<number>;
  /** neighbours of the k-NN regression (default 25) */
  k?: number;
  /** added to a node's score per parent (default 0.02: on labels, 0.01 let Garden keep an extra edge), as an L1 penalty would */
  edgeCost?: number;
  /** largest parent set considered (default m - 1, every one) */
  maxParents?: number;
  /** allowed edges [cause, effect] by name (a super-graph); default every off-diagonal pair */
  allowed?: readonly (readonly [string, string])[];
  /** at most this many rows are used, the first ones (default 2000; the fit is O(n^2)) */
  maxRows?: number;
}

export interface ExactSearchResult {
  nodes: string[];
  /** 0/1 adjacency, A[i][j] = 1 for i -> j */
  adjacency: number[][];
  edges: [string, string][];
  /** the optimum's score (sum over nodes) */
  score: number;
  /** each node's log residual variance under the optimum's parents */
  nodeScores: number[];
  /**
   * The best score of a graph within the DAG `adjacency` (0/1, A[i][j] = 1 for i -> j): what a
   * search restricted to its edges would return, read from this search's fits without refitting.
   */
  scoreWithin(adjacency: number[][]): number;
}

/** The DAG over the m columns of `values` ([n, m] row-major) with the best score. */
export function exactSearch(
  values: ArrayLike<number>,
  n: number,
  m: number,
  o: ExactSearchOptions = {},
): ExactSearchResult {
  if (!(Number.isInteger(n) && Number.isInteger(m) && n >= 2 && m >= 1) || values.length !== n * m)
    throw new OptionError(
      `exactSearch needs an [n, m] table with n >= 2; got ${values.length} values for ${n} x ${m}`,
    );
  if (m > EXACT_SEARCH_MAX_NODES)
    throw new OptionError(
      `exactSearch enumerates parent sets: at most ${EXACT_SEARCH_MAX_NODES} nodes, got ${m}`,
    );
  if (o.intervened && o.intervened.length !== n * m)
    throw new OptionError(`exactSearch: intervened must be [n, m] = [${n}, ${m}] like the values`);
  const nodes = [...(o.nodes ?? Array.from({ length: m }, (_, j) => `x${j}`))];
  if (nodes.length !== m) throw new OptionError(`exactSearch: ${nodes.length} names for ${m} columns`);
  const k = o.k ?? 25;
  const edgeCost = o.edgeCost ?? 0.02;
  const maxParents = Math.min(m - 1, o.maxParents ?? m - 1);
  const rows = Math.min(n, o.maxRows ?? 2000);
  // allowed[j]: bitmask of the nodes that may be parents of j
  const allowed = new Array<number>(m).fill(0);
  if (o.allowed) {
    for (const [from, to] of o.allowed) {
      const i = nodes.indexOf(from);
      const j = nodes.indexOf(to);
      if (i < 0 || j < 0 || i === j) throw new OptionError(`exactSearch: bad allowed edge ${from} -> ${to}`);
      allowed[j] |= 1 << i;
    }
  } else for (let j = 0; j < m; j++) allowed[j] = ((1 << m) - 1) & ~(1 << j);

  const cols = standardizedColumns(values, rows, m);
  const scoredRows = Array.from({ length: m }, (_, j) =>
    Int32Array.from({ length: rows }, (_, r) => r).filter((r) => !o.intervened?.[r * m + j]),
  );

  // local[j][S]: node j's score with parent set S (Infinity where S is not allowed)
  const full = 1 << m;
  const local = Array.from({ length: m }, (_, j) => {
    const s = new Float64Array(full).fill(Number.POSITIVE_INFINITY);
    for (let S = 0; S < full; S++) {
      if ((S & ~allowed[j]) !== 0 || popcount(S) > maxParents) continue;
      const variance = knnResidualVariance(cols, scoredRows[j], j, bits(S), k);
      s[S] = Math.log(Math.max(variance, 1e-12)) + edgeCost * popcount(S);
    }
    return s;
  });
  // best[j][C]: the best parent set of j within candidates C (and its score)
  const bestSet = local.map((s, j) => {
    const score = Float64Array.from(s);
    const set = Int32Array.from({ length: full }, (_, C) => C);
    for (let C = 0; C < full; C++) {
      if (C & (1 << j)) continue;
      for (let rest = C; rest; rest &= rest - 1) {
        const without = C & ~(rest & -rest);
        if (score[without] < score[C]) {
          score[C] = score[without];
          set[C] = set[without];
        }
      }
    }
    return { score, set };
  });
  // order DP: total[U] = best score of a DAG over the nodes U; sink[U] = its last node
  const total = new Float64Array(full).fill(Number.POSITIVE_INFINITY);
  const sink = new Int32Array(full).fill(-1);
  total[0] = 0;
  for (let U = 1; U < full; U++)
    for (let j = 0; j < m; j++) {
      if (!(U & (1 << j))) continue;
      const before = U & ~(1 << j);
      const s = total[before] + bestSet[j].score[before];
      if (s < total[U]) {
        total[U] = s;
        sink[U] = j;
      }
    }
  const parentSets = new Array<number>(m).fill(0);
  for (let U = full - 1; U; ) {
    const j = sink[U];
    U &= ~(1 << j);
    parentSets[j] = bestSet[j].set[U];
  }
  const adjacency = nodes.map((_, i) => nodes.map((_, j) => (parentSets[j] & (1 << i) ? 1 : 0)));
  return {
    nodes,
    adjacency,
    edges: namedEdges(adjacency, nodes),
    score: total[full - 1],
    nodeScores: parentSets.map((S, j) => local[j][S] - edgeCost * popcount(S)),
    // any subgraph of a DAG is a DAG, so each node takes its best subset of its parents there
    scoreWithin: (A) => {
      assertDag(A, nodes);
      return nodes.reduce((sum, _, j) => {
        const parents = nodes.reduce((bitsOf, _, i) => (A[i][j] ? bitsOf | (1 << i) : bitsOf), 0);
        return sum + bestSet[j].score[parents];
      }, 0);
    },
  };
}

/** Columns of the first `rows` rows, each (x - mean) / std (a constant column becomes 0). */
function standardizedColumns(values: ArrayLike<number>, rows: number, m: number): Float64Array[] {
  return Array.from({ length: m }, (_, j) => {
    const c = Float64Array.from({ length: rows }, (_, r) => values[r * m + j]);
    const mean = c.reduce((s, v) => s + v, 0) / rows;
    const sd = Math.sqrt(c.reduce((s, v) => s + (v - mean) ** 2, 0) / rows);
    return c.map((v) => (sd > 1e-12 ? (v - mean) / sd : 0));
  });
}

/**
 * Mean squared leave-one-out error of the k-nearest-neighbour regression of column j on the
 * columns `ps`, over the rows `rows` (neighbours drawn from the same rows). No parents: the
 * variance over those rows.
 */
export function knnResidualVariance(
  cols: Float64Array[],
  rows: Int32Array,
  j: number,
  ps: number[],
  k: number,
): number {
  const y = cols[j];
  const n = rows.length;
  if (n === 0) return 1;
  if (ps.length === 0) {
    let mean = 0;
    for (const r of rows) mean += y[r];
    mean /= n;
    let s = 0;
    for (const r of rows) s += (y[r] - mean) ** 2;
    return s / n;
  }
  const kk = Math.min(k, n - 1);
  if (kk < 1) return 1;
  const X = ps.map((p) => cols[p]);
  // the kk smallest distances so far, kept sorted (insertion; kk is small)
  const bestD = new Float64Array(kk);
  const bestY = new Float64Array(kk);
  let sum = 0;
  for (let a = 0; a < n; a++) {
    const r = rows[a];
    let filled = 0;
    for (let b = 0; b < n; b++) {
      if (b === a) continue;
      const q = rows[b];
      let d = 0;
      for (const x of X) {
        const t = x[r] - x[q];
        d += t * t;
      }
      if (filled === kk && d >= bestD[kk - 1]) continue;
      let pos = filled < kk ? filled++ : kk - 1;
      while (pos > 0 && bestD[pos - 1] > d) {
        bestD[pos] = bestD[pos - 1];
        bestY[pos] = bestY[pos - 1];
        pos--;
      }
      bestD[pos] = d;
      bestY[pos] = y[q];
    }
    let pred = 0;
    for (let t = 0; t < kk; t++) pred += bestY[t];
    sum += (y[r] - pred / kk) ** 2;
  }
  return sum / n;
}

function popcount(x: number): number {
  let c = 0;
  for (let v = x; v; v &= v - 1) c++;
  return c;
}

function bits(x: number): number[] {
  const out: number[] = [];
  for (let i = 0; x >> i; i++) if ((x >> i) & 1) out.push(i);
  return out;
}
