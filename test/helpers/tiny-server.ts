/** A tiny trained model served on a free port, for the server and browser tests. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { generateWorldDataset, splitWorldDataset, worldByName } from '../../src/data/world-dataset.ts';
import { resolveConfig } from '../../src/model/config.ts';
import { createServer } from '../../src/server/server.ts';
import * as torch from '../../src/torch/index.ts';
import { openTrainingData } from '../../src/train/data.ts';
import { train } from '../../src/train/train.ts';

/**
 * Trains the tiny preset for a few steps; with `graph`, sets A to 1 on the true pendulum edges
 * (a few steps learn no edges, and the editor's highlighting needs some).
 */
export async function tinyServer({
  graph = false,
} = {}): Promise<{ app: FastifyInstance; base: string; checkpoint: string }> {
  const out = mkdtempSync(join(tmpdir(), 'ccig-serve-'));
  const data = splitWorldDataset(generateWorldDataset(worldByName('pendulum'), { count: 64, seed: 1 }), {
    testFraction: 0.25,
  });
  await train({ config: resolveConfig('tiny', { train: { steps: 3 } }), data, outDir: out, grids: false });
  const checkpoint = join(out, 'checkpoint.safetensors');
  if (graph) {
    const { tensors, metadata } = torch.loadSafetensors(checkpoint);
    const A = torch.tensor([
      [0, 0, 1, 1],
      [0, 0, 1, 1],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
    tensors['model.prior.A'].copy_(A);
    torch.saveSafetensors(checkpoint, tensors, metadata);
  }
  const app = await createServer({ checkpoint, threads: 1 });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base, checkpoint };
}

/**
 * A face model served on a free port: celeba-smile-small's attributes, graph and data recipe
 * with tiny widths, trained 2 steps on the CelebA folder `root` (its train split). The Smiling
 * edges of the super-graph get weight 1 so the editor has descendants to light up.
 */
export async function tinyCelebaServer(
  root: string,
): Promise<{ app: FastifyInstance; base: string; checkpoint: string }> {
  const out = mkdtempSync(join(tmpdir(), 'ccig-serve-celeba-'));
  const config = resolveConfig('celeba-smile-small', {
    zFree: 4,
    net: { channels: 4, fc: 16, dFc: 16, dJointFc: 16 },
    train: { steps: 2, batchSize: 8 },
  });
  const data = await openTrainingData(config, { path: root });
  await train({ config, data, outDir: out, grids: false });
  const checkpoint = join(out, 'checkpoint.safetensors');
  const { tensors, metadata } = torch.loadSafetensors(checkpoint);
  const names = config.attributes;
  const A = names.map((from) =>
    names.map((to) => (config.scm.edges.some(([a, b]) => a === from && b === to && a === 'Smiling') ? 1 : 0)),
  );
  tensors['model.prior.A'].copy_(torch.tensor(A));
  torch.saveSafetensors(checkpoint, tensors, metadata);
  const app = await createServer({ checkpoint, threads: 1 });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base, checkpoint };
}
