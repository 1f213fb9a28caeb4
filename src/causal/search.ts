/**
 * The structure search of training (`learned` with `scm.search: exact`), `ccig structure` and the
 * structure benchmark: one code path from a table to a graph that says what the data determine.
 *
 *   1. the DAG with the best score (local-score.ts: regime-masked, BIC per-parent cost): the exact
 *      search up to EXACT_SEARCH_MAX_NODES nodes, greedy hill climbing beyond, up to
 *      MAX_STRUCTURE_NODES;
 *   2. its essential graph under the table's intervention targets (essential-graph.ts): an edge
 *      is `directed` when every graph equivalent on these regimes has it that way. An undirected
 *      edge keeps the direction the search chose (from -> to) but that direction is not
 *      determined by the data: the SCM prior trains it in the chosen direction, and a user who
 *      knows better fixes it with a required edge (scm.required, `--require`), which then counts
 *      as determined, as does the reverse of a forbidden edge (Meek's background knowledge);
 *   3. optionally, how stable each edge is: the share of half-size subsamples without replacement
 *      (stability selection, Meinshausen & Buhlmann 2010; a bootstrap's repeated rows are their
 *      own perfect k-NN neighbours) whose search joins the pair (`stability`) and gives it the
 *      same mark, the same direction or undetermined alike (`markStability`).
 *
 * @example
 *   const found = searchStructure(values, n, m, { nodes, intervened, resamples: 20 });
 *   found.edges; // [{ from: 'a', to: 'b', directed: false, stability: 1, markStability: 0.95 }, ...]
 */
import { OptionError } from '../errors.ts';
import { essentialGraph, targetsOfRegimes } from './essential-graph.ts';
import {
  EXACT_SEARCH_MAX_NODES,
  type ExactSearchOptions,
  exactSearch,
  MAX_STRUCTURE_NODES,
} from './exact-search.ts';
import { greedySearch, seeded } from './greedy-search.ts';
import { type LocalScorer, localScorer } from './local-score.ts';

export { EXACT_SEARCH_MAX_NODES, MAX_STRUCTURE_NODES } from './exact-search.ts';

export const SEARCH_METHODS = ['auto', 'exact', 'greedy'] as const;
export type SearchMethod = (typeof SEARCH_METHODS)[number];

export interface StructureSearchOptions extends ExactSearchOptions {
  /** exact up to EXACT_SEARCH_MAX_NODES nodes, greedy beyond (default auto) */
  method?: SearchMethod;
  /** greedy: candidate parents per node (default 8); in-degree bound is maxParents (default 4) */
  maxCandidates?: number;
  /** subsamples for each edge's stability (default 0: none) */
  resamples?: number;
  /** seed of the subsamples (default 0) */
  seed?: number;
}

export interface StructureEdge {
  from: string;
  to: string;
  /** false: the data do not determine the direction; from -> to is the search's choice */
  directed: boolean;
  /** share of subsamples whose graph joins the pair (with `resamples`) */
  stability?: number;
  /** share of subsamples whose graph gives the pair this edge's mark: this direction, or undetermined alike */
  markStability?: number;
}

export interface StructureSearchResult {
  nodes: string[];
  method: 'exact' | 'greedy';
  /** the DAG found, 0/1, A[i][j] = 1 for i -> j */
  dag: number[][];
  /** its essential graph: A[i][j] = 1 and A[j][i] = 0 for a determined i -> j, both 1 for an undetermined edge */
  adjacency: number[][];
  /** every edge once, determined ones first (each group in row order) */
  edges: StructureEdge[];
  /** the intervention target sets of the table's regimes (node names) */
  targets: string[][];
  /** the DAG's score (lower is better) */
  score: number;
  /** subsamples behind the stabilities (0: none) */
  resamples: number;
  /** the best score of a graph within the DAG `adjacency` (each node its best subset of those parents) */
  scoreWithin(adjacency: number[][]): number;
}

/** The graph the m columns of `values` ([n, m] row-major) support, and how firmly. */
export function searchStructure(
  values: ArrayLike<number>,
  n: number,
  m: number,
  o: StructureSearchOptions = {},
): StructureSearchResult {
  const method = o.method ?? 'auto';
  if (!SEARCH_METHODS.includes(method))
    throw new OptionError(`Expected one of ${SEARCH_METHODS.join(', ')} for method but received '${method}'`);
  if (m > MAX_STRUCTURE_NODES)
    throw new OptionError(`a structure search takes at most ${MAX_STRUCTURE_NODES} attributes, got ${m}`);
  const resamples = o.resamples ?? 0;
  if (!(Number.isInteger(resamples) && resamples >= 0))
    throw new OptionError(`Expected an integer >= 0 for resamples but received ${resamples}`);
  const found = searchOnce(values, n, m, o);
  const { nodes } = found;
  const targets = targetsOfRegimes(o.intervened, Math.min(n, o.maxRows ?? 2000), m);
  const idx = (name: string) => nodes.indexOf(name);
  // a required edge's direction, and the other one of a forbidden edge, are the user's knowledge
  const known = [
    ...(o.required ?? []).map(([a, b]) => [idx(a), idx(b)] as const),
    ...(o.forbidden ?? []).map(([a, b]) => [idx(b), idx(a)] as const),
  ];
  const marks = markMatrix(found.dag, targets, known);

  const joined = nodes.map(() => new Array<number>(m).fill(0));
  const sameMark = nodes.map(() => new Array<number>(m).fill(0));
  if (resamples > 0) {
    const rows = Math.min(n, o.maxRows ?? 2000);
    const size = Math.max(2, Math.floor(rows / 2));
    const rng = seeded(o.seed ?? 0);
    for (let r = 0; r < resamples; r++) {
      const picked = subsample(rows, size, rng);
      const sub = new Float64Array(size * m);
      const regimes = o.intervened ? new Uint8Array(size * m) : undefined;
      picked.forEach((src, k) => {
        for (let j = 0; j < m; j++) {
          sub[k * m + j] = values[src * m + j];
          if (regimes) regimes[k * m + j] = o.intervened![src * m + j] ? 1 : 0;
        }
      });
      const again = searchOnce(sub, size, m, { ...o, intervened: regimes });
      const theirs = markMatrix(again.dag, targetsOfRegimes(regimes, size, m), known);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < m; j++) {
          if (theirs[i][j] || theirs[j][i]) joined[i][j]++;
          if (theirs[i][j] === marks[i][j] && theirs[j][i] === marks[j][i]) sameMark[i][j]++;
        }
    }
  }
  const edges: StructureEdge[] = [];
  for (const directed of [true, false])
    for (let i = 0; i < m; i++)
      for (let j = 0; j < m; j++) {
        if (!found.dag[i][j] || (marks[j][i] === 1) === directed) continue;
        const edge: StructureEdge = { from: nodes[i], to: nodes[j], directed };
        if (resamples > 0) {
          edge.stability = joined[i][j] / resamples;
          edge.markStability = sameMark[i][j] / resamples;
        }
        edges.push(edge);
      }
  return {
    nodes,
    method: found.method,
    dag: found.dag,
    adjacency: marks,
    edges,
    targets: targets.map((t) => t.map((v) => nodes[v])),
    score: found.score,
    resamples,
    scoreWithin: found.scoreWithin,
  };
}

/** One search, exact or greedy as `method` and the size say, without stabilities. */
function searchOnce(values: ArrayLike<number>, n: number, m: number, o: StructureSearchOptions) {
  const method = o.method ?? 'auto';
  const exact = method === 'exact' || (method === 'auto' && m <= EXACT_SEARCH_MAX_NODES);
  const scorer = localScorer(values, n, m, o);
  if (exact) {
    const r = exactSearch(values, n, m, o, scorer);
    return {
      nodes: r.nodes,
      dag: r.adjacency,
      score: r.score,
      method: 'exact' as const,
      scoreWithin: r.scoreWithin,
    };
  }
  const r = greedySearch(values, n, m, o, scorer);
  return {
    nodes: r.nodes,
    dag: r.adjacency,
    score: r.score,
    method: 'greedy' as const,
    scoreWithin: (A: number[][]) => bestWithin(scorer, A),
  };
}

/** Each node's best score over the subsets of its parents in A (every subgraph of a DAG is one). */
function bestWithin(scorer: LocalScorer, A: number[][]): number {
  let total = 0;
  for (let j = 0; j < A.length; j++) {
    const pa = A.flatMap((row, i) => (row[j] ? [i] : []));
    if (pa.length > 10) throw new OptionError(`scoreWithin: node ${j} has ${pa.length} parents (at most 10)`);
    let best = Number.POSITIVE_INFINITY;
    for (let S = 0; S < 1 << pa.length; S++)
      best = Math.min(
        best,
        scorer.score(
          j,
          pa.filter((_, t) => S & (1 << t)),
        ),
      );
    total += best;
  }
  return total;
}

/** The essential graph as one matrix: 1 at [i][j] and 0 at [j][i] for i -> j, 1 at both for i - j. */
function markMatrix(
  dag: number[][],
  targets: number[][],
  known: readonly (readonly [number, number])[],
): number[][] {
  const g = essentialGraph(dag, targets, known);
  const A = g.directed.map((r) => [...r]);
  for (const [i, j] of g.undirected) {
    A[i][j] = 1;
    A[j][i] = 1;
  }
  return A;
}

/** `size` distinct row indices out of `rows`, in drawn order (a partial Fisher-Yates shuffle). */
export function subsample(rows: number, size: number, random: () => number): number[] {
  const order = Array.from({ length: rows }, (_, k) => k);
  for (let k = 0; k < size; k++) {
    const pick = k + Math.floor(random() * (rows - k));
    [order[k], order[pick]] = [order[pick], order[k]];
  }
  return order.slice(0, size);
}
