// Modules, spectral norm, init, optimizers, safetensors, and flat memory over a long loop.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CheckpointError, DataError } from '../src/errors.ts';
import * as torch from '../src/torch/index.ts';
import { nn, optim } from '../src/torch/index.ts';

torch.manualSeed(7);

class Net extends nn.Module {
  readonly body = this.registerModule(
    'body',
    new nn.Sequential([
      new nn.Conv2d(3, 4, 3, { padding: 1, spectralNorm: true }),
      new nn.LeakyReLU(0.2),
      new nn.BatchNorm2d(4),
    ]),
  );
  readonly head = this.registerModule('head', new nn.Linear(4, 2));
  forward(x: torch.Tensor): torch.Tensor {
    return this.head.forward(this.body.forward(x).mean([2, 3]));
  }
}

test('Module: dotted names, parameters, buffers, train/eval, state dict round trip', () => {
  const net = new Net();
  const names = net.namedParameters().map(([n]) => n);
  assert.deepEqual(names, [
    'body.0.weight_orig',
    'body.0.bias',
    'body.2.weight',
    'body.2.bias',
    'head.weight',
    'head.bias',
  ]);
  assert.deepEqual(
    net.namedBuffers().map(([n]) => n),
    ['body.0.weight_u', 'body.0.weight_v', 'body.2.running_mean', 'body.2.running_var'],
  );
  assert.equal(net.numParameters(), 4 * 3 * 9 + 4 + 4 + 4 + 8 + 2);
  assert.ok(net.parameters().every((p) => p.requiresGrad));
  net.eval();
  assert.ok(net.namedModules().every(([, m]) => !m.training));
  net.train();
  const other = new Net();
  other.loadStateDict(net.stateDict());
  const x = torch.randn([2, 3, 5, 5]);
  net.eval();
  other.eval();
  assert.deepEqual(net.forward(x).toNumbers(), other.forward(x).toNumbers());
  // mismatches are named
  const sd = { ...net.stateDict() };
  delete (sd as Record<string, unknown>)['head.bias'];
  assert.throws(
    () => other.loadStateDict(sd),
    (e: unknown) => e instanceof CheckpointError && /missing head\.bias/.test((e as Error).message),
  );
  assert.throws(
    () => new nn.Linear(3, 2).loadStateDict({ weight: torch.zeros([2, 4]), bias: torch.zeros([2]) }),
    /weight has shape \[2,4\] but the model expects \[2,3\]/,
  );
});

test('layers compute what PyTorch computes', () =>
  torch.scope(() => {
    const lin = new nn.Linear(3, 2);
    const x = torch.randn([4, 3]);
    const sd = lin.stateDict();
    const want = x.matmul(sd.weight.t()).add(sd.bias);
    assert.ok(lin.forward(x).sub(want).abs().max().item() < 1e-6);
    assert.throws(
      () => lin.forward(torch.randn([4, 5])),
      /Linear: input must end in 3 features, got \[4, 5\]/,
    );
    const up = new nn.ConvTranspose2d(4, 2, 4, { stride: 2, padding: 1 });
    assert.deepEqual(up.forward(torch.randn([1, 4, 8, 8])).shape, [1, 2, 16, 16]);
    const bn = new nn.BatchNorm1d(3);
    const y = bn.forward(torch.randn([16, 3]).mul(5).add(2));
    assert.ok(y.mean(0).abs().max().item() < 1e-5);
    assert.throws(() => bn.forward(torch.randn([2, 3, 4, 4])), /BatchNorm1d: input must be rank 2/);
  }));

test('spectral norm: the normalized weight has largest singular value ~1', () =>
  torch.scope(() => {
    const lin = new nn.Linear(8, 6, { spectralNorm: true });
    // after enough power iterations sigma(W / sigma_est) -> 1
    for (let i = 0; i < 30; i++) lin.forward(torch.randn([1, 8]));
    const w = lin.stateDict().weight_orig;
    // largest singular value of W/sigma via power iteration on (W^T W) in float64
    const sigmaOf = (m: torch.Tensor) => {
      let v = torch.randn([m.shape[1], 1], { dtype: 'float64' });
      const mm = m.to('float64');
      for (let i = 0; i < 200; i++)
        v = mm
          .t()
          .matmul(mm.matmul(v))
          .div(mm.t().matmul(mm.matmul(v)).norm());
      return mm.matmul(v).norm().item();
    };
    const sigma = sigmaOf(w);
    lin.eval();
    // recover the effective weight through forward on the identity
    const eff = lin.forward(torch.eye(8)).sub(lin.stateDict().bias).t();
    assert.ok(Math.abs(sigmaOf(eff) - 1) < 1e-3, `sigma(W_sn) = ${sigmaOf(eff)} (sigma(W) = ${sigma})`);
  }));

test('init: xavier, kaiming, orthogonal have the right statistics', () =>
  torch.scope(() => {
    const w = torch.empty([256, 512]);
    nn.init.xavierUniform_(w);
    const bound = Math.sqrt(6 / (256 + 512));
    assert.ok(w.abs().max().item() <= bound + 1e-6);
    nn.init.kaimingNormal_(w, { nonlinearity: 'relu' });
    assert.ok(Math.abs(Math.sqrt(w.var([0, 1]).item()) - Math.sqrt(2 / 512)) < 0.003);
    const q = torch.empty([6, 6]);
    nn.init.orthogonal_(q);
    assert.ok(q.matmul(q.t()).sub(torch.eye(6)).abs().max().item() < 1e-5);
  }));

test('Adam matches the closed-form first steps and fits a regression; groups have their own lr', () => {
  // first Adam step moves every coordinate by lr * sign(grad) (bias-corrected m/sqrt(v) = +-1)
  const p = torch.tensor([1, -2, 3]).requiresGrad_();
  const opt = new optim.Adam([p], { lr: 0.1 });
  p.mul(torch.tensor([2, -1, 0.5]))
    .sum()
    .backward();
  opt.step();
  assert.deepEqual(
    p.toNumbers().map((v) => Math.round(v * 1e5) / 1e5),
    [0.9, -1.9, 2.9],
  );
  // two groups, different lr
  const a = torch.zeros([1]).requiresGrad_();
  const b = torch.zeros([1]).requiresGrad_();
  const two = new optim.Adam(
    [
      { params: [a], lr: 0.1 },
      { params: [b], lr: 0.01 },
    ],
    { betas: [0, 0.999] },
  );
  a.add(b).sum().backward();
  two.step();
  assert.ok(Math.abs(a.item() + 0.1) < 1e-6 && Math.abs(b.item() + 0.01) < 1e-6);
  // fit y = 3x - 1
  const lin = new nn.Linear(1, 1);
  const fit = new optim.Adam(lin.parameters(), { lr: 0.05 });
  for (let i = 0; i < 400; i++)
    torch.scope(() => {
      const x = torch.randn([32, 1]);
      fit.zeroGrad();
      torch.mseLoss(lin.forward(x), x.mul(3).sub(1)).backward();
      fit.step();
    });
  const sd = lin.stateDict();
  assert.ok(Math.abs(sd.weight.item() - 3) < 0.05 && Math.abs(sd.bias.item() + 1) < 0.05);
  assert.throws(() => new optim.Adam([p], { lr: -1 }), /Expected a positive number for lr but received -1/);
});

test('AdamW decays decoupled; SGD with momentum follows PyTorch', () => {
  const p = torch.tensor([1]).requiresGrad_();
  const opt = new optim.AdamW([p], { lr: 0.1, weightDecay: 0.5 });
  p.mul(0).sum().backward(); // zero gradient: only the decay acts
  opt.step();
  assert.ok(Math.abs(p.item() - 0.95) < 1e-6, `${p.item()}`);
  const q = torch.tensor([0]).requiresGrad_();
  const sgd = new optim.SGD([q], { lr: 0.1, momentum: 0.9 });
  for (let i = 0; i < 2; i++) {
    sgd.zeroGrad();
    q.sum().backward(); // gradient 1
    sgd.step();
  }
  // buf1 = 1, q = -0.1; buf2 = 0.9 + 1 = 1.9, q = -0.1 - 0.19
  assert.ok(Math.abs(q.item() + 0.29) < 1e-6, `${q.item()}`);
});

test('optimizer state save/load continues identically', () => {
  const make = () => {
    torch.manualSeed(3);
    const lin = new nn.Linear(4, 1);
    return { lin, opt: new optim.Adam(lin.parameters(), { lr: 0.01 }) };
  };
  const stepOn = (m: ReturnType<typeof make>, seed: number) =>
    torch.scope(() => {
      torch.manualSeed(seed);
      const x = torch.randn([8, 4]);
      m.opt.zeroGrad();
      m.lin.forward(x).square().mean().backward();
      m.opt.step();
    });
  const a = make();
  for (let s = 0; s < 4; s++) stepOn(a, s);
  const b = make();
  for (let s = 0; s < 2; s++) stepOn(b, s);
  const saved = b.opt.stateDict();
  const bytes = torch.encodeSafetensors(saved.tensors, { meta: JSON.stringify(saved.meta) });
  const c = make();
  c.lin.loadStateDict(b.lin.stateDict());
  const back = torch.decodeSafetensors(bytes);
  c.opt.loadStateDict({ tensors: back.tensors, meta: JSON.parse(back.metadata.meta) });
  for (let s = 2; s < 4; s++) stepOn(c, s);
  assert.deepEqual(c.lin.stateDict().weight.toNumbers(), a.lin.stateDict().weight.toNumbers());
  assert.throws(
    () => new optim.SGD(c.lin.parameters()).loadStateDict(saved),
    /optimizer state is for Adam, not SGD/,
  );
});

test('safetensors: bytes match a hand-built file; atomic save; truncated and corrupt files are refused', () => {
  const t = torch.tensor(new Float32Array([1, 2]), { shape: [2] });
  const ids = torch.tensor(new BigInt64Array([5n]));
  const buf = torch.encodeSafetensors({ a: t, b: ids }, { note: 'x' });
  const json =
    '{"__metadata__":{"note":"x"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}';
  const padded = json + ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(padded.length));
  const body = Buffer.alloc(16);
  body.writeFloatLE(1, 0);
  body.writeFloatLE(2, 4);
  body.writeBigInt64LE(5n, 8);
  assert.deepEqual(buf, Buffer.concat([head, Buffer.from(padded), body]));
  const dir = mkdtempSync(join(tmpdir(), 'ccig-st-'));
  const path = join(dir, 'w.safetensors');
  torch.saveSafetensors(path, { a: t, b: ids });
  const back = torch.loadSafetensors(path);
  assert.deepEqual(back.tensors.a.toNumbers(), [1, 2]);
  assert.equal(back.tensors.b.dtype, 'int64');
  const full = readFileSync(path);
  writeFileSync(path, full.subarray(0, full.length - 3));
  assert.throws(
    () => torch.loadSafetensors(path),
    (e: unknown) =>
      e instanceof DataError && /lies outside the data \(truncated\?\)/.test((e as Error).message),
  );
  writeFileSync(path, Buffer.from('not a safetensors file at all'));
  assert.throws(() => torch.loadSafetensors(path), /not a valid safetensors file/);
  assert.throws(
    () => torch.loadSafetensors(join(dir, 'missing.safetensors')),
    /missing\.safetensors: cannot read: ENOENT/,
  );
});

test('a 20,000-step training loop keeps resident memory flat and leaks no tensors', () => {
  const net = new nn.Sequential([
    new nn.Linear(16, 32),
    new nn.LeakyReLU(0.2),
    new nn.Linear(32, 1, { spectralNorm: true }),
  ]);
  const opt = new optim.Adam(net.parameters(), { lr: 1e-3 });
  const step = () =>
    torch.scope(() => {
      const x = torch.randn([32, 16]);
      opt.zeroGrad();
      const loss = torch.mseLoss(net.forward(x), x.sum(1, true));
      loss.backward();
      opt.step();
    });
  for (let i = 0; i < 2000; i++) step(); // warm-up: optimizer state, allocator pools
  const live = torch.liveTensors();
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < 20000; i++) step();
  const rss1 = process.memoryUsage().rss;
  assert.equal(torch.liveTensors(), live);
  assert.ok(
    rss1 < rss0 * 1.1,
    `RSS grew from ${(rss0 / 2 ** 20).toFixed(1)} to ${(rss1 / 2 ** 20).toFixed(1)} MiB`,
  );
});
