/**
 * Structure search beyond the exact search's reach (more than EXACT_SEARCH_MAX_NODES nodes, e.g.
 * CelebA's 40 attributes): greedy hill climbing over DAGs with the same decomposable score
 * (local-score.ts), restricted to a candidate parent set per node and a bounded in-degree, as
 * in MMHC's and bnlearn's `hc` (Tsamardinos et al. 2006):
 *
 *   1. candidates of j: the required parents, and the `maxCandidates` allowed nodes that lower
 *      j's residual variance most as its only parent (before the per-parent cost: a cause that
 *      is weak alone may count beside another);
 *   2. from the required edges, apply the best of every edge addition, removal and reversal
 *      that keeps a DAG, until none improves the score (each node's fits cached);
 *   3. from that DAG's topological order, a search over orders (Teyssier & Koller 2005): each node
 *      takes its best parent set among the candidates before it (at most maxParents), and a node
 *      moves to the place in the order that improves the sum most, until no move does.
 *
 * It can stop in a local optimum; the exact search cannot. Which one runs is search.ts's choice.
 */
import type { ExactSearchOptions } from './exact-search.ts';
import { searchConstraints } from './exact-search.ts';
import { namedEdges, topologicalOrder } from './graph.ts';
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
      .map((_, i) => ({ i, gain: may[i][j] && !must[i][j] ? alone - score(j, [i]) + fit.perParent(j) : 0 }))
      .filter((c) => c.gain > 0)
      .sort((a, b) => b.gain - a.gain)
      .slice(0, maxCandidates)
      .map((c) => c.i);
    const set = new Array<boolean>(m).fill(false);
    for (const i of gains) set[i] = true;
    for (let i = 0; i < m; i++) if (must[i][j]) set[i] = true;
    return set;
  });

  let A: number[][] = nodes.map((_, i) => nodes.map((_, j) => (must[i][j] ? 1 : 0)));
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

  const climb = () => {
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
    return current.reduce((sum, v) => sum + v, 0);
  };
  climb();
  // then over orders (Teyssier & Koller 2005), from the climbed DAG's order: each node takes its
  // best parent set among its candidates before it, and a node moves to another place in the
  // order while that improves the sum. A DAG climb alone keeps early edges in the wrong direction.
  const chosen = orderSearch(topologicalOrder(A), candidate, must, maxParents, score);
  A = nodes.map(() => new Array<number>(m).fill(0));
  for (let j = 0; j < m; j++) for (const i of chosen.parents[j]) A[i][j] = 1;
  return { nodes, adjacency: A, edges: namedEdges(A, nodes), score: chosen.score };
}

/**
 * Hill climbing over node orders by moving one node to another place. `candidate[j][i]`: i may
 * be a parent of j; `must[i][j]`: i -> j is required (an order that puts j first scores Infinity).
 */
function orderSearch(
  start: number[],
  candidate: boolean[][],
  must: boolean[][],
  maxParents: number,
  score: (j: number, ps: number[]) => number,
): { order: number[]; parents: number[][]; score: number } {
  const m = start.length;
  const memo = new Map<string, { score: number; parents: number[] }>();
  /** j's best parent set within the candidates among `before` */
  const bestParents = (j: number, before: Set<number>) => {
    const pool: number[] = [];
    for (let i = 0; i < m; i++) if (candidate[j][i] && before.has(i)) pool.push(i);
    const key = `${j}:${pool.join(',')}`;
    const hit = memo.get(key);
    if (hit) return hit;
    const required = pool.filter((i) => must[i][j]);
    let best = { score: Number.POSITIVE_INFINITY, parents: [] as number[] };
    const missing = must.some((row, i) => row[j] && !before.has(i));
    if (!missing) {
      const free = pool.filter((i) => !must[i][j]);
      const visit = (from: number, chosen: number[]) => {
        const s = score(j, chosen);
        if (s < best.score) best = { score: s, parents: chosen };
        if (chosen.length >= maxParents) return;
        for (let t = from; t < free.length; t++) visit(t + 1, [...chosen, free[t]]);
      };
      visit(0, required);
    }
    memo.set(key, best);
    return best;
  };
  const evaluate = (order: number[]) => {
    const before = new Set<number>();
    let total = 0;
    const parents: number[][] = new Array(m);
    for (const j of order) {
      const b = bestParents(j, before);
      total += b.score;
      parents[j] = b.parents;
      before.add(j);
    }
    return { order, parents, score: total };
  };
  let current = evaluate(start);
  for (let improved = true; improved; ) {
    improved = false;
    let best = current;
    for (let from = 0; from < m; from++)
      for (let to = 0; to < m; to++) {
        if (to === from) continue;
        const order = [...current.order];
        const [node] = order.splice(from, 1);
        order.splice(to, 0, node);
        const tried = evaluate(order);
        if (tried.score < best.score - 1e-9) best = tried;
      }
    if (best !== current) {
      current = best;
      improved = true;
    }
  }
  return current;
}

/** A small seeded generator in [0, 1) (mulberry32; causal/ does not import data/'s Rng). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
