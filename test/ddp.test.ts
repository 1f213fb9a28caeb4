// Data parallelism with DDP's semantics: two real processes over Gloo end with the parameters one
// process reaches on the same global batches (a toy regression, and the CCIG step itself); rank
// 0's model is everyone's start; shards; parameterDrift.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as torch from '../src/torch/index.ts';
import { DataParallel } from '../src/train/ddp.ts';
import type { Losses } from '../src/train/train.ts';
import {
  CCIG_STEPS,
  type CcigRun,
  ccigGlobalBatch,
  ccigStepData,
  labelled,
  trainCcigSteps,
} from './helpers/ccig-step-fixture.ts';
import {
  flatBuffers,
  flatParameters,
  globalBatch,
  makeModel,
  STEPS,
  trainStep,
} from './helpers/ddp-fixture.ts';

const skip = torch.dist.availableBackends().includes('gloo') ? false : 'the addon was built without gloo';

/** A ccig process's environment: its own cache, one thread, and (with a rank) torchrun's variables. */
function ccigEnv(dir: string, rank?: { rank: number; world: number; port: number }): NodeJS.ProcessEnv {
  const base = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache'), OMP_NUM_THREADS: '1' };
  if (!rank) return base;
  // the torchrun convention, as srun or a Kubernetes job would set it
  return {
    ...base,
    RANK: String(rank.rank),
    LOCAL_RANK: String(rank.rank),
    WORLD_SIZE: String(rank.world),
    MASTER_ADDR: '127.0.0.1',
    MASTER_PORT: String(rank.port),
  };
}

/** Runs test/helpers/WORKER as rank `rank` of `world`; resolves with the JSON of its last line. */
function runRank<T>(worker: string, rank: number, world: number, port: number) {
  return new Promise<T>((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'helpers', worker),
        String(rank),
        String(world),
        String(port),
      ],
      { env: { ...process.env, OMP_NUM_THREADS: '1' }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').at(-1) ?? ''))
        : reject(new Error(`rank ${rank} exited ${code}`)),
    );
  });
}

type ToyRank = { start: { params: number[]; buffers: number[] }; params: number[]; loss: number[] };

test('2 ranks on shards reach the parameters of 1 process on the global batch (within 1e-5)', {
  skip,
}, async () => {
  const port = await torch.dist.findFreePort();
  const ranks = await Promise.all([0, 1].map((r) => runRank<ToyRank>('ddp-worker.ts', r, 2, port)));
  // one process, full batches, starting from the model rank 0 started from
  const { model, opt } = makeModel(100);
  torch.noGrad(() => model.namedBuffers()[0][1].fill_(0.25));
  const start = { params: flatParameters(model), buffers: flatBuffers(model) };
  for (let s = 0; s < STEPS; s++) trainStep(model, opt, globalBatch(s), () => {});
  const single = flatParameters(model);
  for (const [r, res] of ranks.entries()) {
    assert.deepEqual(res.start.params, start.params, `rank ${r} did not start from rank 0's parameters`);
    assert.deepEqual(res.start.buffers, start.buffers, `rank ${r} did not start from rank 0's buffers`);
    const worst = Math.max(...res.params.map((v, i) => Math.abs(v - single[i])));
    assert.ok(worst < 1e-5, `rank ${r} differs from one process by ${worst}`);
    assert.deepEqual(res.loss, [0.5, 1]);
  }
  assert.ok(
    single.some((v, i) => Math.abs(v - start.params[i]) > 1e-3),
    'training moved the parameters',
  );
});

test('2 ranks run the CCIG step of 1 process: its losses, and its parameters after 5 steps (within 1e-5); parameterDrift sees each element', {
  skip,
}, async () => {
  // the shards differ in what the step must total over the global batch, or this test could not fail
  const data = ccigStepData();
  const m = data.attributes.length;
  const perShard = (s: number, count: (row: number) => number) =>
    [0, 1].map((r) =>
      new DataParallel({ rank: r, worldSize: 2 })
        .shard(ccigGlobalBatch(s))
        .map(count)
        .reduce((a, b) => a + b, 0),
    );
  const observational = (i: number) => (data.batch([i]).intervened.includes(1) ? 0 : 1);
  const uneven = (count: (row: number) => number) =>
    Array.from({ length: CCIG_STEPS }, (_, s) => perShard(s, count)).some(([a, b]) => a !== b);
  assert.ok(
    uneven((i) => (labelled(i) ? 1 : 0)),
    'the shards must hold different numbers of labelled rows',
  );
  assert.ok(uneven(observational), 'the shards must hold different numbers of observational rows');
  assert.ok(
    Array.from({ length: m }, (_, j) => uneven((i) => data.batch([i]).intervened[j])).some(Boolean),
    "the shards must score different numbers of rows of some node's mechanism",
  );

  const port = await torch.dist.findFreePort();
  const ranks = await Promise.all(
    [0, 1].map((r) =>
      runRank<CcigRun & { drift: number; swappedDrift: number; swapped: number }>(
        'ccig-step-worker.ts',
        r,
        2,
        port,
      ),
    ),
  );
  const { model, ...single } = trainCcigSteps();
  model.dispose();
  // Nothing differs but the order of float32 sums (two shards, then the all-reduce): batch norm
  // uses running statistics (the model is in eval mode), the noise is one draw for the global
  // batch. Those last bits are all the tolerances allow for: 1e-5 of a loss; 1e-5 of a parameter
  // after 5 Adam steps, whose near sign-like first updates can turn rounding into up to lr (measured:
  // at most 5e-7 for parameters, 1e-7 of a loss; lr is 2e-4 to 1e-3).
  for (const [r, res] of ranks.entries()) {
    // (=== rather than deepEqual: JSON writes -0 as 0)
    assert.ok(
      res.start.length === single.start.length && res.start.every((v, i) => v === single.start[i]),
      `rank ${r} did not start from rank 0's parameters`,
    );
    for (const [s, losses] of res.losses.entries())
      for (const [name, v] of Object.entries(losses) as [keyof Losses, number][]) {
        const want = single.losses[s][name];
        assert.ok(
          Math.abs(v - want) <= 1e-5 * Math.max(1, Math.abs(want)),
          `step ${s + 1}: loss ${name} on 2 ranks ${v}, in 1 process ${want}`,
        );
      }
    const worst = Math.max(...res.params.map((v, i) => Math.abs(v - single.params[i])));
    assert.ok(worst < 1e-5, `rank ${r} differs from one process by ${worst}`);
    // the ranks hold the same parameters, to the bit; a swap of two entries leaves every sum as it
    // was, and parameterDrift still sees it, on every rank
    assert.equal(res.drift, 0);
    assert.ok(res.swapped > 0);
    assert.ok(Math.abs(res.swappedDrift - res.swapped) <= 1e-6 * res.swapped, `drift ${res.swappedDrift}`);
  }
  assert.ok(
    single.params.some((v, i) => Math.abs(v - single.start[i]) > 1e-4),
    'training moved the parameters',
  );
});

test('shards are disjoint, ordered and cover the global batch; uneven batches are refused', () => {
  const batch = [5, 1, 9, 2, 7, 3];
  const shards = [0, 1, 2].map((rank) => new DataParallel({ rank, worldSize: 3 }).shard(batch));
  assert.deepEqual(shards, [
    [5, 1],
    [9, 2],
    [7, 3],
  ]);
  assert.throws(
    () => new DataParallel({ rank: 0, worldSize: 4 }).shard(batch),
    /divisible by the number of processes \(4\)/,
  );
});

test('ccig train --nproc 2: ranks stay in step, rank 0 writes, and a 1-process resume continues the checkpoint', {
  skip,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ccig-ddp-'));
  const out = join(dir, 'run');
  const env = ccigEnv(dir);
  const ccig = (...args: string[]) =>
    spawnSync(process.execPath, ['bin/ccig.js', ...args], { encoding: 'utf8', env, timeout: 600_000 });
  let r = ccig(
    'train',
    '--preset',
    'tiny',
    '--steps',
    '6',
    '--nproc',
    '2',
    '--threads',
    '2',
    '--out',
    out,
    '--json',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /starting 2 processes \(1 thread each\)/);
  const log = readFileSync(join(out, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const last = log.at(-1);
  assert.equal(last.step, 6);
  assert.equal(last.ddp.worldSize, 2);
  assert.ok(last.ddp.parameterDrift < 1e-6, `ranks drifted apart by ${last.ddp.parameterDrift}`);
  // the checkpoint does not depend on the world size: one process continues it
  r = ccig('resume', '--out', out, '--steps', '8', '--json');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '').step, 8);
});

test('killing one rank of ccig train stops the other within its timeout, naming the intact checkpoint', {
  skip,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ccig-ddp-kill-'));
  const out = join(dir, 'run');
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ train: { checkpointEvery: 2, logEvery: 2, sampleEvery: 1000 } }));
  const port = await torch.dist.findFreePort();
  const args = ['bin/ccig.js', 'train', '--preset', 'tiny', '--steps', '100000', '--config', config];
  const ranks = [0, 1].map((rank) =>
    spawn(process.execPath, [...args, '--out', out, '--dist-timeout', '10', '--threads', '1', '--json'], {
      env: ccigEnv(dir, { rank, world: 2, port }),
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  let stderr0 = '';
  ranks[0].stderr?.on('data', (d) => {
    stderr0 += d;
  });
  ranks[1].stderr?.resume();
  const exited = ranks.map(
    (p) => new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code))),
  );
  // wait for a checkpoint past the first one, then kill rank 1 as a lost machine would be
  const ckpt = join(out, 'checkpoint.safetensors');
  const logged = () => {
    try {
      return readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').length;
    } catch {
      return 0;
    }
  };
  const deadline = Date.now() + 300_000;
  while (!(existsSync(ckpt) && logged() >= 3)) {
    assert.ok(Date.now() < deadline, `no checkpoint after 300 s: ${stderr0}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  ranks[1].kill('SIGKILL');
  const killedAt = Date.now();
  const code = await exited[0];
  const waited = Date.now() - killedAt;
  assert.equal(code, 4, stderr0);
  assert.match(stderr0, /rank 0 of 2: the data-parallel group broke .*the last checkpoint \(.*\) is intact/);
  assert.ok(waited < 30_000, `rank 0 took ${waited} ms to stop`);
  // the checkpoint is a whole one: one process continues it
  const env = ccigEnv(dir);
  const info = spawnSync(process.execPath, ['bin/ccig.js', 'info', ckpt, '--json'], {
    encoding: 'utf8',
    env,
  });
  assert.equal(info.status, 0, info.stderr);
  const { step } = JSON.parse(info.stdout);
  assert.ok(step >= 2 && step % 2 === 0, `checkpoint at step ${step}`);
  const r = spawnSync(
    process.execPath,
    ['bin/ccig.js', 'resume', '--out', out, '--steps', String(step + 2), '--json'],
    { encoding: 'utf8', env, timeout: 300_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '').step, step + 2);
});

test('one rank under the torchrun convention trains in a process group of 1; GPUs without NCCL are refused clearly', {
  skip,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ccig-ddp-one-'));
  const port = await torch.dist.findFreePort();
  const env = ccigEnv(dir, { rank: 0, world: 1, port });
  const ccig = (...args: string[]) =>
    spawnSync(process.execPath, ['bin/ccig.js', 'train', '--preset', 'tiny', '--steps', '2', ...args], {
      encoding: 'utf8',
      env,
      timeout: 300_000,
    });
  const r = ccig('--out', join(dir, 'run'), '--json', '--threads', '1');
  assert.equal(r.status, 0, r.stderr);
  const log = readFileSync(join(dir, 'run', 'log.jsonl'), 'utf8')
    .trim()
    .split('\n');
  assert.equal(JSON.parse(log.at(-1) ?? '').ddp.worldSize, 1);
  if (!torch.dist.availableBackends().includes('nccl')) {
    const gpu = ccig('--out', join(dir, 'gpu'), '--device', 'cuda');
    assert.equal(gpu.status, 2, gpu.stderr);
    assert.match(
      gpu.stderr,
      /data-parallel training on GPUs needs NCCL, and this build of the addon has gloo/,
    );
  }
});
