import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { acyclicity } from '../src/causal/acyclicity.ts';
import { essentialGraph } from '../src/causal/essential-graph.ts';
import {
  ancestors,
  assertDag,
  children,
  compareGraphs,
  descendants,
  edges,
  findCycle,
  isDag,
  parents,
  shd,
  threshold,
  topologicalOrder,
} from '../src/causal/graph.ts';
import { GraphError, OptionError } from '../src/errors.ts';
import { allDags } from './helpers/dags.ts';

const zeros = (m: number) => Array.from({ length: m }, () => new Array<number>(m).fill(0));

/** A binary matrix from index edges. */
function adj(m: number, list: [number, number][]): number[][] {
  const A = zeros(m);
  for (const [i, j] of list) A[i][j] = 1;
  return A;
}

// The pendulum world's true graph (SPEC.md section 5): theta, phi -> shade, mid.
const PENDULUM = ['theta', 'phi', 'shade', 'mid'];
const pendulum = () =>
  adj(4, [
    [0, 2],
    [0, 3],
    [1, 2],
    [1, 3],
  ]);

describe('structure queries', () => {
  test('parents, children, ancestors, descendants by index', () => {
    // 0 -> 1 -> 2, 3 -> 2, 4 isolated
    const A = adj(5, [
      [0, 1],
      [1, 2],
      [3, 2],
    ]);
    assert.deepEqual(parents(A, 2), [1, 3]);
    assert.deepEqual(children(A, 0), [1]);
    assert.deepEqual(ancestors(A, 2), [0, 1, 3]);
    assert.deepEqual(descendants(A, 0), [1, 2]);
    assert.deepEqual(descendants(A, 4), []);
    assert.deepEqual(ancestors(A, 0), []);
  });

  test('on the pendulum graph', () => {
    const A = pendulum();
    assert.deepEqual(parents(A, 2), [0, 1]);
    assert.deepEqual(children(A, 0), [2, 3]);
    assert.deepEqual(descendants(A, 1), [2, 3]);
    assert.deepEqual(ancestors(A, 3), [0, 1]);
    assert.deepEqual(parents(A, 0), []);
  });

  test('a node on a cycle is its own ancestor and descendant', () => {
    const A = adj(3, [
      [0, 1],
      [1, 0],
    ]);
    assert.deepEqual(descendants(A, 0), [0, 1]);
    assert.deepEqual(ancestors(A, 1), [0, 1]);
  });

  test('weights count as edges, zero does not', () => {
    const A = [
      [0, -0.4, 0],
      [0, 0, 2.5],
      [0, 0, 0],
    ];
    assert.deepEqual(children(A, 0), [1]);
    assert.deepEqual(descendants(A, 0), [1, 2]);
  });
});

describe('validation', () => {
  test('a non-square matrix is refused with its shape', () => {
    assert.throws(() => isDag([[0, 1], [0]]), /must be square \(2 x 2\), but row 1 has length 1/);
  });
});

describe('cycles and topological order', () => {
  test('a DAG has no cycle', () => {
    assert.equal(isDag(pendulum()), true);
    assert.equal(findCycle(pendulum()), null);
    assert.equal(isDag([]), true);
  });

  test('findCycle returns a real cycle and the message names it', () => {
    const names = ['a', 'b', 'c', 'd'];
    const A = adj(4, [
      [3, 0],
      [0, 1],
      [1, 2],
      [2, 0],
    ]);
    assert.equal(isDag(A), false);
    assert.deepEqual(findCycle(A), [0, 1, 2]);
    assert.throws(
      () => assertDag(A, names),
      (e: unknown) => e instanceof GraphError && e.message === 'graph has a cycle: a -> b -> c -> a',
    );
    assert.throws(() => topologicalOrder(A, names), /graph has a cycle: a -> b -> c -> a/);
  });

  test('every cycle found is closed by edges', () => {
    // A 6-cycle reached through a tail, with distractor edges.
    const A = adj(8, [
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 5],
      [5, 6],
      [6, 2],
      [1, 7],
      [7, 3],
    ]);
    const c = findCycle(A)!;
    assert.ok(c.length >= 2);
    for (let k = 0; k < c.length; k++)
      assert.notEqual(A[c[k]][c[(k + 1) % c.length]], 0, `edge ${c[k]} -> ${c[(k + 1) % c.length]}`);
  });

  test('a self-loop in a raw matrix is a cycle of one', () => {
    assert.deepEqual(
      findCycle([
        [0, 0],
        [0, 3],
      ]),
      [1],
    );
    assert.throws(
      () =>
        topologicalOrder([
          [0, 0],
          [0, 3],
        ]),
      /graph has a cycle: 1 -> 1/,
    );
  });

  test('topological order respects every edge', () => {
    // A random DAG: edges only from lower to higher rank of a fixed permutation.
    const m = 12;
    const perm = [7, 2, 9, 0, 11, 4, 1, 10, 3, 8, 6, 5];
    const A = zeros(m);
    let seed = 3;
    const rand = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (let a = 0; a < m; a++) for (let b = a + 1; b < m; b++) if (rand() < 0.35) A[perm[a]][perm[b]] = 1;
    const order = topologicalOrder(A);
    assert.deepEqual(
      [...order].sort((x, y) => x - y),
      Array.from({ length: m }, (_, i) => i),
    );
    const pos = new Map(order.map((v, k) => [v, k]));
    let count = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        if (A[i][j]) {
          count++;
          assert.ok(pos.get(i)! < pos.get(j)!, `${i} -> ${j} out of order`);
        }
      }
    }
    assert.ok(count > 10);
  });

  test('topological order is deterministic, lowest ready index first', () => {
    assert.deepEqual(
      topologicalOrder(pendulum()).map((i) => PENDULUM[i]),
      ['theta', 'phi', 'shade', 'mid'],
    );
    assert.deepEqual(topologicalOrder(adj(3, [[2, 0]])), [1, 2, 0]);
  });
});

describe('threshold and edges', () => {
  const W = [
    [0, 0.5, -0.31],
    [0.3, 0, 0.1],
    [-2, 0, 0],
  ];

  test('threshold keeps |w| > t', () => {
    assert.deepEqual(threshold(W, 0.3), [
      [0, 1, 1],
      [0, 0, 0],
      [1, 0, 0],
    ]);
  });

  test('edges lists weights above the threshold', () => {
    assert.deepEqual(edges(W, 0.3), [
      { from: 0, to: 1, weight: 0.5 },
      { from: 0, to: 2, weight: -0.31 },
      { from: 2, to: 0, weight: -2 },
    ]);
    assert.equal(edges(W).length, 5);
  });

  test('a bad threshold is an OptionError naming the function', () => {
    assert.throws(
      () => threshold(W, -1),
      (e: unknown) => e instanceof OptionError && /threshold: .* received -1/.test(e.message),
    );
    assert.throws(() => edges(W, Number.NaN), OptionError);
  });
});

describe('acyclicity h(A)', () => {
  test('h = 0 for a DAG, weighted or not', () => {
    assert.ok(Math.abs(acyclicity(pendulum())) <= 1e-12);
    const W = [
      [0, 1.7, -2.2, 0.4],
      [0, 0, 3.1, 0],
      [0, 0, 0, -1.5],
      [0, 0, 0, 0],
    ];
    assert.ok(Math.abs(acyclicity(W)) <= 1e-12);
  });

  test('h of a 2-cycle is 2 cosh(ab) - 2', () => {
    // W = A o A = [[0, a^2], [b^2, 0]]; W^2 = (ab)^2 I, so exp(W) = cosh(ab) I + sinh(ab)/(ab) W.
    for (const [a, b] of [
      [0.5, 0.8],
      [1, 1],
      [-1.3, 2],
      [0.01, 0.02],
    ]) {
      const want = 2 * Math.cosh(a * b) - 2;
      const got = acyclicity([
        [0, a],
        [b, 0],
      ]);
      assert.ok(Math.abs(got - want) <= 1e-10 * Math.max(1, want), `a=${a} b=${b}: ${got} vs ${want}`);
      assert.ok(got > 0);
    }
  });

  test('h of a 3-cycle with unit weights: tr exp(P) - 3 for the cyclic permutation P', () => {
    // tr(P^k) = 3 when 3 | k, else 0: tr exp(P) = 3 sum_k 1/(3k)! = e + 2 e^(-1/2) cos(sqrt(3)/2).
    const want = Math.E + 2 * Math.exp(-0.5) * Math.cos(Math.sqrt(3) / 2) - 3;
    const got = acyclicity(
      adj(3, [
        [0, 1],
        [1, 2],
        [2, 0],
      ]),
    );
    assert.ok(Math.abs(got - want) < 1e-12, `${got} vs ${want}`);
  });
});

describe('graph comparison (NOTEARS count_accuracy)', () => {
  const truth = adj(4, [
    [0, 1],
    [1, 2],
    [2, 3],
  ]);

  test('identical graphs: SHD 0, TPR 1, FDR 0', () => {
    const c = compareGraphs(truth, truth);
    assert.equal(c.shd, 0);
    assert.equal(c.tpr, 1);
    assert.equal(c.fdr, 0);
    assert.equal(c.truePositive, 3);
  });

  test('one missing edge: SHD 1', () => {
    const c = compareGraphs(
      truth,
      adj(4, [
        [0, 1],
        [1, 2],
      ]),
    );
    assert.deepEqual([c.shd, c.missing, c.extra, c.reversed], [1, 1, 0, 0]);
    assert.equal(c.tpr, 2 / 3);
  });

  test('one reversed edge counts once: SHD 1', () => {
    const c = compareGraphs(
      truth,
      adj(4, [
        [0, 1],
        [2, 1],
        [2, 3],
      ]),
    );
    assert.deepEqual([c.shd, c.missing, c.extra, c.reversed, c.truePositive], [1, 0, 0, 1, 2]);
    assert.equal(c.fdr, 1 / 3);
  });

  test('one extra edge: SHD 1', () => {
    const c = compareGraphs(
      truth,
      adj(4, [
        [0, 1],
        [1, 2],
        [2, 3],
        [0, 3],
      ]),
    );
    assert.deepEqual([c.shd, c.missing, c.extra, c.reversed, c.falsePositive], [1, 0, 1, 0, 1]);
    assert.equal(c.fdr, 1 / 4);
    assert.equal(c.tpr, 1);
  });

  test('known counts on a mixed case', () => {
    // truth: 0->1, 1->2, 2->3, 0->4. estimate: 0->1 (TP), 2->1 (reversed), 3->4 (false positive),
    // 0->2 (false positive); missing pairs {2,3}, {0,4}; extra pairs {3,4}, {0,2}.
    const t = adj(5, [
      [0, 1],
      [1, 2],
      [2, 3],
      [0, 4],
    ]);
    const e = adj(5, [
      [0, 1],
      [2, 1],
      [3, 4],
      [0, 2],
    ]);
    const c = compareGraphs(t, e);
    assert.deepEqual(
      {
        tp: c.truePositive,
        rev: c.reversed,
        fp: c.falsePositive,
        extra: c.extra,
        missing: c.missing,
        shd: c.shd,
        nnz: c.predicted,
        cond: c.condition,
      },
      { tp: 1, rev: 1, fp: 2, extra: 2, missing: 2, shd: 5, nnz: 4, cond: 4 },
    );
    assert.equal(c.tpr, 1 / 4);
    assert.equal(c.fdr, 3 / 4);
    assert.equal(c.fpr, 3 / (10 - 4));
  });

  test('threshold applies to weighted estimates; an empty estimate has FDR 0', () => {
    const W = [
      [0, 0.9, 0, 0],
      [0, 0, 0.2, 0],
      [0, 0, 0, -0.5],
      [0, 0, 0, 0],
    ];
    assert.equal(shd(truth, W, { threshold: 0.3 }), 1);
    assert.equal(shd(truth, W), 0);
    const c = compareGraphs(truth, zeros(4));
    assert.deepEqual([c.shd, c.tpr, c.fdr], [3, 0, 0]);
  });

  test('a 2-cycle in the estimate: one true positive and one reversed', () => {
    const c = compareGraphs(
      adj(2, [[0, 1]]),
      adj(2, [
        [0, 1],
        [1, 0],
      ]),
    );
    assert.deepEqual([c.truePositive, c.reversed, c.shd, c.fdr], [1, 1, 1, 0.5]);
  });

  test('sizes must match', () => {
    assert.throws(() => compareGraphs(truth, zeros(3)), /trueA is 4 x 4 but estA is 3 x 3/);
  });
});

describe('essential graphs (CPDAG, interventional essential graph)', () => {
  const undirectedOf = (A: number[][], targets?: number[][]) => essentialGraph(A, targets).undirected;

  test('a chain is undirected; a v-structure and the pendulum graph are directed', () => {
    assert.deepEqual(
      undirectedOf(
        adj(3, [
          [0, 1],
          [1, 2],
        ]),
      ),
      [
        [0, 1],
        [1, 2],
      ],
    );
    const v = essentialGraph(
      adj(3, [
        [0, 2],
        [1, 2],
      ]),
    );
    assert.deepEqual(v.undirected, []);
    assert.deepEqual(
      v.directed,
      adj(3, [
        [0, 2],
        [1, 2],
      ]),
    );
    assert.deepEqual(essentialGraph(pendulum()).directed, pendulum());
  });

  test("Meek's rules orient what follows from a v-structure (R1 and R2)", () => {
    // 3 -> 1 <- 0 is a v-structure; then 1 -> 2 (R1) and 0 -> 2 (R2, through 0 -> 1 -> 2)
    const A = adj(4, [
      [3, 1],
      [0, 1],
      [1, 2],
      [0, 2],
    ]);
    const g = essentialGraph(A);
    assert.deepEqual(g.undirected, []);
    assert.deepEqual(g.directed, A);
  });

  test('an intervention target orients the edges it separates, and Meek follows', () => {
    const chain = adj(3, [
      [0, 1],
      [1, 2],
    ]);
    assert.deepEqual(undirectedOf(chain, [[], [1]]), []);
    assert.deepEqual(undirectedOf(chain, [[], [0]]), []); // 0 -> 1, then 1 -> 2 by R1
    assert.deepEqual(undirectedOf(chain, [[], [2]]), [[0, 1]]); // only 1 -> 2 is told apart
    // {0, 1} separates 1 - 2 only: 1 -> 2 does not tell 0 -> 1 from 1 -> 0
    assert.deepEqual(undirectedOf(chain, [[], [0, 1]]), [[0, 1]]);
  });

  test('known directions (a user-required edge) are kept and propagated', () => {
    const chain = adj(3, [
      [0, 1],
      [1, 2],
    ]);
    assert.deepEqual(essentialGraph(chain, [[]], [[0, 1]]).undirected, []);
    assert.deepEqual(essentialGraph(chain, [[]], [[1, 2]]).undirected, [[0, 1]]);
  });

  // Every DAG on 4 nodes, grouped by its (interventional) Markov equivalence class: same skeleton
  // and v-structures, for the DAG and for each target's mutilated DAG (Hauser & Buehlmann 2012,
  // Theorem 10). The essential graph must direct exactly the edges all members share.
  for (const targets of [[[]], [[], [0]], [[], [2]], [[], [1, 3]]] as number[][][])
    test(`on all 543 DAGs over 4 nodes, targets ${JSON.stringify(targets)}: directed = shared by the whole class`, () => {
      const dags = allDags(4);
      assert.equal(dags.length, 543);
      const signature = (A: number[][]) =>
        targets
          .map((t) => {
            const M = A.map((r) => r.map((v, j) => (t.includes(j) ? 0 : v)));
            const skeleton = M.map((r, i) => r.map((v, j) => v || M[j][i]).join('')).join('/');
            const vs: string[] = [];
            for (let c = 0; c < 4; c++)
              for (let a = 0; a < 4; a++)
                for (let b = a + 1; b < 4; b++)
                  if (M[a][c] && M[b][c] && !M[a][b] && !M[b][a]) vs.push(`${a}${b}>${c}`);
            return `${skeleton}|${vs.join(',')}`;
          })
          .join(' ; ');
      const classes = new Map<string, number[][][]>();
      for (const A of dags) classes.set(signature(A), [...(classes.get(signature(A)) ?? []), A]);
      if (targets.length === 1) assert.equal(classes.size, 185); // the known count of CPDAGs on 4 nodes
      for (const members of classes.values())
        for (const A of members) {
          const g = essentialGraph(A, targets);
          for (let i = 0; i < 4; i++)
            for (let j = 0; j < 4; j++) {
              if (!A[i][j]) continue;
              const shared = members.every((B) => B[i][j] === 1);
              assert.equal(g.directed[i][j] === 1, shared, `${JSON.stringify(A)} edge ${i} -> ${j}`);
            }
        }
    });
});
