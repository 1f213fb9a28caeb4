/**
 * What a run shows of itself: a log line of metrics and sample and reconstruction grids, drawn
 * from fixed prior noise and a fixed held-out batch so that grids of different steps compare.
 */
import { join } from 'node:path';
import type { DagSchedule } from '../causal/scm.ts';
import type { Dataset } from '../data/dataset.ts';
import { tileGrid, toRgbTiles, writePng } from '../data/grid.ts';
import { Rng } from '../data/rng.ts';
import type { Ccig } from '../model/ccig.ts';
import type { Device, Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import type { Losses } from './objective.ts';

/** Fixed things to look at: prior noise for sample grids [64, zDim], a held-out batch of up to 256. */
export interface FixedViews {
  gridEps: Tensor;
  heldX: Tensor;
  heldY: Tensor;
  dispose(): void;
}

/** The fixed views of a run, seeded by train.seed: noise for G, the first images of `heldOut`. */
export function fixedViews(model: Ccig, heldOut: Dataset, seed: number): FixedViews {
  const S = model.config.imageSize;
  const gridRng = new Rng(seed, 2);
  const nGrid = 64;
  const gridEps = torch.keep(
    torch.tensor(
      Float32Array.from({ length: nGrid * model.zDim }, () => gridRng.normal()),
      { shape: [nGrid, model.zDim] },
    ),
  );
  const heldIdx = Array.from({ length: Math.min(256, heldOut.size) }, (_, i) => i);
  const held = heldOut.batch(heldIdx);
  const heldX = torch.keep(torch.tensor(held.images, { shape: [held.batchSize, 3, S, S] }));
  const heldY = torch.keep(torch.tensor(held.labels, { shape: [held.batchSize, model.m] }));
  return {
    gridEps,
    heldX,
    heldY,
    dispose: () => {
      for (const x of [gridEps, heldX, heldY]) x.dispose();
    },
  };
}

/** Losses, h(A), A, and per-factor Pearson correlation of mu_c with the held-out labels. */
export function logMetrics(
  model: Ccig,
  x: Tensor,
  y: Tensor,
  step: number,
  losses: Losses,
  dag: DagSchedule,
  rate: number,
  device: Device,
) {
  const corr = torch.scope(() =>
    torch.noGrad(() => {
      model.eval();
      const muC = model.encode(x).mu.slice(1, 0, model.m);
      model.train();
      const a = muC.sub(muC.mean(0, true));
      const b = y.sub(y.mean(0, true));
      return a
        .mul(b)
        .sum(0)
        .div(a.square().sum(0).mul(b.square().sum(0)).sqrt().add(1e-12))
        .toNumbers();
    }),
  );
  const gpuBytes = device.startsWith('cuda') ? torch.cudaMemoryUsed() : undefined;
  return {
    step,
    time: new Date().toISOString(),
    imagesPerSecond: Math.round(rate * 10) / 10,
    device,
    ...(gpuBytes !== undefined ? { gpuMemoryMiB: Math.round(gpuBytes / 2 ** 20) } : {}),
    losses,
    h: losses.h,
    dag: { alpha: dag.alpha, rho: dag.rho },
    A: model.prior.adjacencyArray(),
    corr: Object.fromEntries(model.config.attributes.map((n, i) => [n, corr[i]])),
  };
}

/** Sample grid G(z) from fixed prior noise, and reconstructions x | G(E(x)) of held-out images. */
export async function writeGrids(
  model: Ccig,
  eps: Tensor,
  heldX: Tensor,
  samplesDir: string,
  step: number,
): Promise<void> {
  const S = model.config.imageSize;
  const { samples, recon, n } = torch.scope(() =>
    torch.noGrad(() => {
      model.eval();
      const zc = model.prior.generate(eps.slice(1, 0, model.m));
      const z = model.join(zc, model.k > 0 ? eps.slice(1, model.m) : undefined);
      const samples = model.decode(z).toFloat32Array();
      const n = Math.min(32, heldX.shape[0]);
      const x = heldX.slice(0, 0, n);
      const recon = torch
        .stack([x, model.decode(model.encode(x).mu)], 1)
        .reshape([2 * n, 3, S, S])
        .toFloat32Array();
      model.train();
      return { samples, recon, n };
    }),
  );
  const tag = String(step).padStart(6, '0');
  await writePng(
    join(samplesDir, `samples-${tag}.png`),
    tileGrid(toRgbTiles(samples, eps.shape[0], S), S, 8),
    1,
    'write a sample grid',
  );
  await writePng(
    join(samplesDir, `recon-${tag}.png`),
    tileGrid(toRgbTiles(recon, 2 * n, S), S, 8),
    1,
    'write a reconstruction grid',
  );
}
