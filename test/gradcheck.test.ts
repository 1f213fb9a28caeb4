// Finite-difference gradient checks (float64) for every differentiable op of the engine.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tensor } from '../src/torch/index.ts';
import * as torch from '../src/torch/index.ts';
import { gradcheck } from './helpers/gradcheck.ts';

torch.manualSeed(1234);
const f64 = { dtype: 'float64' } as const;
const rn = (...shape: number[]) => torch.randn(shape, f64);
/** values bounded away from 0 (for abs, log, sqrt, division) */
const pos = (...shape: number[]) => torch.rand(shape, f64).add(0.5);
/** a well-conditioned square matrix */
const wellCond = (n: number) => rn(n, n).mul(0.3).add(torch.eye(n, f64));

type Case = [name: string, f: (x: Tensor[]) => Tensor, inputs: () => Tensor[]];

const cases: Case[] = [
  ['add', ([a, b]) => a.add(b), () => [rn(2, 3), rn(3)]],
  ['add alpha', ([a, b]) => a.add(b, 0.5), () => [rn(2, 3), rn(2, 3)]],
  ['add scalar', ([a]) => a.add(2), () => [rn(4)]],
  ['sub', ([a, b]) => a.sub(b), () => [rn(2, 3), rn(2, 1)]],
  ['rsub', ([a]) => a.rsub(3), () => [rn(4)]],
  ['mul', ([a, b]) => a.mul(b), () => [rn(2, 3), rn(2, 3)]],
  ['mul scalar', ([a]) => a.mul(-1.5), () => [rn(4)]],
  ['div', ([a, b]) => a.div(b), () => [rn(2, 3), pos(2, 3)]],
  ['rdiv', ([a]) => a.rdiv(2), () => [pos(4)]],
  ['pow', ([a, b]) => a.pow(b), () => [pos(2, 3), rn(2, 3)]],
  ['pow scalar', ([a]) => a.pow(3), () => [rn(5)]],
  ['maximum', ([a, b]) => a.maximum(b), () => [rn(6), rn(6)]],
  ['minimum', ([a, b]) => a.minimum(b), () => [rn(6), rn(6)]],
  ['neg', ([a]) => a.neg(), () => [rn(4)]],
  ['abs', ([a]) => a.abs(), () => [pos(4).mul(torch.tensor([1, -1, 1, -1], f64))]],
  ['exp', ([a]) => a.exp(), () => [rn(4)]],
  ['log', ([a]) => a.log(), () => [pos(4)]],
  ['sqrt', ([a]) => a.sqrt(), () => [pos(4)]],
  ['rsqrt', ([a]) => a.rsqrt(), () => [pos(4)]],
  ['square', ([a]) => a.square(), () => [rn(4)]],
  ['reciprocal', ([a]) => a.reciprocal(), () => [pos(4)]],
  ['sin', ([a]) => a.sin(), () => [rn(4)]],
  ['cos', ([a]) => a.cos(), () => [rn(4)]],
  ['clamp', ([a]) => a.clamp(-0.5, 0.5), () => [torch.tensor([-1, -0.3, 0.2, 0.9], f64)]],
  ['where', ([a, b]) => torch.where(a.gt(0), a, b), () => [rn(6), rn(6)]],
  ['maskedFill', ([a]) => a.maskedFill(a.gt(0), 0), () => [rn(6)]],
  ['relu', ([a]) => a.relu(), () => [torch.tensor([-1, -0.2, 0.3, 2], f64)]],
  ['leakyRelu', ([a]) => a.leakyRelu(0.2), () => [torch.tensor([-1, -0.2, 0.3, 2], f64)]],
  ['elu', ([a]) => a.elu(1), () => [rn(5)]],
  ['gelu', ([a]) => a.gelu(), () => [rn(5)]],
  ['tanh', ([a]) => a.tanh(), () => [rn(5)]],
  ['sigmoid', ([a]) => a.sigmoid(), () => [rn(5)]],
  ['softplus', ([a]) => a.softplus(), () => [rn(5)]],
  ['logSigmoid', ([a]) => a.logSigmoid(), () => [rn(5)]],
  ['softmax', ([a]) => a.softmax(1), () => [rn(2, 4)]],
  ['logSoftmax', ([a]) => a.logSoftmax(1), () => [rn(2, 4)]],
  ['sum', ([a]) => a.sum(), () => [rn(2, 3)]],
  ['sum dims', ([a]) => a.sum([0, 2], true), () => [rn(2, 3, 2)]],
  ['mean', ([a]) => a.mean(), () => [rn(2, 3)]],
  ['mean dim', ([a]) => a.mean(1), () => [rn(2, 3)]],
  ['var', ([a]) => a.var(1), () => [rn(2, 4)]],
  ['max', ([a]) => a.max(), () => [rn(5)]],
  ['min', ([a]) => a.min(), () => [rn(5)]],
  ['maxDim', ([a]) => a.maxDim(1).values, () => [rn(3, 4)]],
  ['minDim', ([a]) => a.minDim(0).values, () => [rn(3, 4)]],
  ['logsumexp', ([a]) => a.logsumexp(1), () => [rn(3, 4)]],
  ['norm', ([a]) => a.norm(), () => [rn(3, 4)]],
  ['cumsum', ([a]) => a.cumsum(1), () => [rn(2, 4)]],
  ['matmul', ([a, b]) => a.matmul(b), () => [rn(2, 3), rn(3, 4)]],
  ['matmul batched', ([a, b]) => a.matmul(b), () => [rn(2, 2, 3), rn(3, 2)]],
  ['mm', ([a, b]) => a.mm(b), () => [rn(2, 3), rn(3, 2)]],
  ['bmm', ([a, b]) => a.bmm(b), () => [rn(2, 2, 3), rn(2, 3, 2)]],
  ['t', ([a]) => a.t(), () => [rn(2, 3)]],
  ['linear', ([x, w, b]) => torch.linear(x, w, b), () => [rn(3, 4), rn(2, 4), rn(2)]],
  ['inverse', ([a]) => torch.inverse(a), () => [wellCond(3)]],
  ['solve', ([a, b]) => torch.solve(a, b), () => [wellCond(3), rn(3, 2)]],
  ['matrixExp', ([a]) => torch.matrixExp(a), () => [rn(3, 3).mul(0.5)]],
  ['trace', ([a]) => torch.trace(a), () => [rn(3, 3)]],
  ['logAbsDet', ([a]) => torch.logAbsDet(a), () => [wellCond(3)]],
  ['reshape', ([a]) => a.reshape([3, 2]), () => [rn(2, 3)]],
  ['view', ([a]) => a.view([6]), () => [rn(2, 3)]],
  ['permute', ([a]) => a.permute([2, 0, 1]), () => [rn(2, 3, 2)]],
  ['transpose', ([a]) => a.transpose(0, 1), () => [rn(2, 3)]],
  ['squeeze', ([a]) => a.squeeze(1), () => [rn(3, 1)]],
  ['unsqueeze', ([a]) => a.unsqueeze(0), () => [rn(3)]],
  ['flatten', ([a]) => a.flatten(1), () => [rn(2, 2, 2)]],
  ['expand', ([a]) => a.expand([3, 4]), () => [rn(3, 1)]],
  ['repeat', ([a]) => a.repeat([2, 2]), () => [rn(2, 2)]],
  ['cat', ([a, b]) => torch.cat([a, b], 1), () => [rn(2, 2), rn(2, 3)]],
  ['stack', ([a, b]) => torch.stack([a, b], 0), () => [rn(3), rn(3)]],
  ['split', ([a]) => a.split([1, 2], 1)[1], () => [rn(2, 3)]],
  ['chunk', ([a]) => a.chunk(2, 0)[0], () => [rn(4, 2)]],
  ['slice', ([a]) => a.slice(1, 1, 3), () => [rn(2, 4)]],
  ['select', ([a]) => a.select(0, 1), () => [rn(3, 2)]],
  ['indexSelect', ([a]) => a.indexSelect(0, torch.tensor([2, 0, 2], { dtype: 'int64' })), () => [rn(3, 2)]],
  [
    'gather',
    ([a]) =>
      a.gather(
        1,
        torch.tensor(
          [
            [0, 0],
            [1, 0],
          ],
          { dtype: 'int64' },
        ),
      ),
    () => [rn(2, 2)],
  ],
  [
    'scatter',
    ([a, s]) => a.scatter(1, torch.tensor([[1], [0]], { dtype: 'int64' }), s),
    () => [rn(2, 3), rn(2, 1)],
  ],
  [
    'scatterAdd',
    ([a, s]) =>
      a.scatterAdd(
        1,
        torch.tensor(
          [
            [1, 1],
            [0, 2],
          ],
          { dtype: 'int64' },
        ),
        s,
      ),
    () => [rn(2, 3), rn(2, 2)],
  ],
  [
    'conv2d',
    ([x, w, b]) => torch.conv2d(x, w, b, { stride: 2, padding: 1 }),
    () => [rn(1, 2, 5, 5), rn(3, 2, 3, 3), rn(3)],
  ],
  [
    'conv2d dilation groups',
    ([x, w]) => torch.conv2d(x, w, undefined, { dilation: 2, groups: 2, padding: 2 }),
    () => [rn(1, 4, 5, 5), rn(2, 2, 3, 3)],
  ],
  [
    'convTranspose2d',
    ([x, w, b]) => torch.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
    () => [rn(1, 2, 3, 3), rn(2, 3, 3, 3), rn(3)],
  ],
  [
    'batchNorm train',
    ([x, w, b]) => torch.batchNorm(x, { weight: w, bias: b, training: true }),
    () => [rn(4, 3, 2, 2), rn(3), rn(3)],
  ],
  [
    'batchNorm eval',
    ([x, w, b]) =>
      torch.batchNorm(x, {
        weight: w,
        bias: b,
        runningMean: torch.tensor([0.1, -0.2], f64),
        runningVar: torch.tensor([1.5, 0.7], f64),
        training: false,
      }),
    () => [rn(3, 2), rn(2), rn(2)],
  ],
  [
    'layerNorm',
    ([x, w, b]) => torch.layerNorm(x, [4], { weight: w, bias: b }),
    () => [rn(3, 4), rn(4), rn(4)],
  ],
  ['avgPool2d', ([x]) => torch.avgPool2d(x, 2), () => [rn(1, 2, 4, 4)]],
  ['maxPool2d', ([x]) => torch.maxPool2d(x, 2), () => [rn(1, 2, 4, 4)]],
  ['adaptiveAvgPool2d', ([x]) => torch.adaptiveAvgPool2d(x, 1), () => [rn(2, 2, 3, 3)]],
  ['interpolate nearest', ([x]) => torch.interpolate(x, { scaleFactor: 2 }), () => [rn(1, 1, 2, 3)]],
  [
    'interpolate bilinear',
    ([x]) => torch.interpolate(x, { size: [5, 4], mode: 'bilinear' }),
    () => [rn(1, 2, 3, 3)],
  ],
  ['bceWithLogits', ([x]) => torch.bceWithLogits(x, torch.tensor([1, 0, 1, 0.3], f64)), () => [rn(4)]],
  [
    'bceWithLogits none',
    ([x, t]) => torch.bceWithLogits(x, t, { reduction: 'none' }),
    () => [rn(4), torch.rand([4], f64)],
  ],
  ['mseLoss', ([a, b]) => torch.mseLoss(a, b), () => [rn(2, 3), rn(2, 3)]],
  ['l1Loss', ([a, b]) => torch.l1Loss(a, b, { reduction: 'sum' }), () => [rn(2, 3), rn(2, 3)]],
  ['dropout eval', ([a]) => torch.dropout(a, 0.5, false), () => [rn(4)]],
  ['contiguous clone', ([a]) => a.transpose(0, 1).contiguous().clone(), () => [rn(2, 3)]],
  ['to float64->float64', ([a]) => a.to('float64'), () => [rn(3)]],
];

for (const [name, f, inputs] of cases) {
  test(`gradcheck ${name}`, () => {
    const xs = inputs();
    const { maxAbsErr, maxRelErr } = gradcheck(f, xs);
    assert.ok(
      maxAbsErr < 1e-5 || maxRelErr < 1e-4,
      `${name}: |numeric - analytic| = ${maxAbsErr} (rel ${maxRelErr})`,
    );
    for (const x of xs) x.dispose();
  });
}

test('gradcheck catches a wrong gradient (the checker can fail)', () => {
  // detach() inside f hides the dependence: autograd says 0, finite differences say otherwise
  const x = rn(3);
  const { maxAbsErr } = gradcheck(([a]) => a.mul(a.detach()), [x]);
  assert.ok(maxAbsErr > 1e-3, `expected a mismatch, got ${maxAbsErr}`);
});
