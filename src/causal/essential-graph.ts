/**
 * Which orientations of a DAG the data can determine: its (interventional) essential graph.
 *
 * Observational data identify a DAG only up to Markov equivalence; the class is drawn as a CPDAG
 * (Chickering 2002): an edge is directed when every DAG of the class has it that way, undirected
 * otherwise. With interventional regimes (rows where some nodes were set by do()), the class
 * shrinks to the I-Markov equivalence class, drawn as the I-essential graph (Hauser & Buehlmann
 * 2012). Both are built the same way here:
 *
 *   1. the skeleton of the DAG, every edge undirected;
 *   2. the v-structures a -> c <- b (a, b not adjacent) directed as in the DAG;
 *   3. an edge a - b directed as in the DAG when some target set holds exactly one of a, b
 *      (that regime cuts one of them off from its parents, which tells the direction apart:
 *      Hauser & Buehlmann 2012, Lemma 9 and Theorem 10);
 *   3b. edges whose direction is known in advance (a user's required edges) directed;
 *   4. Meek's rules R1-R4 until nothing changes (complete for orientations known in advance,
 *      Meek 1995).
 *
 * With only the empty target (observational data) that is the CPDAG.
 *
 * @example
 *   const g = essentialGraph([[0, 1, 0], [0, 0, 1], [0, 0, 0]]); // a chain
 *   g.undirected; // [[0, 1], [1, 2]]: no direction is determined
 */
import { GraphError } from '../errors.ts';
import { assertDag, sideOf } from './graph.ts';

export interface EssentialGraph {
  /** directed[i][j] = 1: every DAG of the class has i -> j */
  directed: number[][];
  /** the undirected edges [i, j] with i < j, in row order */
  undirected: [number, number][];
}

/**
 * The essential graph of `dag` (0/1 or weighted, A[i][j] != 0 for i -> j) under the intervention
 * target sets `targets` (node indices; default `[[]]`, observational only: the CPDAG), with the
 * DAG's edges among `known` [cause, effect] taken as given (background knowledge, Meek 1995).
 */
export function essentialGraph(
  dag: ArrayLike<number>[],
  targets: readonly (readonly number[])[] = [[]],
  known: readonly (readonly [number, number])[] = [],
): EssentialGraph {
  const m = sideOf('essentialGraph', dag, 'dag');
  assertDag(dag);
  for (const t of targets)
    for (const v of t)
      if (!Number.isInteger(v) || v < 0 || v >= m)
        throw new GraphError(`essentialGraph: target node ${v} is not in [0, ${m - 1}]`);
  const edge = (i: number, j: number) => dag[i][j] !== 0;
  const adjacent = (i: number, j: number) => edge(i, j) || edge(j, i);
  const dir = Array.from({ length: m }, () => new Array<number>(m).fill(0));
  const und = Array.from({ length: m }, () => new Array<number>(m).fill(0));
  for (let i = 0; i < m; i++)
    for (let j = 0; j < m; j++)
      if (edge(i, j)) {
        und[i][j] = 1;
        und[j][i] = 1;
      }
  const orient = (i: number, j: number) => {
    und[i][j] = 0;
    und[j][i] = 0;
    dir[i][j] = 1;
  };
  // v-structures
  for (let c = 0; c < m; c++)
    for (let a = 0; a < m; a++)
      for (let b = a + 1; b < m; b++)
        if (edge(a, c) && edge(b, c) && !adjacent(a, b)) {
          orient(a, c);
          orient(b, c);
        }
  // edges an intervention target separates
  const sets = targets.map((t) => new Set(t));
  for (let i = 0; i < m; i++)
    for (let j = 0; j < m; j++) if (edge(i, j) && sets.some((s) => s.has(i) !== s.has(j))) orient(i, j);
  // directions the user fixed (required edges, or the reverse of a forbidden one)
  for (const [i, j] of known) if (edge(i, j)) orient(i, j);
  meekClosure(dir, und);
  const undirected: [number, number][] = [];
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) if (und[i][j]) undirected.push([i, j]);
  return { directed: dir, undirected };
}

/**
 * Applies Meek's rules to the partially directed graph (dir[i][j] = 1: i -> j; und symmetric:
 * i - j) in place until no rule fires.
 */
export function meekClosure(dir: number[][], und: number[][]): void {
  const m = dir.length;
  const adj = (a: number, b: number) => dir[a][b] || dir[b][a] || und[a][b];
  const orient = (a: number, b: number) => {
    und[a][b] = 0;
    und[b][a] = 0;
    dir[a][b] = 1;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let a = 0; a < m; a++)
      for (let b = 0; b < m; b++) {
        if (!und[a][b]) continue;
        let fire = false;
        for (let c = 0; c < m && !fire; c++) {
          if (c === a || c === b) continue;
          // R1: c -> a - b, c and b not adjacent
          if (dir[c][a] && !adj(c, b)) fire = true;
          // R2: a -> c -> b
          else if (dir[a][c] && dir[c][b]) fire = true;
          else if (und[a][c]) {
            for (let d = 0; d < m && !fire; d++) {
              if (d === a || d === b || d === c || !und[a][d] || adj(c, d)) continue;
              // R3: a - c -> b, a - d -> b, c and d not adjacent
              if (dir[c][b] && dir[d][b]) fire = true;
            }
          }
          // R4: a - d -> c -> b, a adjacent to c, d and b not adjacent
          if (!fire && dir[c][b] && adj(a, c))
            for (let d = 0; d < m && !fire; d++)
              if (d !== a && d !== b && d !== c && und[a][d] && dir[d][c] && !adj(d, b)) fire = true;
        }
        if (fire) {
          orient(a, b);
          changed = true;
        }
      }
  }
}

/**
 * The distinct intervention target sets of a table's regimes (intervened[r * m + j] = 1 when
 * node j was set by do() in row r), the observational one (empty) included when a row has none.
 */
export function targetsOfRegimes(
  intervened: ArrayLike<number> | undefined,
  n: number,
  m: number,
): number[][] {
  if (!intervened) return [[]];
  const seen = new Map<string, number[]>();
  for (let r = 0; r < n; r++) {
    const t: number[] = [];
    for (let j = 0; j < m; j++) if (intervened[r * m + j]) t.push(j);
    seen.set(t.join(','), t);
  }
  return [...seen.values()];
}
