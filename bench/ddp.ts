/**
 * `npm run bench -- ddp`: data-parallel training on this machine.
 * 1. All-reduce time and bandwidth over Gloo (2 ranks, loopback) for the gradient size of each
 *    preset: what one step's two gradient all-reduces (D step, E+G step) cost.
 * 2. Training throughput of `ccig train --nproc 2` (2 ranks x 1 thread) against one process with
 *    2 threads on pendulum-small, and the share of a step the all-reduces take.
 * Run it on a quiet machine: any other busy process distorts every row.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../src/model/config.ts';
import * as torch from '../src/torch/index.ts';
import { createTrainer } from '../src/train/train.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

/** Parameters whose gradients are all-reduced each step (D step + E+G/prior step). */
function gradientSize(preset: string): number {
  const cfg = resolveConfig(preset);
  const attributes = cfg.attributes.map((name) => ({ name, kind: 'continuous' as const, min: 0, max: 1 }));
  const { model } = createTrainer(cfg, attributes);
  const n = model.parameters().reduce((a, p) => a + p.numel, 0);
  model.dispose();
  return n;
}

async function allReduceSeconds(n: number, reps: number): Promise<number> {
  const port = await torch.dist.findFreePort();
  const outs = await Promise.all(
    [0, 1].map(
      (rank) =>
        new Promise<string>((resolve) => {
          const p = spawn(
            process.execPath,
            [
              '--import',
              'tsx',
              join(here, 'helpers/allreduce-rank.ts'),
              String(rank),
              '2',
              String(port),
              String(n),
              String(reps),
            ],
            { env: { ...process.env, OMP_NUM_THREADS: '1' }, stdio: ['ignore', 'pipe', 'inherit'] },
          );
          let out = '';
          p.stdout.on('data', (d) => {
            out += d;
          });
          p.on('exit', () => resolve(out));
        }),
    ),
  );
  return JSON.parse(outs[0].trim()).seconds;
}

/** img/s of `ccig train` on pendulum-small, read from the log's last line. */
function trainRate(args: string[]): number {
  const dir = mkdtempSync(join(tmpdir(), 'ccig-bench-ddp-'));
  const r = spawnSync(
    process.execPath,
    [
      join(root, 'bin/ccig.js'),
      'train',
      '--preset',
      'pendulum-small',
      '--steps',
      '150',
      '--out',
      dir,
      '--json',
      ...args,
    ],
    { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') } },
  );
  if (r.status !== 0) throw new Error(`ccig train failed: ${r.stderr}`);
  const lines = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n');
  const rate = JSON.parse(lines.at(-1) ?? '{}').imagesPerSecond as number;
  rmSync(dir, { recursive: true, force: true });
  return rate;
}

export default async function ddpBench(): Promise<void> {
  console.log('\nall-reduce over Gloo, 2 ranks on loopback, float32 gradients of each preset\n');
  console.log('preset             parameters   MiB   ms / all-reduce   GB/s (algorithm)');
  const perStep: Record<string, number> = {};
  for (const preset of ['pendulum-small', 'celeba-smile-small', 'celeba-smile-dear']) {
    const n = gradientSize(preset);
    const s = await allReduceSeconds(n, n > 10_000_000 ? 5 : 20);
    perStep[preset] = s;
    console.log(
      `${preset.padEnd(18)} ${String(n).padStart(10)}  ${((n * 4) / 2 ** 20).toFixed(1).padStart(5)}  ${(s * 1000).toFixed(1).padStart(16)}  ${((n * 4) / s / 1e9).toFixed(2).padStart(17)}`,
    );
  }
  console.log('\npendulum-small training, batch 64, 150 steps (rate over the last logging window)\n');
  const one = trainRate(['--threads', '2']);
  const two = trainRate(['--nproc', '2', '--threads', '2']);
  const stepTwo = 64 / two;
  const comm = perStep['pendulum-small']; // one all-reduce of every gradient per step, split over D and E+G
  console.log(`1 process x 2 threads   ${one.toFixed(1).padStart(8)} img/s`);
  console.log(`2 processes x 1 thread  ${two.toFixed(1).padStart(8)} img/s   (${(two / one).toFixed(2)}x)`);
  console.log(
    `all-reduce share of a 2-rank step: ${((100 * comm) / stepTwo).toFixed(1)}% (${(comm * 1000).toFixed(1)} of ${(stepTwo * 1000).toFixed(0)} ms)`,
  );
  torch.dist.destroy();
}
