// The engine and the trainer on a GPU: ops forward and backward match the CPU, a training step
// runs on CUDA, checkpoints travel GPU -> CPU -> GPU, generator states per device, and an
// allocation the GPU cannot make is an OutOfMemoryError, not an abort.
//
// Skipped without a CUDA device. CCIG_TEST_DEVICE=cpu runs the same checks with the CPU as the
// "device" (scripts/gpu-check.sh --cpu does, so the file itself is exercised on any machine).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runEvaluation } from '../src/cli/eval.ts';
import { generateWorldDataset, splitWorldDataset, worldByName } from '../src/data/world-dataset.ts';
import { OutOfMemoryError } from '../src/errors.ts';
import { resolveConfig } from '../src/model/config.ts';
import type { Tensor } from '../src/torch/index.ts';
import * as torch from '../src/torch/index.ts';
import { loadCheckpoint, loadModel } from '../src/train/checkpoint.ts';
import { createTrainer, train } from '../src/train/train.ts';

const device = (process.env.CCIG_TEST_DEVICE ?? 'cuda') as torch.Device;
const skip = device.startsWith('cuda') && !torch.cudaAvailable() ? 'no CUDA device' : false;
const tmp = () => mkdtempSync(join(tmpdir(), 'ccig-cuda-'));

/** Max |a - b| relative to max |a| (one number for a whole tensor). */
function relErr(a: Tensor, b: Tensor): number {
  const x = a.toFloat32Array();
  const y = b.toFloat32Array();
  assert.equal(x.length, y.length);
  let err = 0;
  let scale = 1e-6;
  for (let i = 0; i < x.length; i++) {
    err = Math.max(err, Math.abs(x[i] - y[i]));
    scale = Math.max(scale, Math.abs(x[i]));
  }
  return err / scale;
}

/**
 * Runs f on CPU copies and on device copies of the same inputs; outputs and the gradients of
 * every input must agree. cuDNN convolutions use TF32 on Ampere and later, hence tolerances.
 */
function matches(name: string, inputs: Tensor[], f: (...xs: Tensor[]) => Tensor, tol = 1e-4) {
  torch.scope(() => {
    const run = (dev: torch.Device) => {
      const xs = inputs.map((x) => x.to(dev).detach().requiresGrad_(true));
      const y = f(...xs);
      // a fixed random output gradient, made on the CPU so both runs see the same one
      const gy = torch.withDefaultDevice('cpu', () => {
        torch.manualSeed(7);
        return torch.randn(y.shape);
      });
      y.backward(gy.to(dev));
      return { y, grads: xs.map((x) => x.grad) };
    };
    const cpu = run('cpu');
    const dev = run(device);
    assert.equal(dev.y.device.split(':')[0], device.split(':')[0], `${name} did not run on ${device}`);
    const e = relErr(cpu.y, dev.y);
    assert.ok(e < tol, `${name}: forward differs from the CPU by ${e.toExponential(2)}`);
    // every input of these ops is differentiable: a missing gradient is a bug on either device
    cpu.grads.forEach((g, i) => {
      assert.ok(g, `${name}: no gradient for input ${i} on the CPU`);
      const d = dev.grads[i];
      assert.ok(d, `${name}: no gradient for input ${i} on ${device}`);
      const ge = relErr(g, d);
      assert.ok(ge < tol, `${name}: gradient ${i} differs from the CPU by ${ge.toExponential(2)}`);
    });
  });
}

test(`ops on ${device}: forward and backward match the CPU`, { skip }, () => {
  torch.withDefaultDevice('cpu', () => {
    torch.manualSeed(0);
    const x = torch.keep(torch.randn([4, 3, 16, 16]));
    const w = torch.keep(torch.randn([8, 3, 4, 4]).mul(0.1));
    const wt = torch.keep(torch.randn([3, 5, 3, 3]).mul(0.1));
    const b = torch.keep(torch.randn([8]));
    const v = torch.keep(torch.randn([6, 10]));
    const lw = torch.keep(torch.randn([7, 10]).mul(0.3));
    const sq = torch.keep(torch.eye(4).add(torch.randn([4, 4]).mul(0.1)));
    const target = torch.keep(torch.rand([6, 10]));
    const convTol = 2e-2; // TF32 convolutions on the GPU
    matches('conv2d', [x, w, b], (x, w, b) => torch.conv2d(x, w, b, { stride: 2, padding: 1 }), convTol);
    matches(
      'conv_transpose2d',
      [x, wt],
      (x, wt) => torch.convTranspose2d(x, wt, undefined, { stride: 2 }),
      convTol,
    );
    matches('linear', [v, lw], (v, lw) => torch.linear(v, lw), convTol);
    matches('matmul', [v, lw], (v, lw) => v.matmul(lw.t()), convTol);
    matches('batch_norm', [x], (x) => torch.batchNorm(x, { training: true }));
    matches('layer_norm', [v], (v) => torch.layerNorm(v, [10]));
    matches('upsample nearest', [x], (x) => torch.interpolate(x, { scaleFactor: 2 }));
    matches('upsample bilinear', [x], (x) => torch.interpolate(x, { size: 24, mode: 'bilinear' }));
    matches('avg_pool2d', [x], (x) => torch.avgPool2d(x, 2));
    matches('max_pool2d', [x], (x) => torch.maxPool2d(x, 2));
    matches('activations', [v], (v) =>
      torch.cat(
        [v.leakyRelu(0.2), v.softplus(), v.tanh(), v.sigmoid(), v.elu(), v.gelu(), v.logSigmoid()],
        1,
      ),
    );
    matches('softmax, logsumexp', [v], (v) => v.softmax(1).add(v.logsumexp(1, true)));
    matches('reductions', [v], (v) => torch.stack([v.sum(), v.mean(), v.var(0).sum(), v.norm()]));
    // the target is an input too, so each run has it on its own device
    matches('bce with logits', [v, target], (v, t) => torch.bceWithLogits(v, t));
    matches('mse, l1', [v, target], (v, t) => torch.mseLoss(v, t).add(torch.l1Loss(v, t)));
    matches('inverse', [sq], (a) => torch.inverse(a));
    matches('matrix_exp', [sq], (a) => torch.matrixExp(a.mul(0.3)));
    matches('logabsdet', [sq], (a) => torch.logAbsDet(a));
    matches('solve', [sq, v], (a, v) => torch.solve(a, v.slice(1, 0, 4).t()));
    for (const t of [x, w, wt, b, v, lw, sq, target]) t.dispose();
  });
});

test(`tensors from arrays land on ${device} (pinned copies) and read back exactly`, { skip }, () =>
  torch.scope(() => {
    const values = Float32Array.from({ length: 3 * 64 * 64 * 8 }, (_, i) => Math.sin(i));
    const t = torch.tensor(values, { shape: [8, 3, 64, 64], device });
    assert.equal(t.device.split(':')[0], device.split(':')[0]);
    assert.deepEqual(t.toFloat32Array(), values);
    torch.withDefaultDevice(device, () => {
      assert.equal(torch.zeros([2]).device.split(':')[0], device.split(':')[0]);
      assert.equal(torch.tensor([1, 2]).device.split(':')[0], device.split(':')[0]);
    });
    assert.equal(torch.zeros([2]).device, 'cpu', 'the default device is restored');
  }),
);

const world = generateWorldDataset(worldByName('pendulum'), { count: 64, imageSize: 64, seed: 3 });
const data = splitWorldDataset(world, { testFraction: 0.25, seed: 0 });

test(
  `a training step on ${device}: every parameter and optimizer state lives there and learns`,
  { skip },
  () =>
    torch.withDefaultDevice(device, () => {
      const cfg = resolveConfig('tiny');
      const trainer = createTrainer(cfg, data.train.attributes);
      const { model } = trainer;
      for (const [n, p] of model.namedParameters())
        assert.equal(p.device.split(':')[0], device.split(':')[0], `${n} is on ${p.device}`);
      const before = model.generator.parameters()[0].toFloat32Array();
      const batch = data.train.batch([0, 1, 2, 3, 4, 5, 6, 7]);
      const losses = torch.scope(() => {
        const x = torch.tensor(batch.images, { shape: [8, 3, 64, 64] });
        const y = torch.tensor(batch.labels, { shape: [8, model.m] });
        return trainer.step(x, y, torch.ones([8, 1]), { alpha: 0, rho: 1, lastH: Number.POSITIVE_INFINITY });
      });
      assert.ok(Object.values(losses).every(Number.isFinite), JSON.stringify(losses));
      const after = model.generator.parameters()[0].toFloat32Array();
      assert.notDeepEqual(after, before, 'the generator did not change');
      const opt = trainer.optD.stateDict();
      for (const t of Object.values(opt.tensors)) assert.equal(t.device.split(':')[0], device.split(':')[0]);
      model.dispose();
    }),
);

test(`checkpoints travel ${device} -> cpu -> ${device}, with the generator state of each device`, {
  skip,
}, async () => {
  const cfg = resolveConfig('tiny', {
    train: { steps: 3, logEvery: 1, sampleEvery: 100, checkpointEvery: 3 },
  });
  const a = tmp();
  await train({ config: cfg, data, outDir: a, grids: false, device });
  assert.equal(torch.getDefaultDevice(), 'cpu', 'train() restores the default device');
  const ckpt = join(a, 'checkpoint.safetensors');
  const c = loadCheckpoint(ckpt);
  assert.equal(c.device, device);
  assert.ok(c.rng, 'the CPU generator state is saved');
  assert.equal(Boolean(c.rngCuda), device.startsWith('cuda'), 'the CUDA generator state is saved on a GPU');
  const savedCuda = c.rngCuda?.toNumbers();
  torch.withDefaultDevice('cpu', () => {
    // the same weights decode the same fixed latent on the CPU and on the device
    const z = torch.keep(torch.linspace(-1, 1, 4 * 6).reshape([4, 6]));
    const onCpu = loadModel(ckpt).model;
    const imgCpu = torch.keep(torch.noGrad(() => onCpu.decode(z)));
    const onDev = torch.withDefaultDevice(device, () => loadModel(ckpt).model);
    assert.equal(onDev.parameters()[0].device.split(':')[0], device.split(':')[0]);
    const imgDev = torch.scope(() => torch.noGrad(() => onDev.decode(z.to(device)).to('cpu')));
    assert.ok(relErr(imgCpu, imgDev) < 2e-2, 'CPU and device decode differently');
    for (const t of [z, imgCpu, imgDev]) t.dispose();
    onCpu.dispose();
    onDev.dispose();
  });
  // resumed on the CPU, then again on the device
  await train({ config: cfg, data, outDir: a, grids: false, resume: true, untilStep: 4, device: 'cpu' });
  const r = await train({ config: cfg, data, outDir: a, grids: false, resume: true, untilStep: 6, device });
  assert.equal(r.step, 6);
  assert.ok(Object.values(r.losses).every(Number.isFinite));
  if (device.startsWith('cuda') && savedCuda) {
    // a generator state saved on the GPU restores exactly
    const state = torch.tensor(Uint8Array.from(savedCuda));
    torch.setRngState(state, device);
    assert.deepEqual(torch.getRngState(device).toNumbers(), savedCuda);
  }
});

test(`evaluation on ${device}: the oracle trains there and every metric is a number`, { skip }, async () => {
  const cfg = resolveConfig('tiny', {
    train: { steps: 2, logEvery: 1, sampleEvery: 100, checkpointEvery: 2 },
  });
  const dir = tmp();
  await train({ config: cfg, data, outDir: dir, grids: false, device });
  const prev = torch.setDefaultDevice(device);
  try {
    const run = await runEvaluation({
      checkpoint: join(dir, 'checkpoint.safetensors'),
      out: join(dir, 'report'),
      n: 16,
      oracle: join(dir, 'oracle.safetensors'),
      oracleSteps: 4,
      quiet: true,
    });
    const r = run.result;
    assert.ok(Number.isFinite(r.quality.reconstructionL1), 'reconstruction L1');
    assert.ok(Number.isFinite(r.graph.h), 'h(A)');
    assert.ok(r.alignment.spearman.latents.flat().every(Number.isFinite), 'alignment');
  } finally {
    torch.setDefaultDevice(prev);
  }
});

test(`an allocation ${device} cannot make is an OutOfMemoryError, and the engine goes on`, { skip }, () => {
  // 2^45 floats = 128 TiB: more than any GPU or host has
  assert.throws(() => torch.empty([2 ** 45], { device }), OutOfMemoryError);
  torch.scope(() => assert.equal(torch.ones([3], { device }).sum().item(), 3));
});
