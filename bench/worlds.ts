/**
 * `npm run bench -- worlds`: how fast the synthetic worlds generate datasets (one thread), and
 * how fast they are written as PNG files. The budget is 10,000 pendulum images at
 * 64 x 64 in <= 30 s; the last column is the budget divided by the measured time for 10,000.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flow } from '../src/data/flow.ts';
import { pendulum } from '../src/data/pendulum.ts';
import type { World } from '../src/data/world.ts';
import { generateWorldDataset, writeWorldToDisk } from '../src/data/world-dataset.ts';

const BUDGET_S = 30;

interface Row {
  task: string;
  images: number;
  seconds: number;
}

function generate(world: World, size: number, count: number): Row {
  generateWorldDataset(world, { count: 200, imageSize: size, seed: 99 }); // warm the JIT
  const t = performance.now();
  generateWorldDataset(world, { count, imageSize: size, seed: 1 });
  return {
    task: `${world.name} ${size}x${size} sample+render`,
    images: count,
    seconds: (performance.now() - t) / 1000,
  };
}

async function writePng(world: World, size: number, count: number): Promise<Row> {
  const ds = generateWorldDataset(world, { count, imageSize: size, seed: 1 });
  const dir = await mkdtemp(join(tmpdir(), 'ccig-bench-worlds-'));
  try {
    const t = performance.now();
    await writeWorldToDisk(dir, ds);
    return {
      task: `${world.name} ${size}x${size} write PNG + CSV`,
      images: count,
      seconds: (performance.now() - t) / 1000,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export default async function bench(): Promise<void> {
  const rows: Row[] = [
    generate(pendulum, 64, 10_000),
    generate(pendulum, 96, 5_000),
    generate(flow, 64, 10_000),
    generate(flow, 96, 5_000),
    await writePng(pendulum, 64, 2_000),
  ];
  console.log('| task | images | s | images/s | s per 10,000 | budget 30 s / that |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const rate = r.images / r.seconds;
    const per10k = 10_000 / rate;
    console.log(
      `| ${r.task} | ${r.images} | ${r.seconds.toFixed(2)} | ${rate.toFixed(0)} | ${per10k.toFixed(2)} | ${(BUDGET_S / per10k).toFixed(1)}x |`,
    );
  }
}
