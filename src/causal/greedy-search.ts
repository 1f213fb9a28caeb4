/**
 * Structure search beyond the exact search's reach (more than EXACT_SEARCH_MAX_NODES nodes, e.g.
 * CelebA's 40 attributes): greedy hill climbing over DAGs with the same decomposable score
 * (local-score.ts), restricted to a candidate parent set per node and a bounded in-degree, as
 * in MMHC's and bnlearn's `hc` (Tsamardinos et al. 2006):
 *
 *   1. candidates of j: the required parents, and the `maxCandidates` allowed nodes whose single
 *      parent improves j's score most (only those that improve it at all);
 *   2. from the required edges, apply the best of every edge addition, removal and reversal
 *      that keeps a DAG, until none improves the score (each node's fits cached).
 *
 * It can stop in a local optimum; the exact search cannot. Which one runs is search.ts's choice.
 */
import type { ExactSearchOptions } from './exact-search.ts';
import { searchConstraints } from './exact-search.ts';
import { namedEdges } from './graph.ts';
import { type LocalScorer, localScorer } from './local-score.ts';

export interface GreedySearchOptions extends ExactSearchOptions {
  /** candidate parents per node (default 8) */
  maxCandidates?: number;
}

export interface GreedySearchResult {
  nodes: string[];
  adjacency: number[][];
  edges: [string, string][];
  score: number;
}

/** A DAG over the m columns of `values` ([n, m] row-major), each move the best one. */
export function greedySearch(
  values: ArrayLike<number>,
  n: number,
  m: number,
  o: GreedySearchOptions = {},
  scorer?: LocalScorer,
): GreedySearchResult {
  const { nodes, may, must } = searchConstraints('greedySearch', values, n, m, o);
  const fit = scorer ?? localScorer(values, n, m, o);
  const maxParents = Math.min(m - 1, o.maxParents ?? 4);
  const maxCandidates = o.maxCandidates ?? 8;
  const cache = new Map<string, number>();
  const score = (j: number, ps: number[]) => {
    const sorted = [...ps].sort((a, b) => a - b);
    const key = `${j}:${sorted.join(',')}`;
    let s = cache.get(key);
    if (s === undefined) {
      s = fit.score(j, sorted);
      cache.set(key, s);
    }
    return s;
  };

  const candidate = nodes.map((_, j) => {
    const alone = score(j, []);
    const gains = nodes
      .map((_, i) => ({ i, gain: may[i][j] && !must[i][j] ? alone - score(j, [i]) : 0 }))
      .filter((c) => c.gain > 0)
      .sort((a, b) => b.gain - a.gain)
      .slice(0, maxCandidates)
      .map((c) => c.i);
    const set = new Array<boolean>(m).fill(false);
    for (const i of gains) set[i] = true;
    for (let i = 0; i < m; i++) if (must[i][j]) set[i] = true;
    return set;
  });

  const A = nodes.map((_, i) => nodes.map((_, j) => (must[i][j] ? 1 : 0)));
  const parentsOf = (j: number) => nodes.flatMap((_, i) => (A[i][j] ? [i] : []));
  const current = nodes.map((_, j) => score(j, parentsOf(j)));
  /** a directed path from `from` to `to`, the edge skip -> skipTo left out */
  const reaches = (from: number, to: number, skip = -1, skipTo = -1) => {
    const seen = new Uint8Array(m);
    const stack = [from];
    seen[from] = 1;
    while (stack.length > 0) {
      const u = stack.pop()!;
      if (u === to) return true;
      for (let v = 0; v < m; v++)
        if (A[u][v] && !seen[v] && !(u === skip && v === skipTo)) {
          seen[v] = 1;
          stack.push(v);
        }
    }
    return false;
  };

  for (let iteration = 0; iteration < m * m; iteration++) {
    let best = { delta: -1e-12, apply: () => {} };
    for (let j = 0; j < m; j++) {
      const pa = parentsOf(j);
      for (let i = 0; i < m; i++) {
        if (i === j) continue;
        if (A[i][j]) {
          if (must[i][j]) continue;
          const without = pa.filter((p) => p !== i);
          const removal = score(j, without) - current[j];
          if (removal < best.delta)
            best = {
              delta: removal,
              apply: () => {
                A[i][j] = 0;
              },
            };
          // reversal i -> j to j -> i: no other path from i to j
          const paI = parentsOf(i);
          if (may[j][i] && candidate[i][j] && paI.length < maxParents && !reaches(i, j, i, j)) {
            const reversal = removal + score(i, [...paI, j]) - current[i];
            if (reversal < best.delta)
              best = {
                delta: reversal,
                apply: () => {
                  A[i][j] = 0;
                  A[j][i] = 1;
                },
              };
          }
        } else if (!A[j][i] && candidate[j][i] && pa.length < maxParents && !reaches(j, i)) {
          const addition = score(j, [...pa, i]) - current[j];
          if (addition < best.delta)
            best = {
              delta: addition,
              apply: () => {
                A[i][j] = 1;
              },
            };
        }
      }
    }
    if (best.delta >= -1e-12) break;
    best.apply();
    for (let j = 0; j < m; j++) current[j] = score(j, parentsOf(j));
  }
  return { nodes, adjacency: A, edges: namedEdges(A, nodes), score: current.reduce((s, v) => s + v, 0) };
}
