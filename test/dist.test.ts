// c10d through the addon: collectives between real processes over Gloo on loopback, and the
// errors of a dead peer, a port in use and an unreachable master (clear, within the timeout).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import * as torch from '../src/torch/index.ts';

const worker = join(import.meta.dirname, 'helpers/dist-worker.ts');
const gloo = torch.dist.availableBackends().includes('gloo');
const skip = gloo
  ? false
  : 'the addon was built without gloo (apt-get install libgloo-dev; npm run build:native)';

function rank(scenario: string, r: number, world: number, port: number, timeoutMs: number) {
  return new Promise<{ code: number | null; out: Record<string, unknown> }>((resolve) => {
    const p = spawn(
      process.execPath,
      ['--import', 'tsx', worker, scenario, String(r), String(world), String(port), String(timeoutMs)],
      {
        env: { ...process.env, OMP_NUM_THREADS: '1' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      resolve({ code, out: line ? JSON.parse(line) : {} });
    });
  });
}

test('two ranks: all-reduce (sum, avg), broadcast and barrier give the same tensors everywhere', {
  skip,
}, async () => {
  const port = await torch.dist.findFreePort();
  const [a, b] = await Promise.all([0, 1].map((r) => rank('collectives', r, 2, port, 30_000)));
  for (const [r, res] of [a, b].entries()) {
    assert.equal(res.out.error, undefined, `rank ${r}: ${res.out.error}`);
    assert.deepEqual(res.out.sum, [3, 30]);
    assert.deepEqual(res.out.sum2, [1, 1]);
    assert.deepEqual(res.out.avg, [1]);
    assert.deepEqual(res.out.bcast, [8]);
    assert.equal(res.out.rank, r);
  }
});

test('a rank that dies makes the other fail with an error within its timeout, not hang', {
  skip,
}, async () => {
  const port = await torch.dist.findFreePort();
  const [a, b] = await Promise.all([0, 1].map((r) => rank('peer-dies', r, 2, port, 10_000)));
  assert.equal(b.code, 9);
  assert.equal(a.out.name, 'NativeError');
  assert.match(String(a.out.error), /dist_all_reduce/);
  assert.ok(Number(a.out.ms) < 15_000, `took ${a.out.ms} ms`);
});

test('a master port in use is a clear error', { skip }, async () => {
  const port = await torch.dist.findFreePort();
  const blocker: Server = await new Promise((resolve) => {
    const s = createServer().listen(port, () => resolve(s));
  });
  try {
    const res = await rank('collectives', 0, 1, port, 5_000);
    assert.match(String(res.out.error), new RegExp(`could not join the process group at 127.0.0.1:${port}`));
    assert.match(String(res.out.error), /address already in use|in use|bind/i);
  } finally {
    blocker.close();
  }
});

test('an unreachable master is a clear error within the timeout', { skip }, async () => {
  const port = await torch.dist.findFreePort(); // nobody listens there
  const res = await rank('collectives', 1, 2, port, 3_000);
  assert.match(String(res.out.error), /rank 1 of 2 could not join the process group/);
  assert.ok(Number(res.out.ms) < 20_000, `took ${res.out.ms} ms`);
});

test('bad ranks, sizes and backends are refused before any connection', () => {
  assert.throws(() => torch.dist.init({ rank: 2, worldSize: 2 }), /rank must be an integer in \[0, 1\]/);
  assert.throws(() => torch.dist.init({ rank: 0, worldSize: 0 }), /worldSize must be a positive integer/);
  assert.throws(() => torch.dist.init({ rank: 0, worldSize: 1, masterPort: 70000 }), /masterPort/);
  assert.throws(
    () => torch.dist.init({ rank: 0, worldSize: 1, backend: 'nccl' as const }),
    /not available|nccl/,
  );
  assert.deepEqual(
    torch.dist.optionsFromEnv({ WORLD_SIZE: '4', RANK: '3', MASTER_ADDR: 'h', MASTER_PORT: '1234' }),
    {
      worldSize: 4,
      rank: 3,
      localRank: 0,
      masterAddr: 'h',
      masterPort: 1234,
    },
  );
  assert.equal(torch.dist.optionsFromEnv({}), undefined);
  assert.throws(() => torch.dist.optionsFromEnv({ WORLD_SIZE: '2' }), /RANK must be set/);
});
