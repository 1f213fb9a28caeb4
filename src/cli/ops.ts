/**
 * `ccig sample | intervene | counterfactual | traverse`: image outputs of a trained model.
 * Edit grids put, for each example, the factual image, the causal edit and the non-causal edit
 * side by side (columns), so the difference is visible at a glance.
 */
import { z } from 'zod';
import { tileGrid, toRgbTiles, writePng } from '../data/grid.ts';
import { OptionError } from '../errors.ts';
import type { Ccig } from '../model/ccig.ts';
import { attributeRange, counterfactual, type EditImages, intervene, traverse } from '../model/edit.ts';
import { loadImageForModel } from '../model/images.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { loadModel } from '../train/checkpoint.ts';
import { deviceFlag, int, parseAssignments, parseOptions, posInt, useDevice } from './util.ts';

const common = {
  checkpoint: z.string(),
  out: z.string(),
  device: deviceFlag,
  json: z.boolean().default(false),
};

/** Tensor images [N, 3, S, S] -> tiles. */
function tiles(t: Tensor, size: number): Uint8Array[] {
  return toRgbTiles(t.toFloat32Array(), t.shape[0], size);
}

/** Rows of [factual | causal | non-causal] per example. */
export function editGrid(e: EditImages, size: number) {
  const f = tiles(e.factual, size);
  const c = tiles(e.causal, size);
  const nc = tiles(e.nonCausal, size);
  return tileGrid(
    f.flatMap((x, i) => [x, c[i], nc[i]]),
    size,
    3,
  );
}

function labelRows(model: Ccig, t: Tensor): Record<string, number>[] {
  const v = t.toNumbers();
  return Array.from({ length: t.shape[0] }, (_, i) =>
    Object.fromEntries(
      model.config.attributes.map((a, j) => [a, Math.round(v[i * model.m + j] * 1000) / 1000]),
    ),
  );
}

function report(json: boolean, obj: Record<string, unknown>, text: string): void {
  if (json) process.stdout.write(`${JSON.stringify(obj)}\n`);
  else process.stderr.write(`${text}\n`);
}

export async function sampleCommand(raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(
    z.strictObject({ ...common, n: posInt.max(1024), seed: z.coerce.number().int().min(0) }),
    raw,
    'sample',
  );
  useDevice(o.device);
  const { model } = loadModel(o.checkpoint);
  torch.manualSeed(o.seed);
  const S = model.config.imageSize;
  const imgs = torch.scope(() => torch.noGrad(() => tiles(model.decode(model.sampleLatent(o.n)), S)));
  await writePng(o.out, tileGrid(imgs, S, Math.min(8, o.n)), 2);
  report(o.json, { out: o.out, n: o.n }, `wrote ${o.n} samples to ${o.out}`);
}

export async function interveneCommand(raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(
    z.strictObject({
      ...common,
      do: z.array(z.string()).min(1, 'give at least one --do name=value'),
      n: posInt.max(256),
      seed: z.coerce.number().int().min(0),
    }),
    raw,
    'intervene',
  );
  const interventions = parseAssignments(o.do, '--do');
  useDevice(o.device);
  const { model } = loadModel(o.checkpoint);
  torch.manualSeed(o.seed);
  const S = model.config.imageSize;
  const { grid, labels } = torch.scope(() => {
    const e = intervene(model, interventions, o.n);
    return {
      grid: editGrid(e, S),
      labels: {
        factual: labelRows(model, e.labels.factual),
        causal: labelRows(model, e.labels.causal),
        nonCausal: labelRows(model, e.labels.nonCausal),
      },
    };
  });
  await writePng(o.out, grid, 2);
  report(
    o.json,
    { out: o.out, interventions, labels },
    `wrote ${o.out}: columns are sample | do(${Object.entries(interventions)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}) | non-causal edit`,
  );
}

export async function counterfactualCommand(raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(
    z.strictObject({
      ...common,
      image: z.string(),
      do: z.array(z.string()).min(1, 'give at least one --do name=value'),
      refine: int.min(0).max(10000).default(0),
      residual: z.boolean().default(false),
    }),
    raw,
    'counterfactual',
  );
  const interventions = parseAssignments(o.do, '--do');
  useDevice(o.device);
  const { model } = loadModel(o.checkpoint);
  const x = await loadImageForModel(model, o.image);
  const S = model.config.imageSize;
  const { grid, labels } = torch.scope(() => {
    const e = counterfactual(model, x, interventions, { refine: o.refine, residual: o.residual });
    const input = tiles(x, S);
    const g = editGrid(e, S);
    return {
      grid: tileGrid(
        [input[0], ...tiles(e.factual, S), ...tiles(e.causal, S), ...tiles(e.nonCausal, S)],
        S,
        4,
      ),
      labels: {
        factual: labelRows(model, e.labels.factual)[0],
        causal: labelRows(model, e.labels.causal)[0],
        nonCausal: labelRows(model, e.labels.nonCausal)[0],
        grid: g.width,
      },
    };
  });
  await writePng(o.out, grid, 2);
  report(
    o.json,
    { out: o.out, interventions, labels },
    `wrote ${o.out}: input | ${o.residual ? 'input (residual edits keep it)' : 'reconstruction'} | counterfactual | non-causal edit`,
  );
}

export async function traverseCommand(raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(
    z.strictObject({
      ...common,
      attribute: z.string(),
      steps: posInt.max(32),
      n: posInt.max(64),
      seed: z.coerce.number().int().min(0),
    }),
    raw,
    'traverse',
  );
  useDevice(o.device);
  const { model } = loadModel(o.checkpoint);
  if (!model.config.attributes.includes(o.attribute))
    throw new OptionError(`unknown attribute '${o.attribute}'; known: ${model.config.attributes.join(', ')}`);
  torch.manualSeed(o.seed);
  const values = attributeRange(model, o.attribute, o.steps);
  const S = model.config.imageSize;
  const grid = torch.scope(() => {
    const t = traverse(model, o.attribute, values, o.n);
    const c = tiles(t.causal, S);
    const nc = tiles(t.nonCausal, S);
    // per sample: a causal row, then a non-causal row
    const rows: Uint8Array[] = [];
    for (let i = 0; i < o.n; i++)
      rows.push(...c.slice(i * o.steps, (i + 1) * o.steps), ...nc.slice(i * o.steps, (i + 1) * o.steps));
    return tileGrid(rows, S, o.steps);
  });
  await writePng(o.out, grid, 2);
  report(
    o.json,
    { out: o.out, attribute: o.attribute, values },
    `wrote ${o.out}: rows alternate causal / non-causal; ${o.attribute} = ${values.map((v) => v.toFixed(2)).join(', ')}`,
  );
}
