// The SCM prior: structure modes, acyclicity, mechanisms, interventions, counterfactuals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScmPrior, superGraphMask, updateDagSchedule } from '../src/causal/scm.ts';
import { GraphError, OptionError } from '../src/errors.ts';
import * as torch from '../src/torch/index.ts';
import { optim, Tensor } from '../src/torch/index.ts';

const close = (a: number, b: number, tol = 1e-4, what = '') =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);

/** Sets A (and leaves f the identity: linear, log_scale 0, shift 0). */
function withA(prior: ScmPrior, A: number[][]): void {
  torch.noGrad(() => prior.stateDict().A.copy_(torch.tensor(A)));
}

test('h(A) = 0 for a DAG and the closed form 2 cosh(ab) - 2 for a 2-cycle', () => {
  const p = new ScmPrior({ nodes: ['a', 'b', 'c'], mode: 'learned', mechanism: 'linear' });
  withA(p, [
    [0, 0.8, 0.5],
    [0, 0, -1.2],
    [0, 0, 0],
  ]);
  close(p.acyclicity().item(), 0, 1e-5, 'DAG');
  const q = new ScmPrior({ nodes: ['a', 'b'], mode: 'learned', mechanism: 'linear' });
  withA(q, [
    [0, 0.7],
    [0.9, 0],
  ]);
  // A o A = [[0, a^2], [b^2, 0]]; its eigenvalues are +-ab, so tr exp = 2 cosh(ab)
  close(q.acyclicity().item(), 2 * Math.cosh(0.7 * 0.9) - 2, 1e-5, 'cycle');
});

test('given mode: A gets no gradient outside the super-graph; none mode has A = 0', () => {
  const p = new ScmPrior({ nodes: ['a', 'b', 'c'], mode: 'given', edges: [['a', 'b']], mechanism: 'linear' });
  const A = p.stateDict().A;
  // a loss that would push every entry
  p.sample(16).sum().add(A.sum()).backward();
  const g = A.grad!.toNumbers();
  g.forEach((v, k) => {
    if (k !== 1) assert.equal(Math.abs(v), 0, `entry ${k} has gradient ${v}`);
  });
  assert.notEqual(g[1], 0);
  const none = new ScmPrior({ nodes: ['a', 'b'], mode: 'none', mechanism: 'linear' });
  assert.deepEqual(none.adjacencyArray(), [
    [0, 0],
    [0, 0],
  ]);
});

test('bad graphs are rejected with clear messages', () => {
  assert.throws(
    () => superGraphMask(['a', 'b'], [['a', 'x']]),
    (e: unknown) =>
      e instanceof GraphError && /unknown attribute 'x'; known: a, b/.test((e as Error).message),
  );
  assert.throws(() => superGraphMask(['a', 'b'], [['a', 'a']]), /self-loop on 'a'/);
  assert.throws(
    () =>
      superGraphMask(
        ['a', 'b', 'c'],
        [
          ['a', 'b'],
          ['b', 'c'],
          ['c', 'a'],
        ],
      ),
    /cycle: a -> b -> c -> a/,
  );
  assert.throws(
    () => new ScmPrior({ nodes: ['a'], mode: 'guess' as never, mechanism: 'linear' }),
    /Expected one of given, learned, none for structure but received 'guess'/,
  );
});

test('nonlinear mechanism: monotone, exact inverse, linear beyond the knots', () =>
  torch.scope(() => {
    const range = 5;
    const p = new ScmPrior({ nodes: ['a', 'b'], mode: 'none', mechanism: 'nonlinear', range });
    torch.noGrad(() => p.stateDict().log_slopes.normal_(0, 0.8));
    const u = torch.linspace(-7, 7, 141).unsqueeze(1).expand([141, 2]).contiguous();
    const z = p.f(u);
    const back = p.fInverse(z);
    assert.ok(back.sub(u).abs().max().item() < 1e-4, `inverse error ${back.sub(u).abs().max().item()}`);
    const us = u.select(1, 0).toNumbers();
    const slopes = p.stateDict().log_slopes.exp().add(1e-3).toNumbers(); // [2, K] row-major
    const K = slopes.length / 2;
    for (const col of [0, 1]) {
      const zs = z.select(1, col).toNumbers();
      for (let i = 1; i < zs.length; i++)
        assert.ok(zs[i] > zs[i - 1], `f must be increasing (column ${col})`);
      // beyond the knots f continues the edge segments: its slope there is the edge slope
      const edge = { left: slopes[col * K], right: slopes[col * K + K - 1] };
      for (let i = 1; i < zs.length; i++) {
        const slope = (zs[i] - zs[i - 1]) / (us[i] - us[i - 1]);
        if (us[i] <= -range)
          close(slope, edge.left, 1e-3 * Math.max(1, edge.left), `left of the knots, column ${col}`);
        if (us[i - 1] >= range)
          close(slope, edge.right, 1e-3 * Math.max(1, edge.right), `right of the knots, column ${col}`);
      }
    }
  }));

test('nonlinear mechanism: the gradient of f with respect to its slopes matches finite differences', () =>
  torch.scope(() => {
    torch.manualSeed(2);
    const p = new ScmPrior({ nodes: ['a', 'b'], mode: 'none', mechanism: 'nonlinear', knots: 10, range: 2 });
    const logSlopes = p.stateDict().log_slopes;
    torch.noGrad(() => logSlopes.normal_(0, 0.5));
    // points inside the knots, on both sides of them, and beyond them
    const u = torch.tensor([
      [-2.5, 0.3],
      [-0.7, 0.9],
      [0.05, -1.1],
      [3, -2.2],
    ]);
    const w = torch.randn([4, 2]);
    const objective = () => p.f(u).mul(w).sum();
    objective().backward();
    const analytic = logSlopes.grad!.toNumbers();
    const values = logSlopes.toNumbers();
    const h = 1e-2;
    let worst = 0;
    for (let k = 0; k < values.length; k++) {
      const at = (v: number) =>
        torch.noGrad(() => {
          const moved = [...values];
          moved[k] = v;
          logSlopes.copy_(torch.tensor(Float32Array.from(moved), { shape: logSlopes.shape }));
          return objective().item();
        });
      const numeric = (at(values[k] + h) - at(values[k] - h)) / (2 * h);
      worst = Math.max(worst, Math.abs(numeric - analytic[k]) / Math.max(1e-2, Math.abs(numeric)));
    }
    torch.noGrad(() => logSlopes.copy_(torch.tensor(Float32Array.from(values), { shape: logSlopes.shape })));
    assert.ok(worst < 1e-2, `largest relative error ${worst}`);
    // a slope right of every point cannot matter
    assert.ok(analytic.some((g) => g === 0) && analytic.some((g) => g !== 0));
  }));

test('nonlinear mechanism: do() and abduction on a chain a -> b with exact numbers', () =>
  torch.scope(() => {
    const p = new ScmPrior({ nodes: ['a', 'b'], mode: 'given', edges: [['a', 'b']], mechanism: 'nonlinear' });
    withA(p, [
      [0, 1.5],
      [0, 0],
    ]);
    torch.noGrad(() => {
      p.stateDict().log_slopes.normal_(0, 0.5);
      p.stateDict().shift.copy_(torch.tensor([0.3, -0.2]));
    });
    const eps = torch.tensor([
      [0.4, -0.3],
      [-1.2, 0.8],
    ]);
    const zc = p.f(p.solve(eps));
    // the factual: u_a = e_a, u_b = 1.5 u_a + e_b
    const uExpected = torch.tensor([
      [0.4, 1.5 * 0.4 - 0.3],
      [-1.2, 1.5 * -1.2 + 0.8],
    ]);
    assert.ok(zc.sub(p.f(uExpected)).abs().max().item() < 1e-5);
    // abduction recovers the noise, so the null counterfactual is the factual
    assert.ok(p.abduct(zc).sub(eps).abs().max().item() < 1e-4);
    assert.ok(p.intervene(p.abduct(zc), {}).sub(zc).abs().max().item() < 1e-4);
    // do(a = v): z_a = v exactly, and b follows f_b(1.5 f_a^{-1}(v) + e_b)
    const v = 1.7;
    const done = p.intervene(eps, { a: v });
    const uA = p.fInverse(torch.tensor([[v, 0]])).toNumbers()[0];
    const want = p.f(
      torch.tensor([
        [uA, 1.5 * uA - 0.3],
        [uA, 1.5 * uA + 0.8],
      ]),
    );
    assert.ok(done.select(1, 0).sub(v).abs().max().item() < 1e-5, 'the intervened node takes its value');
    assert.ok(done.select(1, 1).sub(want.select(1, 1)).abs().max().item() < 1e-4, 'the child follows f');
  }));

test('mlp parent model with a cyclic A (learned, h > 0): solve and abduction agree, gradients are implicit', () =>
  torch.scope(() => {
    torch.manualSeed(3);
    const p = new ScmPrior({
      nodes: ['a', 'b', 'c'],
      mode: 'learned',
      mechanism: 'linear',
      parents: 'mlp',
      hidden: 4,
    });
    const sd = p.stateDict();
    // weights large enough that m = 3 fixed-point rounds do not converge, small enough for a unique solution
    torch.noGrad(() => {
      sd.W1.copy_(torch.randn(sd.W1.shape).mul(1.2).mul(p.stateDict().W1.ne(0).to('float32')));
      sd.W2.copy_(torch.randn(sd.W2.shape).mul(1.2));
    });
    assert.ok(p.acyclicity().item() > 0.1, 'A must have cycles');
    const eps = torch.randn([16, 3]);
    const u = p.solve(eps);
    assert.ok(p.residual(u).sub(eps).abs().max().item() < 1e-4, 'u must solve u = g(u) + eps');
    const zc = p.f(u);
    assert.ok(
      p.intervene(p.abduct(zc), {}).sub(zc).abs().max().item() < 1e-4,
      'a null counterfactual is the factual',
    );
    // d sum(w u) / d eps by finite differences, against autograd through the Newton step
    const w = torch.randn([16, 3]);
    const leaf = eps.detach().clone().requiresGrad_();
    p.solve(leaf).mul(w).sum().backward();
    const analytic = leaf.grad!.toNumbers();
    const e = eps.toNumbers();
    const h = 1e-2;
    for (const k of [0, 4, 17, 29, 47]) {
      const at = (d: number) =>
        torch.noGrad(() => {
          const moved = [...e];
          moved[k] += d;
          return p
            .solve(torch.tensor(Float32Array.from(moved), { shape: [16, 3] }))
            .mul(w)
            .sum()
            .item();
        });
      close(
        (at(h) - at(-h)) / (2 * h),
        analytic[k],
        2e-3 * Math.max(1, Math.abs(analytic[k])),
        `d/d eps[${k}]`,
      );
    }
  }));

test('do() on a hand-set chain a -> b -> c propagates every hop with exact numbers', () => {
  // u_a = e_a; u_b = 2 u_a + e_b; u_c = -1 u_b + e_c (linear f = identity)
  const p = new ScmPrior({ nodes: ['a', 'b', 'c'], mode: 'learned', mechanism: 'linear' });
  withA(p, [
    [0, 2, 0],
    [0, 0, -1],
    [0, 0, 0],
  ]);
  const eps = torch.tensor([[0.5, 0.1, -0.2]]);
  assert.deepEqual(
    p
      .f(p.solve(eps))
      .toNumbers()
      .map((v) => Math.round(v * 1e5) / 1e5),
    [0.5, 1.1, -1.3],
  );
  // do(a = 3) on the root: b = 6.1, c = -6.3 (two hops)
  const rootDo = p.intervene(eps, { a: 3 }).toNumbers();
  [3, 6.1, -6.3].forEach((v, i) => close(rootDo[i], v, 1e-5, `do(a=3) node ${i}`));
  // do(b = 1): a keeps its value, c = -1 + e_c = -1.2
  const midDo = p.intervene(eps, { b: 1 }).toNumbers();
  [0.5, 1, -1.2].forEach((v, i) => close(midDo[i], v, 1e-5, `do(b=1) node ${i}`));
  // two interventions at once
  const both = p.intervene(eps, { a: 0, c: 4 }).toNumbers();
  [0, 0.1, 4].forEach((v, i) => close(both[i], v, 1e-5, `do(a=0, c=4) node ${i}`));
  // abduction recovers the noise, so a counterfactual with no intervention is the factual
  const zc = p.f(p.solve(eps));
  assert.ok(p.abduct(zc).sub(eps).abs().max().item() < 1e-5);
  assert.throws(
    () => p.intervene(eps, { d: 1 }),
    (e: unknown) =>
      e instanceof OptionError &&
      /unknown attribute 'd' in intervention; known: a, b, c/.test((e as Error).message),
  );
  assert.throws(
    () => p.intervene(eps, { a: Number.NaN }),
    /intervention value for 'a' must be a finite number, got NaN/,
  );
});

test('consistency loss trains A only, and moves it towards the regression coefficients', () => {
  torch.manualSeed(0);
  const p = new ScmPrior({ nodes: ['x', 'y'], mode: 'learned', mechanism: 'linear' });
  const opt = new optim.Adam([p.stateDict().A], { lr: 0.05 });
  for (let i = 0; i < 300; i++)
    torch.scope(() => {
      const x = torch.randn([256, 1]);
      const y = x.mul(0.8).add(torch.randn([256, 1]).mul(0.3));
      opt.zeroGrad();
      p.consistencyLoss(torch.cat([x, y], 1)).backward();
      opt.step();
    });
  // each node is regressed on the other: y on x has slope 0.8, x on y cov / var(y) = 0.8 / 0.73
  const A = p.adjacencyArray();
  close(A[0][1], 0.8, 0.1, 'A[x][y]');
  close(A[1][0], 0.8 / 0.73, 0.1, 'A[y][x]');
  assert.equal(p.stateDict().log_scale.grad, undefined, 'f must not learn from the consistency loss');
});

test('augmented Lagrangian schedule: alpha grows by rho h, rho grows when h stalls', () => {
  const o = { rhoInit: 1, rhoMax: 100, rhoGrowth: 10, hShrink: 0.25 };
  let s = { alpha: 0, rho: 1, lastH: Number.POSITIVE_INFINITY };
  s = updateDagSchedule(s, 0.5, o);
  assert.deepEqual(s, { alpha: 0.5, rho: 1, lastH: 0.5 });
  s = updateDagSchedule(s, 0.4, o); // 0.4 > 0.25 * 0.5: stalled
  assert.equal(s.rho, 10);
  close(s.alpha, 0.5 + 10 * 0.4);
  s = updateDagSchedule(s, 0.01, o);
  assert.equal(s.rho, 10);
});

test('mlp parent model: a non-monotone child is learned, do() propagates through it, abduction is exact', () => {
  torch.manualSeed(1);
  const p = new ScmPrior({
    nodes: ['x', 'y'],
    mode: 'given',
    edges: [['x', 'y']],
    mechanism: 'linear',
    parents: 'mlp',
    hidden: 16,
  });
  const structure = ['W1', 'b1', 'W2', 'b2'].map((n) => p.stateDict()[n]);
  const opt = new optim.Adam(structure, { lr: 1e-2 });
  // y = x^2 - 1 + noise: uncorrelated with x, so a linear SCM cannot represent it
  for (let i = 0; i < 1500; i++)
    torch.scope(() => {
      const x = torch.randn([256, 1]);
      const y = x
        .square()
        .sub(1)
        .add(torch.randn([256, 1]).mul(0.05));
      opt.zeroGrad();
      p.consistencyLoss(torch.cat([x, y], 1)).backward();
      opt.step();
    });
  torch.scope(() => {
    const eps = torch.tensor([[0, 0]]);
    for (const v of [-1.5, 0, 1.5]) {
      const z = p.intervene(eps, { x: v }).toNumbers();
      close(z[0], v, 1e-5, 'intervened x');
      close(z[1], v * v - 1, 0.25, `y under do(x = ${v})`);
    }
    const zc = torch.tensor([[0.7, -0.2]]);
    const again = p.intervene(p.abduct(zc), {}).toNumbers();
    close(again[0], 0.7, 1e-5);
    close(again[1], -0.2, 1e-5);
  });
  assert.throws(
    () => new ScmPrior({ nodes: ['a'], mode: 'none', mechanism: 'linear', parents: 'tree' as never }),
    /Expected one of linear, mlp for parents but received 'tree'/,
  );
});

/** How many times fn reads a tensor back to the host (item, toArray and what is built on them). */
function readBacks<T>(fn: () => T): { value: T; count: number } {
  const { item, toArray } = Tensor.prototype;
  let count = 0;
  Tensor.prototype.item = function (this: Tensor) {
    count++;
    return item.call(this);
  };
  Tensor.prototype.toArray = function (this: Tensor) {
    count++;
    return toArray.call(this);
  };
  try {
    return { value: fn(), count };
  } finally {
    Tensor.prototype.item = item;
    Tensor.prototype.toArray = toArray;
  }
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

test('a 6-node DAG is solved exactly by m rounds: linear and MLP, no host sync when sampling, one check per intervention', () =>
  torch.scope(() => {
    const nodes = ['a', 'b', 'c', 'd', 'e', 'f'];
    const chain = nodes.slice(1).map((n, i) => [nodes[i], n] as [string, string]);
    const eps = torch.tensor([
      [0.5, -0.25, 1, 0.125, -1, 0.75],
      [-1, 0.5, 0.25, -0.5, 2, -0.125],
    ]);
    const e = [eps.toNumbers().slice(0, 6), eps.toNumbers().slice(6)];

    // linear: u_k = sum_{j<=k} 3^(k-j) eps_j, up to 3^5 = 243 times the noise; (I - A)^-1 in closed form
    const lin = new ScmPrior({ nodes, mode: 'given', edges: chain, mechanism: 'linear' });
    withA(
      lin,
      nodes.map((_, i) => nodes.map((_, j) => (j === i + 1 ? 3 : 0))),
    );
    const want = e.map((row) =>
      row.map((_, k) => row.slice(0, k + 1).reduce((s, v, j) => s + 3 ** (k - j) * v, 0)),
    );
    const sampled = readBacks(() => lin.propagate(eps));
    assert.equal(sampled.count, 0, 'propagate read a tensor back');
    const solved = readBacks(() => lin.solve(eps));
    assert.equal(solved.count, 1, 'solve checks once');
    for (const u of [sampled.value, solved.value])
      u.toNumbers().forEach((v, k) => {
        const w = want[Math.floor(k / 6)][k % 6];
        close(v, w, 1e-6 * Math.max(1, Math.abs(w)), `linear node ${k % 6}`);
      });

    // MLP chain with steep units and values in the hundreds (the old solve read its residual back
    // at every call, the training step's prior samples included)
    torch.manualSeed(4);
    const H = 3;
    const mlp = new ScmPrior({
      nodes,
      mode: 'given',
      edges: chain,
      mechanism: 'linear',
      parents: 'mlp',
      hidden: H,
    });
    const sd = mlp.stateDict();
    torch.noGrad(() => {
      sd.W1.mul_(40); // masked to the chain already
      sd.b1.normal_(0, 1);
      sd.W2.normal_(0, 100);
      sd.b2.normal_(0, 50);
    });
    const [W1, b1, W2, b2] = ['W1', 'b1', 'W2', 'b2'].map((n) => sd[n].toNumbers());
    // node j's parent function in doubles, nodes in topological order
    const g = (u: number[], j: number) =>
      b2[j] +
      Array.from({ length: H }, (_, h) => {
        const pre = u.reduce((s, v, i) => s + v * W1[i * 6 * H + j * H + h], b1[j * H + h]);
        return W2[j * H + h] * sigmoid(pre);
      }).reduce((s, v) => s + v, 0);
    const exact = e.map((row) => {
      const u = new Array<number>(6).fill(0);
      for (let j = 0; j < 6; j++) u[j] = g(u, j) + row[j];
      return u;
    });
    assert.ok(Math.max(...exact.flat().map(Math.abs)) > 100, 'the values must be large');
    const prior = readBacks(() => mlp.sample(64));
    assert.equal(prior.count, 0, 'sampling the prior read a tensor back (a host sync in the training step)');
    const mlpSampled = readBacks(() => mlp.propagate(eps));
    assert.equal(mlpSampled.count, 0);
    const mlpSolved = readBacks(() => mlp.solve(eps));
    assert.equal(mlpSolved.count, 1, 'a DAG needs no Newton step: one check');
    for (const u of [mlpSampled.value, mlpSolved.value])
      u.toNumbers().forEach((v, k) => {
        const w = exact[Math.floor(k / 6)][k % 6];
        close(v, w, 1e-5 * Math.max(1, Math.abs(w)), `mlp node ${k % 6}`);
      });
    // the gradient of the rounds is the solution's: d u_f / d eps_a through every hop, by finite differences
    const leaf = eps.detach().clone().requiresGrad_();
    mlp.propagate(leaf).select(1, 5).sum().backward();
    const analytic = leaf.grad!.toNumbers()[0];
    const at = (d: number) => {
      const row = [...e[0]];
      row[0] += d;
      const u = new Array<number>(6).fill(0);
      for (let j = 0; j < 6; j++) u[j] = g(u, j) + row[j];
      return u[5];
    };
    const numeric = (at(1e-6) - at(-1e-6)) / 2e-6;
    close(analytic, numeric, 1e-3 * Math.max(1, Math.abs(numeric)), 'd u_f / d eps_a');
    lin.dispose();
    mlp.dispose();
  }));

test('weights with cycles: sampling is defined (the paths of at most m edges), interventions fail loudly where no solution is found', () =>
  torch.scope(() => {
    // linear a <-> b with weights 1: I - A is singular; eps (I - A)^-1 does not exist
    const lin = new ScmPrior({ nodes: ['a', 'b'], mode: 'learned', mechanism: 'linear' });
    withA(lin, [
      [0, 1],
      [1, 0],
    ]);
    const eps = torch.tensor([[0.5, -0.25]]);
    // 2 rounds: eps (I + A + A^2) = [0.5 - 0.25 + 0.5, -0.25 + 0.5 - 0.25]
    assert.deepEqual(lin.propagate(eps).toNumbers(), [0.75, 0]);
    const loud = (e: unknown) =>
      e instanceof GraphError &&
      /the learned graph still has cycles \(h\(A\) = .*\) and u = parents\(u\) \+ eps was not solved.*scm\.search exact/.test(
        (e as Error).message,
      );
    assert.throws(() => lin.intervene(eps, {}), loud);
    assert.throws(() => lin.solve(eps), loud);
    // cutting a's parents breaks the cycle: do(a) is solvable and exact
    assert.deepEqual(lin.intervene(eps, { a: 2 }).toNumbers(), [2, 1.75]);

    // MLP a <-> b through steep units of opposite signs: a solution exists (the map is bounded),
    // but Newton's method from the rounds' result does not reach it in 20 steps; the old solve
    // returned the last iterate without a word
    const mlp = new ScmPrior({
      nodes: ['a', 'b'],
      mode: 'learned',
      mechanism: 'linear',
      parents: 'mlp',
      hidden: 1,
    });
    const sd = mlp.stateDict();
    torch.noGrad(() => {
      sd.W1.copy_(
        torch.tensor([
          [0, 3],
          [3, 0],
        ]),
      );
      sd.W2.copy_(torch.tensor([[-8], [8]]));
      sd.b2.copy_(torch.tensor([4, -4]));
    });
    const noise = torch.tensor([
      [1, 1],
      [-2, 0.5],
    ]);
    const sampled = readBacks(() => mlp.propagate(noise));
    assert.equal(sampled.count, 0);
    assert.ok(sampled.value.toNumbers().every(Number.isFinite));
    assert.throws(
      () => mlp.intervene(noise, {}),
      (e: unknown) => loud(e) && /20 Newton steps/.test((e as Error).message),
    );
    lin.dispose();
    mlp.dispose();
  }));
