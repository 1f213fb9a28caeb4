// Forward values on closed-form cases, errors, memory scopes, seeds, devices.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NativeError, OptionError } from '../src/errors.ts';
import * as torch from '../src/torch/index.ts';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => {
  assert.equal(a.length, b.length, `length ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `index ${i}: ${a[i]} vs ${b[i]}`);
};
const vals = (t: torch.Tensor) => t.toNumbers();

test('creation: shapes, dtypes, values', () =>
  torch.scope(() => {
    assert.deepEqual(torch.zeros([2, 3]).shape, [2, 3]);
    assert.deepEqual(vals(torch.ones([3])), [1, 1, 1]);
    assert.deepEqual(vals(torch.full([2], 7)), [7, 7]);
    assert.deepEqual(vals(torch.arange(4)), [0, 1, 2, 3]);
    assert.deepEqual(vals(torch.arange(1, 7, 2, { dtype: 'int64' })), [1, 3, 5]);
    assert.equal(torch.arange(3, undefined, 1, { dtype: 'int64' }).dtype, 'int64');
    close(vals(torch.linspace(0, 1, 5)), [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(vals(torch.eye(2)), [1, 0, 0, 1]);
    const t = torch.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(t.shape, [2, 3]);
    assert.equal(t.dtype, 'float32');
    assert.deepEqual(vals(torch.tensor(new Float64Array([1.5, 2.5]))), [1.5, 2.5]);
    assert.equal(torch.tensor(new Float64Array([1])).dtype, 'float64');
    assert.equal(torch.tensor([true, false], { dtype: 'bool' }).dtype, 'bool');
    assert.deepEqual(Array.from(torch.tensor(new BigInt64Array([3n, -4n])).toArray() as BigInt64Array), [
      3n,
      -4n,
    ]);
    assert.deepEqual(vals(torch.tensor(new Uint8Array([0, 255]))), [0, 255]);
    const r = torch.randn([1000]);
    assert.ok(Math.abs(r.mean().item()) < 0.15 && Math.abs(r.var(0).item() - 1) < 0.2);
    const u = torch.rand([1000]);
    assert.ok(u.min().item() >= 0 && u.max().item() < 1);
    const p = torch.randperm(10);
    assert.deepEqual(
      vals(p).sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    const ri = torch.randint(2, 5, [100]);
    assert.ok(ri.min().item() >= 2 && ri.max().item() <= 4);
  }));

test('arithmetic broadcasts; comparisons, where, clamp', () =>
  torch.scope(() => {
    const a = torch.tensor([
      [1, 2],
      [3, 4],
    ]);
    const b = torch.tensor([10, 20]);
    assert.deepEqual(vals(a.add(b)), [11, 22, 13, 24]);
    assert.deepEqual(vals(a.sub(1)), [0, 1, 2, 3]);
    assert.deepEqual(vals(a.mul(b)), [10, 40, 30, 80]);
    assert.deepEqual(vals(b.div(a)), [10, 10, 10 / 3, 5].map(Math.fround));
    assert.deepEqual(vals(a.pow(2)), [1, 4, 9, 16]);
    assert.deepEqual(vals(a.rsub(10)), [9, 8, 7, 6]);
    assert.deepEqual(vals(a.gt(2)), [0, 0, 1, 1]);
    assert.equal(a.gt(2).dtype, 'bool');
    assert.deepEqual(vals(a.eq(torch.tensor([1, 0]))), [1, 0, 0, 0]);
    assert.deepEqual(vals(torch.where(a.gt(2), a, a.neg())), [-1, -2, 3, 4]);
    assert.deepEqual(vals(a.clamp(2, 3)), [2, 2, 3, 3]);
    assert.deepEqual(vals(a.clamp(undefined, 2)), [1, 2, 2, 2]);
    assert.deepEqual(vals(a.maskedFill(a.lt(3), 0)), [0, 0, 3, 4]);
    close(vals(torch.tensor([0]).sigmoid()), [0.5]);
    close(vals(torch.tensor([-2, 3]).leakyRelu(0.2)), [-0.4, 3]);
    close(vals(torch.tensor([0, 100]).softplus()), [Math.log(2), 100]);
    close(vals(torch.tensor([0]).logSigmoid()), [Math.log(0.5)]);
    close(vals(torch.tensor([1, 1]).softmax(0)), [0.5, 0.5]);
  }));

test('reductions', () =>
  torch.scope(() => {
    const a = torch.tensor([
      [1, 5],
      [3, 2],
    ]);
    assert.equal(a.sum().item(), 11);
    assert.equal(a.mean().item(), 2.75);
    assert.deepEqual(vals(a.sum(0)), [4, 7]);
    assert.deepEqual(a.sum(1, true).shape, [2, 1]);
    assert.deepEqual(vals(a.mean(1)), [3, 2.5]);
    assert.equal(a.max().item(), 5);
    assert.equal(a.min().item(), 1);
    const { values, indices } = a.maxDim(1);
    assert.deepEqual(vals(values), [5, 3]);
    assert.deepEqual(vals(indices), [1, 0]);
    assert.deepEqual(vals(a.minDim(0).values), [1, 2]);
    assert.deepEqual(vals(a.argmax(0)), [1, 0]);
    close(vals(a.var(1)), [8, 0.5]);
    close(vals(a.var(1, { unbiased: false })), [4, 0.25]);
    close([torch.tensor([3, 4]).norm().item()], [5]);
    close(vals(torch.tensor([[0, 0]]).logsumexp(1)), [Math.log(2)]);
  }));

test('linear algebra: matmul, bmm, inverse, solve, matrix_exp', () =>
  torch.scope(() => {
    const a = torch.tensor([
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(vals(a.matmul(a)), [7, 10, 15, 22]);
    assert.deepEqual(vals(a.t()), [1, 3, 2, 4]);
    assert.deepEqual(torch.randn([5, 2, 3]).bmm(torch.randn([5, 3, 4])).shape, [5, 2, 4]);
    close(vals(torch.inverse(a)), [-2, 1, 1.5, -0.5]);
    close(vals(torch.solve(a, torch.tensor([[5], [11]]))), [1, 2]);
    // exp of a nilpotent matrix [[0,1],[0,0]] is [[1,1],[0,1]]; of diag(1,2) is diag(e, e^2)
    close(
      vals(
        torch.matrixExp(
          torch.tensor([
            [0, 1],
            [0, 0],
          ]),
        ),
      ),
      [1, 1, 0, 1],
    );
    close(
      vals(
        torch.matrixExp(
          torch.tensor([
            [1, 0],
            [0, 2],
          ]),
        ),
      ),
      [Math.E, 0, 0, Math.E ** 2],
      1e-4,
    );
    assert.equal(torch.trace(a).item(), 5);
  }));

test('float64 linear algebra: matrix_exp to the last digits, eigh and qr reconstruct', () =>
  torch.scope(() => {
    const f64 = (rows: number[][]) => torch.tensor(rows, { dtype: 'float64' });
    // A rotation generator with norm > 1/2, so the scaling and squaring path runs.
    const t = 7.3;
    close(
      vals(
        torch.matrixExp(
          f64([
            [0, -t],
            [t, 0],
          ]),
        ),
      ),
      [Math.cos(t), -Math.sin(t), Math.sin(t), Math.cos(t)],
      1e-12,
    );
    close(
      vals(
        torch.matrixExp(
          f64([
            [1, 0],
            [0, -2],
          ]),
        ),
      ),
      [Math.E, 0, 0, Math.exp(-2)],
      1e-15,
    );

    // A symmetric matrix with eigenvalues 1, 2, 4 (ascending) and orthonormal eigenvectors.
    const S = f64([
      [2, -1, 0],
      [-1, 2, -1],
      [0, -1, 2],
    ]);
    const { values, vectors } = torch.eigh(S);
    assert.equal(values.dtype, 'float64');
    close(vals(values), [2 - Math.SQRT2, 2, 2 + Math.SQRT2], 1e-14);
    close(vals(vectors.mul(values).matmul(vectors.t())), vals(S), 1e-14);
    close(vals(vectors.t().matmul(vectors)), vals(torch.eye(3, { dtype: 'float64' })), 1e-14);

    const A = f64([
      [1, 2],
      [3, 4],
      [5, 7],
    ]);
    const { Q, R } = torch.qr(A);
    assert.deepEqual(
      [Q.shape, R.shape],
      [
        [3, 2],
        [2, 2],
      ],
    );
    close(vals(Q.matmul(R)), vals(A), 1e-14);
    close(vals(Q.t().matmul(Q)), [1, 0, 0, 1], 1e-14);
    assert.equal(R.toNumbers()[2], 0); // upper triangular
  }));

test('shape ops, indexing, split/chunk/cat/stack', () =>
  torch.scope(() => {
    const a = torch.arange(6).reshape([2, 3]);
    assert.deepEqual(a.permute([1, 0]).contiguous().toNumbers(), [0, 3, 1, 4, 2, 5]);
    assert.deepEqual(a.transpose(0, 1).shape, [3, 2]);
    assert.deepEqual(a.unsqueeze(0).shape, [1, 2, 3]);
    assert.deepEqual(a.unsqueeze(0).squeeze(0).shape, [2, 3]);
    assert.deepEqual(a.flatten().shape, [6]);
    assert.deepEqual(
      torch
        .tensor([[1], [2]])
        .expand([2, 3])
        .toNumbers(),
      [1, 1, 1, 2, 2, 2],
    );
    assert.deepEqual(torch.tensor([1, 2]).repeat([2]).toNumbers(), [1, 2, 1, 2]);
    assert.deepEqual(a.slice(1, 1).toNumbers(), [1, 2, 4, 5]);
    assert.deepEqual(a.slice(1, 0, 3, 2).toNumbers(), [0, 2, 3, 5]);
    assert.deepEqual(a.slice(1, -1).toNumbers(), [2, 5]);
    assert.deepEqual(a.select(0, 1).toNumbers(), [3, 4, 5]);
    const idx = torch.tensor([2, 0], { dtype: 'int64' });
    assert.deepEqual(a.indexSelect(1, idx).toNumbers(), [2, 0, 5, 3]);
    const g = torch.tensor(
      [
        [0, 0],
        [2, 1],
      ],
      { dtype: 'int64' },
    );
    assert.deepEqual(a.gather(1, g).toNumbers(), [0, 0, 5, 4]);
    const s = torch
      .zeros([2, 3])
      .scatter(1, torch.tensor([[1], [2]], { dtype: 'int64' }), torch.ones([2, 1]));
    assert.deepEqual(s.toNumbers(), [0, 1, 0, 0, 0, 1]);
    const sa = torch.zeros([3]).scatterAdd(0, torch.tensor([0, 0, 2], { dtype: 'int64' }), torch.ones([3]));
    assert.deepEqual(sa.toNumbers(), [2, 0, 1]);
    assert.deepEqual(a.maskedSelect(a.gt(3)).toNumbers(), [4, 5]);
    assert.deepEqual(torch.cat([a, a], 0).shape, [4, 3]);
    assert.deepEqual(torch.stack([a, a], 2).shape, [2, 3, 2]);
    assert.deepEqual(
      a.split(2, 1).map((t) => t.shape),
      [
        [2, 2],
        [2, 1],
      ],
    );
    assert.deepEqual(
      a.split([1, 2], 1).map((t) => t.toNumbers()),
      [
        [0, 3],
        [1, 2, 4, 5],
      ],
    );
    assert.equal(a.chunk(3, 1).length, 3);
  }));

test('conv, pooling, upsampling, norms on closed-form cases', () =>
  torch.scope(() => {
    // a 3x3 box filter over ones with padding 1: corners see 4, edges 6, centre 9
    const x = torch.ones([1, 1, 3, 3]);
    const w = torch.ones([1, 1, 3, 3]);
    assert.deepEqual(torch.conv2d(x, w, undefined, { padding: 1 }).toNumbers(), [4, 6, 4, 6, 9, 6, 4, 6, 4]);
    assert.deepEqual(
      torch.conv2d(torch.ones([2, 3, 64, 64]), torch.ones([8, 3, 4, 4]), undefined, { stride: 2, padding: 1 })
        .shape,
      [2, 8, 32, 32],
    );
    // transposed conv of a single 1 with a 2x2 kernel, stride 2, places the kernel
    const k = torch.tensor([1, 2, 3, 4]).reshape([1, 1, 2, 2]);
    assert.deepEqual(
      torch.convTranspose2d(torch.ones([1, 1, 1, 1]), k, undefined, { stride: 2 }).toNumbers(),
      [1, 2, 3, 4],
    );
    assert.deepEqual(
      torch.convTranspose2d(torch.ones([1, 4, 8, 8]), torch.ones([4, 2, 4, 4]), undefined, {
        stride: 2,
        padding: 1,
      }).shape,
      [1, 2, 16, 16],
    );
    const img = torch.arange(16).reshape([1, 1, 4, 4]);
    assert.deepEqual(torch.avgPool2d(img, 2).toNumbers(), [2.5, 4.5, 10.5, 12.5]);
    assert.deepEqual(torch.maxPool2d(img, 2).toNumbers(), [5, 7, 13, 15]);
    assert.deepEqual(torch.adaptiveAvgPool2d(img, 1).toNumbers(), [7.5]);
    assert.deepEqual(
      torch.interpolate(torch.tensor([1, 2]).reshape([1, 1, 1, 2]), { scaleFactor: 2 }).toNumbers(),
      [1, 1, 2, 2, 1, 1, 2, 2],
    );
    close(
      torch
        .interpolate(torch.tensor([0, 2]).reshape([1, 1, 1, 2]), {
          size: [1, 3],
          mode: 'bilinear',
          alignCorners: true,
        })
        .toNumbers(),
      [0, 1, 2],
    );
    // batch norm in training mode normalizes each channel and updates running stats
    const bx = torch.tensor([
      [1, 10],
      [3, 30],
    ]);
    const rm = torch.zeros([2]);
    const rv = torch.ones([2]);
    close(torch.batchNorm(bx, { runningMean: rm, runningVar: rv, eps: 0 }).toNumbers(), [-1, -1, 1, 1]);
    close(rm.toNumbers(), [0.2, 2]); // 0.9 * 0 + 0.1 * mean
    close(rv.toNumbers(), [0.9 + 0.1 * 2, 0.9 + 0.1 * 200], 1e-4); // unbiased batch variance
    const ev = torch.batchNorm(bx, {
      runningMean: torch.tensor([1, 10]),
      runningVar: torch.tensor([4, 100]),
      training: false,
      eps: 0,
    });
    close(ev.toNumbers(), [0, 0, 1, 2]);
    close(torch.layerNorm(torch.tensor([[1, 3]]), [2], { eps: 0 }).toNumbers(), [-1, 1]);
  }));

test('losses', () =>
  torch.scope(() => {
    const a = torch.tensor([1, 2, 3]);
    const b = torch.tensor([1, 0, 5]);
    close([torch.mseLoss(a, b).item()], [8 / 3]);
    close([torch.l1Loss(a, b, { reduction: 'sum' }).item()], [4]);
    assert.deepEqual(torch.mseLoss(a, b, { reduction: 'none' }).toNumbers(), [0, 4, 4]);
    const logits = torch.tensor([0, 2]);
    const target = torch.tensor([1, 0]);
    const expect = (Math.log(2) + Math.log(1 + Math.exp(2))) / 2;
    close([torch.bceWithLogits(logits, target).item()], [expect]);
    assert.throws(
      () => torch.mseLoss(a, b, { reduction: 'avg' as never }),
      /Expected one of none, mean, sum for reduction but received 'avg'/,
    );
  }));

test('dtype and device moves; detach and clone', () =>
  torch.scope(() => {
    const a = torch.tensor([1.7, -2.2]);
    assert.equal(a.to('float64').dtype, 'float64');
    assert.deepEqual(a.to('int64').toNumbers(), [1, -2]);
    assert.equal(a.to('cpu').device, 'cpu');
    assert.throws(() => a.to('gpu' as never), /expected a dtype .* or a device/);
    const w = torch.ones([2]).requiresGrad_();
    assert.equal(w.detach().requiresGrad, false);
    const c = w.clone();
    assert.equal(c.requiresGrad, true);
    assert.equal(torch.cudaDeviceCount() >= 0, true);
  }));

test(
  'cuda tensors when the libtorch has CUDA',
  { skip: !torch.cudaAvailable() && 'no CUDA in this libtorch' },
  () =>
    torch.scope(() => {
      const a = torch.randn([64, 64], { device: 'cuda' });
      assert.match(a.device, /^cuda/);
      const b = a.matmul(a).to('cpu');
      assert.equal(b.device, 'cpu');
    }),
);

test('autograd: backward, grad, given output gradient, zeroing, no-grad, masks', () =>
  torch.scope(() => {
    const x = torch.tensor([1, 2, 3]).requiresGrad_();
    x.mul(x).sum().backward();
    assert.deepEqual(x.grad!.toNumbers(), [2, 4, 6]);
    x.mul(3).sum().backward(); // accumulates
    assert.deepEqual(x.grad!.toNumbers(), [5, 7, 9]);
    x.zeroGrad();
    assert.equal(x.grad, undefined);
    x.mul(2).backward(torch.tensor([1, 0, -1]));
    assert.deepEqual(x.grad!.toNumbers(), [2, 0, -2]);
    const y = torch.noGrad(() => x.mul(2));
    assert.equal(y.requiresGrad, false);
    assert.equal(x.mul(2).requiresGrad, true); // recording is back on after noGrad
    // a mask keeps fixed entries of a matrix at exactly zero gradient
    const A = torch.randn([3, 3]).requiresGrad_();
    const mask = torch.tensor([
      [0, 1, 1],
      [0, 0, 1],
      [0, 0, 0],
    ]);
    A.maskGrad(mask);
    A.square().sum().backward();
    const g = A.grad!.toNumbers();
    const m = mask.toNumbers();
    for (let i = 0; i < 9; i++) if (m[i] === 0) assert.equal(Math.abs(g[i]), 0);
    assert.ok(g.some((v) => v !== 0));
    // retainGraph lets a graph be walked twice
    const z = torch.tensor([1]).requiresGrad_();
    const out = z.mul(z).sum();
    out.backward(undefined, { retainGraph: true });
    out.backward();
    assert.deepEqual(z.grad!.toNumbers(), [4]);
  }));

test('libtorch errors become NativeError with libtorch message and no backtrace; the process survives', () =>
  torch.scope(() => {
    const cases: [string, () => unknown, RegExp][] = [
      [
        'shape mismatch',
        () => torch.ones([3]).add(torch.ones([4])),
        /add: The size of tensor a \(3\) must match the size of tensor b \(4\)/,
      ],
      [
        'matmul shapes',
        () => torch.ones([2, 3]).matmul(torch.ones([2, 3])),
        /matmul: .*cannot be multiplied/,
      ],
      ['wrong dtype', () => torch.ones([2]).indexSelect(0, torch.ones([1])), /index_select: .*(Long|Int)/i],
      ['out of memory', () => torch.zeros([1e7, 1e7]), /zeros: .*(allocate|memory)/i],
      ['bad index', () => torch.ones([2, 2]).select(0, 5), /select: .*index 5 out of range/],
      [
        'bad reshape',
        () => torch.ones([6]).reshape([4, 2]),
        /reshape: shape '\[4, 2\]' is invalid for input of size 6/,
      ],
      ['singular matrix', () => torch.inverse(torch.zeros([2, 2])), /inverse: .*singular|not invertible/i],
      [
        'backward of non-scalar',
        () => torch.ones([2]).requiresGrad_().mul(2).backward(),
        /backward: grad can be implicitly created only for scalar outputs/,
      ],
    ];
    for (const [what, fn, pattern] of cases) {
      assert.throws(fn, (e: unknown) => {
        assert.ok(e instanceof NativeError, `${what}: expected NativeError, got ${e}`);
        assert.match((e as Error).message, pattern, what);
        assert.doesNotMatch(
          (e as Error).message,
          /Exception raised from|frame #\d/,
          `${what}: backtrace leaked`,
        );
        return true;
      });
    }
    // user-facing argument checks name the op and what they got
    assert.throws(
      () => torch.conv2d(torch.ones([3, 64, 64]), torch.ones([8, 3, 3, 3])),
      (e: unknown) => {
        assert.ok(e instanceof OptionError);
        assert.equal((e as Error).message, 'conv2d: input must be rank 4 [B, C, H, W], got [3, 64, 64]');
        return true;
      },
    );
    assert.throws(() => torch.zeros([2, -1]), /zeros: shape must hold non-negative integers, got \[2, -1\]/);
  }));

test('a disposed tensor cannot be used; dispose is idempotent', () => {
  const t = torch.ones([2]);
  t.dispose();
  t.dispose();
  assert.equal(t.isDisposed, true);
  assert.throws(() => t.add(1), /tensor is disposed/);
});

test('scope frees everything created inside except returned and kept tensors', () => {
  const before = torch.liveTensors();
  let kept: torch.Tensor | undefined;
  const result = torch.scope(() => {
    const a = torch.randn([10, 10]);
    const b = a.matmul(a).relu();
    kept = torch.keep(b.sum());
    return { out: b.mean(), list: [a.max()] };
  });
  assert.equal(torch.liveTensors(), before + 3);
  assert.equal(result.out.isDisposed, false);
  result.out.dispose();
  result.list[0].dispose();
  kept!.dispose();
  assert.equal(torch.liveTensors(), before);
  // a throwing fn frees its tensors too
  assert.throws(() =>
    torch.scope(() => {
      torch.ones([3]);
      throw new Error('boom');
    }),
  );
  assert.equal(torch.liveTensors(), before);
  // nested: the inner result survives into the outer scope and is freed there
  torch.scope(() => {
    torch.scope(() => torch.ones([1]));
  });
  assert.equal(torch.liveTensors(), before);
});

test('manualSeed: same seed, same numbers; RNG state round-trips', () => {
  torch.manualSeed(42);
  const a = torch.randn([5]).toNumbers();
  torch.manualSeed(42);
  const b = torch.randn([5]).toNumbers();
  assert.deepEqual(a, b);
  torch.manualSeed(43);
  assert.notDeepEqual(torch.randn([5]).toNumbers(), a);
  const state = torch.getRngState();
  const c = torch.rand([4]).toNumbers();
  torch.setRngState(state);
  assert.deepEqual(torch.rand([4]).toNumbers(), c);
});

test('threads: default all cores, settable', () => {
  const n = torch.getNumThreads();
  assert.ok(n >= 1);
  torch.setNumThreads(1);
  assert.equal(torch.getNumThreads(), 1);
  torch.setNumThreads(n);
  assert.throws(() => torch.setNumThreads(0), /Expected a positive integer for threads but received 0/);
});

test('forgotten tensors are freed by the garbage collector: their bytes are reported to V8', async () => {
  const before = torch.liveTensors();
  for (let i = 0; i < 200; i++) {
    torch.zeros([8 * 1024 * 1024]); // 32 MiB each, dropped without dispose: 6.4 GiB if none were freed
    if (i % 20 === 0) await new Promise((r) => setImmediate(r));
  }
  for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 10));
  const alive = torch.liveTensors() - before;
  assert.ok(alive < 100, `${alive} of 200 forgotten tensors are still alive`);
});
