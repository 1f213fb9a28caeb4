// Data parallelism with DDP's semantics: two real processes over Gloo end with the parameters one
// process reaches on the same global batches; rank 0's model is everyone's start; shards.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import * as torch from '../src/torch/index.ts';
import { DataParallel } from '../src/train/ddp.ts';
import {
  flatBuffers,
  flatParameters,
  globalBatch,
  makeModel,
  STEPS,
  trainStep,
} from './helpers/ddp-fixture.ts';

const skip = torch.dist.availableBackends().includes('gloo') ? false : 'the addon was built without gloo';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

function runRank(rank: number, world: number, port: number) {
  return new Promise<{ start: { params: number[]; buffers: number[] }; params: number[]; loss: number[] }>(
    (resolve, reject) => {
      const p = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(import.meta.dirname, 'helpers/ddp-worker.ts'),
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
    },
  );
}

test('2 ranks on shards reach the parameters of 1 process on the global batch (within 1e-5)', {
  skip,
}, async () => {
  const port = await freePort();
  const ranks = await Promise.all([0, 1].map((r) => runRank(r, 2, port)));
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
