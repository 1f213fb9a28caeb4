/**
 * Causal graphs as plain adjacency matrices, in pure TypeScript: no tensors, so that data/ (the
 * synthetic worlds order their equations with `topologicalOrder`) does not load the engine.
 *
 * A graph is an m x m adjacency matrix `A` with `A[i][j] != 0` meaning i -> j (the convention of
 * docs/method.md section 1); entries may carry weights. The functions work on node indices; messages may
 * name the nodes.
 *
 * Also here: the graph comparison metrics (SHD, TPR, FDR, ...) with the conventions of NOTEARS'
 * `count_accuracy`. The acyclicity value h(A) needs a matrix exponential: see acyclicity.ts.
 */

import { GraphError, OptionError } from '../errors.ts';

/** A square adjacency matrix; `A[i][j] != 0` means an edge i -> j with that weight. */
export type Adjacency = readonly ArrayLike<number>[];

/** One edge of a graph; `T` is `number` for node indices, `string` for node names. */
export interface Edge<T = number> {
  from: T;
  to: T;
  weight: number;
}

// ---------------------------------------------------------------------------------------------
// Validation

/** Side of a square adjacency matrix; throws GraphError naming `fn` if `A` is not square. */
export function sideOf(fn: string, A: Adjacency, name = 'A'): number {
  if (!Array.isArray(A)) throw new GraphError(`${fn}: ${name} must be an array of rows, got ${typeof A}`);
  const m = A.length;
  for (let i = 0; i < m; i++) {
    const row = A[i];
    if (row == null || row.length !== m) {
      throw new GraphError(
        `${fn}: ${name} must be square (${m} x ${m}), but row ${i} has length ${row == null ? row : row.length}`,
      );
    }
    for (let j = 0; j < m; j++) {
      if (!Number.isFinite(row[j]))
        throw new GraphError(`${fn}: ${name}[${i}][${j}] is ${row[j]}, expected a finite number`);
    }
  }
  return m;
}

function checkIndex(fn: string, m: number, i: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= m) {
    throw new GraphError(`${fn}: node index must be an integer in [0, ${m - 1}], got ${i}`);
  }
}

function checkThreshold(fn: string, t: number): void {
  if (typeof t !== 'number' || !(t >= 0) || !Number.isFinite(t)) {
    throw new OptionError(`${fn}: Expected a finite number >= 0 for threshold but received ${t}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Structure queries by index

/** Indices j with an edge i -> j, ascending. `children([[0, 1], [0, 0]], 0) // [1]` */
export function children(A: Adjacency, i: number): number[] {
  const m = sideOf('children', A);
  checkIndex('children', m, i);
  const out: number[] = [];
  for (let j = 0; j < m; j++) if (A[i][j] !== 0) out.push(j);
  return out;
}

/** Indices k with an edge k -> i, ascending. `parents([[0, 1], [0, 0]], 1) // [0]` */
export function parents(A: Adjacency, i: number): number[] {
  const m = sideOf('parents', A);
  checkIndex('parents', m, i);
  const out: number[] = [];
  for (let k = 0; k < m; k++) if (A[k][i] !== 0) out.push(k);
  return out;
}

/** Nodes reachable from `start` along edges (forward) or against them (backward), excluding `start` unless on a cycle. */
function reachable(A: Adjacency, start: number, forward: boolean): number[] {
  const m = A.length;
  const seen = new Uint8Array(m);
  const stack = [start];
  while (stack.length > 0) {
    const u = stack.pop()!;
    for (let v = 0; v < m; v++) {
      const w = forward ? A[u][v] : A[v][u];
      if (w !== 0 && !seen[v]) {
        seen[v] = 1;
        stack.push(v);
      }
    }
  }
  const out: number[] = [];
  for (let v = 0; v < m; v++) if (seen[v]) out.push(v);
  return out;
}

/**
 * Indices of all nodes with a directed path to i, ascending. i itself is included only if it lies
 * on a cycle. `ancestors([[0, 1, 0], [0, 0, 1], [0, 0, 0]], 2) // [0, 1]`
 */
export function ancestors(A: Adjacency, i: number): number[] {
  const m = sideOf('ancestors', A);
  checkIndex('ancestors', m, i);
  return reachable(A, i, false);
}

/**
 * Indices of all nodes reachable from i by a directed path, ascending. i itself is included only
 * if it lies on a cycle. `descendants([[0, 1, 0], [0, 0, 1], [0, 0, 0]], 0) // [1, 2]`
 */
export function descendants(A: Adjacency, i: number): number[] {
  const m = sideOf('descendants', A);
  checkIndex('descendants', m, i);
  return reachable(A, i, true);
}

// ---------------------------------------------------------------------------------------------
// Cycles and order

/**
 * One directed cycle of the graph as node indices [v0, v1, ..., vk] (edges v0 -> v1 -> ... -> vk
 * -> v0), or null if the graph is a DAG. A self-loop is the cycle [i]. Deterministic: depth-first
 * search from the lowest index.
 */
export function findCycle(A: Adjacency): number[] | null {
  const m = sideOf('findCycle', A);
  // 0 = unvisited, 1 = on the current DFS path, 2 = finished
  const state = new Uint8Array(m);
  const path: number[] = [];
  const next = new Int32Array(m); // next child to try, per node on the path

  for (let root = 0; root < m; root++) {
    if (state[root] !== 0) continue;
    path.push(root);
    state[root] = 1;
    next[root] = 0;
    // Iterative DFS, so a long chain cannot overflow the JS stack.
    while (path.length > 0) {
      const u = path[path.length - 1];
      let advanced = false;
      while (next[u] < m) {
        const v = next[u]++;
        if (A[u][v] === 0) continue;
        if (state[v] === 1) return path.slice(path.indexOf(v));
        if (state[v] === 0) {
          state[v] = 1;
          next[v] = 0;
          path.push(v);
          advanced = true;
          break;
        }
      }
      if (!advanced) {
        state[u] = 2;
        path.pop();
      }
    }
  }
  return null;
}

/** True when the graph has no directed cycle (self-loops count as cycles). */
export function isDag(A: Adjacency): boolean {
  return findCycle(A) === null;
}

/** "a -> b -> c -> a" for the cycle [a, b, c]. */
function formatCycle(cycle: number[], nodes?: readonly string[]): string {
  const label = (i: number) => (nodes ? nodes[i] : String(i));
  return [...cycle, cycle[0]].map(label).join(' -> ');
}

/**
 * Throws GraphError "graph has a cycle: a -> b -> a" unless the graph is a DAG. `nodes` names the
 * indices in the message.
 */
export function assertDag(A: Adjacency, nodes?: readonly string[]): void {
  const cycle = findCycle(A);
  if (cycle) throw new GraphError(`graph has a cycle: ${formatCycle(cycle, nodes)}`);
}

/**
 * A topological order of the node indices: every edge i -> j has i before j. Among the nodes
 * ready at each step the lowest index comes first, so the order is deterministic. Throws
 * GraphError naming a cycle if there is one.
 * `topologicalOrder([[0, 0], [1, 0]]) // [1, 0]`
 */
export function topologicalOrder(A: Adjacency, nodes?: readonly string[]): number[] {
  const m = sideOf('topologicalOrder', A);
  assertDag(A, nodes);
  const indegree = new Int32Array(m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) if (A[i][j] !== 0) indegree[j]++;
  const order: number[] = [];
  const done = new Uint8Array(m);
  // Kahn's algorithm with a linear scan for the lowest ready index: m is small (tens of nodes).
  for (let step = 0; step < m; step++) {
    let u = -1;
    for (let v = 0; v < m; v++) {
      if (!done[v] && indegree[v] === 0) {
        u = v;
        break;
      }
    }
    done[u] = 1;
    order.push(u);
    for (let j = 0; j < m; j++) if (A[u][j] !== 0) indegree[j]--;
  }
  return order;
}

// ---------------------------------------------------------------------------------------------
// Thresholding and edges

/**
 * An edge of a learned graph is one whose standardized effect exceeds this: a change of one
 * standard deviation in the cause moves the effect's mechanism by at least 0.3 of the effect's
 * standard deviation (ScmPrior.standardizedEffects; NOTEARS' 0.3, which it applies to
 * coefficients of standardized data). One meaning for the linear and the MLP parent models, for
 * a trained model's u-space and for a label search.
 */
export const EDGE_THRESHOLD = 0.3;

/**
 * Binary adjacency: 1 where |A[i][j]| > t, else 0 (NOTEARS reports edges with |w| > 0.3).
 * `threshold([[0, 0.5], [-0.1, 0]], 0.3) // [[0, 1], [0, 0]]`
 */
export function threshold(A: Adjacency, t: number): number[][] {
  const m = sideOf('threshold', A);
  checkThreshold('threshold', t);
  const out: number[][] = [];
  for (let i = 0; i < m; i++) {
    const row = new Array<number>(m);
    for (let j = 0; j < m; j++) row[j] = Math.abs(A[i][j]) > t ? 1 : 0;
    out.push(row);
  }
  return out;
}

/**
 * The edges with |weight| > t, row by row (by cause, then effect).
 * `edges([[0, 0.5], [0, 0]]) // [{ from: 0, to: 1, weight: 0.5 }]`
 */
export function edges(A: Adjacency, t = 0): Edge[] {
  const m = sideOf('edges', A);
  checkThreshold('edges', t);
  const out: Edge[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      const w = A[i][j];
      if (Math.abs(w) > t) out.push({ from: i, to: j, weight: w });
    }
  }
  return out;
}

/** The edges with |weight| > t as [cause, effect] name pairs, in edges()'s order. */
export function namedEdges(A: Adjacency, nodes: readonly string[], t = 0): [string, string][] {
  return edges(A, t).map((e): [string, string] => [nodes[e.from], nodes[e.to]]);
}

// ---------------------------------------------------------------------------------------------
// Comparison of an estimated graph with the true one

/**
 * Accuracy of an estimated graph against the true one, following NOTEARS' `count_accuracy`
 * (Zheng et al. 2018, `notears/utils.py`). An entry is an edge when |w| > threshold. With
 * "pair" meaning an unordered pair {i, j} (the skeleton):
 */
export interface GraphComparison {
  /** Estimated edges i -> j that are true edges i -> j. */
  truePositive: number;
  /** Estimated edges i -> j that are not true edges but whose reverse j -> i is. */
  reversed: number;
  /** Estimated edges i -> j whose pair is not joined at all in the true graph. */
  falsePositive: number;
  /** Pairs joined in the estimate but not in the true graph (undirected "extra" of SHD). */
  extra: number;
  /** Pairs joined in the true graph but not in the estimate (undirected "missing" of SHD). */
  missing: number;
  /** Number of estimated edges ("nnz"). */
  predicted: number;
  /** Number of true edges (condition positive). */
  condition: number;
  /** Structural Hamming distance: extra + missing + reversed; a reversed edge counts once. */
  shd: number;
  /** True positive rate: truePositive / max(condition, 1). */
  tpr: number;
  /** False discovery rate: (reversed + falsePositive) / max(predicted, 1). */
  fdr: number;
  /** False positive rate: (reversed + falsePositive) / max(m(m-1)/2 - condition, 1). */
  fpr: number;
}

/**
 * Compares an estimated graph with the true one (see GraphComparison for every count). The
 * estimate need not be a DAG (NOTEARS insists on one; a learned matrix may hold a 2-cycle, whose
 * wrong direction then counts as reversed).
 * `compareGraphs([[0, 1], [0, 0]], [[0, 0], [1, 0]]).shd // 1 (one reversed edge)`
 */
export function compareGraphs(
  trueA: Adjacency,
  estA: Adjacency,
  opts: { threshold?: number } = {},
): GraphComparison {
  const m = sideOf('compareGraphs', trueA, 'trueA');
  const me = sideOf('compareGraphs', estA, 'estA');
  if (me !== m) throw new GraphError(`compareGraphs: trueA is ${m} x ${m} but estA is ${me} x ${me}`);
  const t = opts.threshold ?? 0;
  checkThreshold('compareGraphs', t);
  const T = threshold(trueA, t);
  const E = threshold(estA, t);

  let truePositive = 0;
  let reversed = 0;
  let falsePositive = 0;
  let predicted = 0;
  let condition = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      if (T[i][j]) condition++;
      if (!E[i][j]) continue;
      predicted++;
      if (T[i][j]) truePositive++;
      else if (T[j][i]) reversed++;
      else falsePositive++;
    }
  }
  let extra = 0;
  let missing = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < i; j++) {
      const inTrue = T[i][j] || T[j][i];
      const inEst = E[i][j] || E[j][i];
      if (inEst && !inTrue) extra++;
      if (inTrue && !inEst) missing++;
    }
  }
  const condNegative = (m * (m - 1)) / 2 - condition;
  return {
    truePositive,
    reversed,
    falsePositive,
    extra,
    missing,
    predicted,
    condition,
    shd: extra + missing + reversed,
    tpr: truePositive / Math.max(condition, 1),
    fdr: (reversed + falsePositive) / Math.max(predicted, 1),
    fpr: (reversed + falsePositive) / Math.max(condNegative, 1),
  };
}

/** Structural Hamming distance (extra + missing + reversed). `shd([[0, 1], [0, 0]], [[0, 0], [0, 0]]) // 1` */
export function shd(trueA: Adjacency, estA: Adjacency, opts: { threshold?: number } = {}): number {
  return compareGraphs(trueA, estA, opts).shd;
}
