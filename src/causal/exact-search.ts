/**
 * Exact score-based structure search: the DAG that minimizes a decomposable score over every DAG
 * on m nodes, found by dynamic programming over parent sets and orders (Silander & Myllymaki
 * 2006; Koivisto & Sood 2004), not by a local search. For the few factors a CCIG model has
 * (4 to 8), this is a second or two, and it cannot stop in a local optimum: NOTEARS' continuous
 * search on Pendulum's labels finds a wrong graph although the score's optimum is the true one
 * (docs/results/structure.md, scripts/dag-scores.ts).
 *
 * The score of node j with parents S, lower is better, is local-score.ts's:
 *
 *   log( residual variance of j given S ) + perParent |S|
 *
 * the Gaussian log-likelihood with one variance per node (the `nv` score of the SCM prior's
 * consistency loss, twice over), the residual variance a leave-one-out k-NN regression's (or a
 * linear one's), on standardized columns, regime-masked; the per-parent cost log(n) / n.
 *
 * Exact means 2^(m-1) parent sets per node: at most EXACT_SEARCH_MAX_NODES nodes. Beyond,
 * search.ts hands the table to greedy-search.ts.
 *
 * Engine-free (plain JS) so data tools and scripts can use it without libtorch.
 *
 * @example
 *   const found = exactSearch(values, n, m, { intervened, nodes: ['x', 'y', 'z'] });
 *   found.edges; // [['x', 'y'], ...]
 */
import { OptionError } from '../errors.ts';
import { assertDag, findCycle, namedEdges } from './graph.ts';
import { type LocalScoreOptions, type LocalScorer, localScorer } from './local-score.ts';

export { knnResidualVariance } from './local-score.ts';

/** The exact search enumerates 2^(m-1) parent sets per node: this many nodes at most. */
export const EXACT_SEARCH_MAX_NODES = 16;

/** The most attributes a structure search takes (search.ts: greedy beyond EXACT_SEARCH_MAX_NODES). */
export const MAX_STRUCTURE_NODES = 64;

export interface ExactSearchOptions extends LocalScoreOptions {
  /** node names (default x0, x1, ...) */
  nodes?: readonly string[];
  /** largest parent set considered (default m - 1, every one) */
  maxParents?: number;
  /** allowed edges [cause, effect] by name (a super-graph); default every off-diagonal pair */
  allowed?: readonly (readonly [string, string])[];
  /** edges [cause, effect] every graph found must have */
  required?: readonly (readonly [string, string])[];
  /** edges [cause, effect] no graph found may have */
  forbidden?: readonly (readonly [string, string])[];
}

export interface ExactSearchResult {
  nodes: string[];
  /** 0/1 adjacency, A[i][j] = 1 for i -> j */
  adjacency: number[][];
  edges: [string, string][];
  /** the optimum's score (sum over nodes) */
  score: number;
  /** each node's score under the optimum's parents, without the per-parent costs */
  nodeScores: number[];
  /**
   * The best score of a graph within the DAG `adjacency` (0/1, A[i][j] = 1 for i -> j): what a
   * search restricted to its edges would return, read from this search's fits without refitting.
   */
  scoreWithin(adjacency: number[][]): number;
}

/** Names, checked, and the constraints as bitmasks per effect: may[j] (allowed parents), must[j] (required ones). */
export function searchConstraints(
  fn: string,
  values: ArrayLike<number>,
  n: number,
  m: number,
  o: Pick<ExactSearchOptions, 'nodes' | 'allowed' | 'required' | 'forbidden' | 'intervened'>,
): { nodes: string[]; may: boolean[][]; must: boolean[][] } {
  if (!(Number.isInteger(n) && Number.isInteger(m) && n >= 2 && m >= 1) || values.length !== n * m)
    throw new OptionError(
      `${fn} needs an [n, m] table with n >= 2; got ${values.length} values for ${n} x ${m}`,
    );
  if (o.intervened && o.intervened.length !== n * m)
    throw new OptionError(`${fn}: intervened must be [n, m] = [${n}, ${m}] like the values`);
  const nodes = [...(o.nodes ?? Array.from({ length: m }, (_, j) => `x${j}`))];
  if (nodes.length !== m) throw new OptionError(`${fn}: ${nodes.length} names for ${m} columns`);
  const pairs = (list: readonly (readonly [string, string])[] | undefined, what: string) =>
    (list ?? []).map(([from, to]) => {
      const i = nodes.indexOf(from);
      const j = nodes.indexOf(to);
      if (i < 0 || j < 0 || i === j)
        throw new OptionError(
          `${fn}: bad ${what} edge ${from} -> ${to}${i < 0 || j < 0 ? ` (nodes: ${nodes.join(', ')})` : ''}`,
        );
      return [i, j] as const;
    });
  const may = nodes.map((_, i) => nodes.map((_, j) => i !== j && !o.allowed));
  for (const [i, j] of pairs(o.allowed, 'allowed')) may[i][j] = true;
  for (const [i, j] of pairs(o.forbidden, 'forbidden')) may[i][j] = false;
  const must = nodes.map(() => nodes.map(() => false));
  for (const [i, j] of pairs(o.required, 'required')) {
    if (!may[i][j]) throw new OptionError(`${fn}: ${nodes[i]} -> ${nodes[j]} is required but not allowed`);
    must[i][j] = true;
  }
  const cycle = findCycle(must.map((r) => r.map((v) => (v ? 1 : 0))));
  if (cycle)
    throw new OptionError(
      `${fn}: the required edges make a cycle: ${[...cycle, cycle[0]].map((v) => nodes[v]).join(' -> ')}`,
    );
  return { nodes, may, must };
}

/** The DAG over the m columns of `values` ([n, m] row-major) with the best score. */
export function exactSearch(
  values: ArrayLike<number>,
  n: number,
  m: number,
  o: ExactSearchOptions = {},
  scorer?: LocalScorer,
): ExactSearchResult {
  const { nodes, may, must } = searchConstraints('exactSearch', values, n, m, o);
  if (m > EXACT_SEARCH_MAX_NODES)
    throw new OptionError(
      `exactSearch enumerates parent sets: at most ${EXACT_SEARCH_MAX_NODES} nodes, got ${m}`,
    );
  const maxParents = Math.min(m - 1, o.maxParents ?? m - 1);
  const fit = scorer ?? localScorer(values, n, m, o);
  const mask = (rows: boolean[][], j: number) => rows.reduce((b, r, i) => (r[j] ? b | (1 << i) : b), 0);
  const allowed = nodes.map((_, j) => mask(may, j));
  const required = nodes.map((_, j) => mask(must, j));

  // local[j][S]: node j's score with parent set S (Infinity where S is not allowed)
  const full = 1 << m;
  const local = Array.from({ length: m }, (_, j) => {
    const s = new Float64Array(full).fill(Number.POSITIVE_INFINITY);
    for (let S = 0; S < full; S++) {
      if ((S & ~allowed[j]) !== 0 || (S & required[j]) !== required[j] || popcount(S) > maxParents) continue;
      s[S] = fit.score(j, bits(S));
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
    nodeScores: parentSets.map((S, j) => local[j][S] - fit.perParent(j) * popcount(S)),
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
