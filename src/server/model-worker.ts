/**
 * The model's own thread: loads a checkpoint and answers requests, so the HTTP server stays
 * responsive while libtorch computes. Messages: {id, op, args} in, {id, ok, result, batch} or
 * {id, ok: false, error: {name, message}} out.
 *
 * Edits are batched: the editor's `intervene` requests are independent images, so when the
 * thread becomes free it takes every edit waiting (up to `maxBatch`), computes each one's
 * latents on its own (`editLatents`), decodes them all in one generator pass and splits the
 * images again; their PNGs are encoded (on libuv's threads) while the next batch computes. A
 * context's factual image does not depend on the edit, so the last few are kept encoded.
 *
 * An edit's state lives in the client as plain numbers: the exogenous noise `eps` (m values)
 * and the free dims `zr` (k values). Samples get fresh ones; an uploaded image gets the ones
 * abducted from its encoding, which makes every later intervention a counterfactual of it.
 * With residual edits (`edit: 'residual'`) an upload's context also carries `detail`, the image
 * minus its reconstruction (x - G(z), 3 * S * S values), and every edit of it is
 * G(z_do) + detail = x + G(z_do) - G(z), clamped: what do() does not touch stays the photo's.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { descendants, EDGE_THRESHOLD, threshold } from '../causal/graph.ts';
import { pngBytes, tileGrid, toRgbTiles } from '../data/grid.ts';
import { invert, latentInterventions, nonCausalEdit } from '../model/edit.ts';
import { loadImageForModel } from '../model/images.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { loadModel } from '../train/checkpoint.ts';

const { checkpoint, threads, device, refine, maxBatch, edit } = workerData as {
  checkpoint: string;
  threads?: number;
  device?: torch.Device;
  /** steps refining an upload's free latents (`invert`) */
  refine: number;
  /** the most edits decoded in one generator pass */
  maxBatch: number;
  /** how uploads are edited; undefined: as the checkpoint's `editable` record was measured, else plain */
  edit?: 'residual' | 'plain';
};
if (threads) torch.setNumThreads(threads);
// each thread has its own default device; the model and every request's tensors live there
if (device) torch.setDefaultDevice(device);
const { model, meta } = loadModel(checkpoint);
const S = model.config.imageSize;
const names = model.config.attributes;
const residual = (edit ?? (meta.editable?.residual ? 'residual' : 'plain')) === 'residual';

export interface Context {
  eps: number[];
  zr: number[];
  /** residual edits of an upload: x - G(z), [3, S, S] flattened */
  detail?: number[];
}

export interface EditRequest {
  context: Context;
  interventions: Record<string, number>;
  mode: 'causal' | 'noncausal';
}

interface Rendered {
  image: string;
  factual: string;
  labels: { factual: Record<string, number>; edited: Record<string, number> };
}

/** One image, HWC RGB, as the editor's data: URL (4x, nearest). */
async function png(rgb: Uint8Array): Promise<string> {
  return `data:image/png;base64,${(await pngBytes(tileGrid([rgb], S, 1, 0), 4)).toString('base64')}`;
}

function labelsRecord(values: number[], row: number): Record<string, number> {
  return Object.fromEntries(names.map((n, i) => [n, values[row * names.length + i]]));
}

/**
 * The latents of edits that intervene on the same attributes in the same mode (1 row each,
 * inside the caller's scope and noGrad): factual and edited z_c and the z_r both are decoded
 * with. One SCM pass for the group, each request with its own noise and values; batching only
 * gathers and splits, what an edit means is decided here.
 */
function editLatents(
  group: readonly EditRequest[],
  /** each request's interventions in latent units (latentInterventions) */
  latents: readonly Record<string, number>[],
): {
  factualZc: Tensor;
  editedZc: Tensor;
  zr: Tensor | undefined;
} {
  const n = group.length;
  const eps = torch.tensor(Float32Array.from(group.flatMap((r) => r.context.eps)), { shape: [n, model.m] });
  const zr =
    model.k > 0
      ? torch.tensor(Float32Array.from(group.flatMap((r) => r.context.zr)), { shape: [n, model.k] })
      : undefined;
  const factualZc = model.prior.generate(eps);
  const { mode } = group[0];
  const nodes = model.prior.interventionIndices(latents[0]).map(([i]) => i);
  let editedZc: Tensor;
  if (mode === 'noncausal')
    editedZc = torch.cat(
      latents.map((latent, i) => nonCausalEdit(model, factualZc.slice(0, i, i + 1), latent)),
      0,
    );
  else if (nodes.length === 0) editedZc = factualZc;
  else {
    // do(node = its value in each row), as prior.intervene does for one row
    const values = new Float32Array(n * model.m);
    latents.forEach((latent, i) => {
      for (const [j, v] of model.prior.interventionIndices(latent)) values[i * model.m + j] = v;
    });
    editedZc = model.prior.interveneRows(eps, nodes, torch.tensor(values, { shape: [n, model.m] }));
  }
  return { factualZc, editedZc, zr };
}

/** Requests whose edits share one SCM pass: the same mode and the same intervened attributes. */
const groupKey = (r: EditRequest) => `${r.mode}|${Object.keys(r.interventions).sort().join()}`;

/** Recent contexts' factual images, encoded: a slider's every move re-sends the same context. */
const factualPngs = new Map<string, Promise<string>>();
const FACTUAL_CACHE = 256;
const contextKey = (c: Context) => `${c.eps.join()}|${c.zr.join()}`;

/**
 * Renders edits in one generator pass: each request's latents, then one decode of every edited
 * image and every factual image not already encoded, split back per request. Returns at once
 * with each request's answer (or its own error) still encoding, so the caller can start the
 * next batch meanwhile.
 */
function renderBatch(requests: readonly EditRequest[]): Promise<Rendered>[] {
  const failed = new Map<number, Error>();
  // a residual context's factual image is its own photo: never shared, never cached
  const keys = requests.map((r, i) => (r.context.detail ? `detail:${i}` : contextKey(r.context)));
  // a context twice in one batch is decoded once
  const missing = new Set(keys.filter((k) => !factualPngs.has(k)));
  // each request's values checked on their own, so a mistake fails only its request
  const latents: Record<string, number>[] = [];
  const groups = new Map<string, number[]>();
  requests.forEach((r, i) => {
    try {
      latents[i] = latentInterventions(model, r.interventions);
    } catch (e) {
      failed.set(i, e as Error);
      return;
    }
    const k = groupKey(r);
    groups.set(k, [...(groups.get(k) ?? []), i]);
  });
  const { pixels, labels, drawn, factualRow } = torch.scope(() =>
    torch.noGrad(() => {
      const drawn: number[] = [];
      const factualZcs: Tensor[] = [];
      const editedZcs: Tensor[] = [];
      const zrs: (Tensor | undefined)[] = [];
      for (const members of groups.values()) {
        let group: ReturnType<typeof editLatents>;
        try {
          group = editLatents(
            members.map((i) => requests[i]),
            members.map((i) => latents[i]),
          );
        } catch (e) {
          // a group fails only for its own requests
          for (const i of members) failed.set(i, e as Error);
          continue;
        }
        members.forEach((i, j) => {
          drawn.push(i);
          factualZcs.push(group.factualZc.slice(0, j, j + 1));
          editedZcs.push(group.editedZc.slice(0, j, j + 1));
          zrs.push(group.zr?.slice(0, j, j + 1));
        });
      }
      // rows: every edited image, then the factual images of contexts not yet encoded
      const factualRow = new Map<string, number>();
      const z = drawn.map((_, j) => model.join(editedZcs[j], zrs[j]));
      const zc = drawn.flatMap((_, j) => [factualZcs[j], editedZcs[j]]);
      drawn.forEach((i, j) => {
        const k = keys[i];
        if (missing.has(k) && !factualRow.has(k)) {
          factualRow.set(k, z.length);
          z.push(model.join(factualZcs[j], zrs[j]));
        }
      });
      if (z.length === 0) return { pixels: new Float32Array(0), labels: [], drawn, factualRow };
      return {
        pixels: model.decode(torch.cat(z, 0)).toFloat32Array(),
        labels: model.latentToLabels(torch.cat(zc, 0)).toNumbers(),
        drawn,
        factualRow,
      };
    }),
  );
  // residual contexts: their edited and factual rows plus the photo's detail, clamped
  const size = 3 * S * S;
  drawn.forEach((i, j) => {
    const detail = requests[i].context.detail;
    if (!detail) return;
    for (const row of [j, factualRow.get(keys[i])]) {
      if (row === undefined) continue;
      for (let t = 0; t < size; t++)
        pixels[row * size + t] = Math.min(1, Math.max(-1, pixels[row * size + t] + detail[t]));
    }
  });
  const tiles = toRgbTiles(pixels, pixels.length / size, S);
  const encoded = new Map<string, Promise<string>>();
  for (const k of new Set(keys)) {
    const cached = factualPngs.get(k);
    const row = factualRow.get(k);
    const p = cached ?? (row !== undefined ? png(tiles[row]) : undefined);
    if (!p) continue; // only this context's failed requests
    encoded.set(k, p);
    if (k.startsWith('detail:')) continue;
    // most recently used last; the oldest goes first (a Map keeps insertion order)
    factualPngs.delete(k);
    factualPngs.set(k, p);
  }
  while (factualPngs.size > FACTUAL_CACHE) factualPngs.delete(factualPngs.keys().next().value as string);
  return requests.map(async (_, i) => {
    const error = failed.get(i);
    if (error) throw error;
    const j = drawn.indexOf(i);
    return {
      image: await png(tiles[j]),
      factual: await encoded.get(keys[i])!,
      labels: { factual: labelsRecord(labels, 2 * j), edited: labelsRecord(labels, 2 * j + 1) },
    };
  });
}

const ops: Record<string, (args: never) => Promise<unknown>> = {
  async info() {
    const A = model.prior.adjacencyArray();
    // edges by their standardized effect, the one meaning of the threshold (graph.ts)
    const drawn = threshold(model.prior.standardizedEffects(), EDGE_THRESHOLD);
    return {
      preset: meta.config.preset,
      structure: meta.config.scm.structure,
      step: meta.step,
      imageSize: S,
      zFree: model.k,
      attributes: model.attributes,
      adjacency: A,
      edges: model.prior.edges(EDGE_THRESHOLD),
      givenEdges: meta.config.scm.edges,
      descendants: Object.fromEntries(names.map((n, i) => [n, descendants(drawn, i).map((j) => names[j])])),
      // which attributes the editor offers (ccig calibrate --report), and how uploads are edited
      editable: meta.editable ?? null,
      edit: residual ? 'residual' : 'plain',
    };
  },
  async sample({ n, seed }: { n: number; seed: number }) {
    torch.manualSeed(seed);
    const { eps, zr, pixels, labels } = torch.scope(() =>
      torch.noGrad(() => {
        const eps = torch.randn([n, model.m]);
        const zr = model.k > 0 ? torch.randn([n, model.k]) : undefined;
        const zc = model.prior.generate(eps);
        return {
          eps: eps.toNumbers(),
          zr: zr ? zr.toNumbers() : [],
          pixels: model.decode(model.join(zc, zr)).toFloat32Array(),
          labels: model.latentToLabels(zc).toNumbers(),
        };
      }),
    );
    const tiles = toRgbTiles(pixels, n, S);
    const items = await Promise.all(
      tiles.map(async (tile, i) => ({
        context: {
          eps: eps.slice(i * model.m, (i + 1) * model.m),
          zr: zr.slice(i * model.k, (i + 1) * model.k),
        },
        image: await png(tile),
        labels: labelsRecord(labels, i),
      })),
    );
    return { items };
  },
  async encode({ image }: { image: Uint8Array }) {
    const x = await loadImageForModel(model, Buffer.from(image), 'upload');
    const context: Context = torch.scope(() => {
      const z = invert(model, x, { refine });
      const { zc, zr } = model.split(z);
      return torch.noGrad(() => ({
        eps: model.prior.abduct(zc).toNumbers(),
        zr: zr ? zr.toNumbers() : [],
        // rounded: the client sends it back with every edit (1e-4 is under half a grey level)
        ...(residual
          ? {
              detail: x
                .sub(model.decode(z))
                .toNumbers()
                .map((v) => Math.round(v * 1e4) / 1e4),
            }
          : {}),
      }));
    });
    const input = await png(toRgbTiles(x.toFloat32Array(), 1, S)[0]);
    x.dispose();
    const [reconstruction] = renderBatch([{ context, interventions: {}, mode: 'causal' }]);
    const r = await reconstruction;
    return { context, input, image: r.image, labels: r.labels.factual };
  },
};

interface Job {
  id: number;
  op: string;
  args: unknown;
}

/** The op whose requests are gathered into batches. */
const BATCHED = 'intervene';

/** Posts a request's answer; `batch` (the batch's size) on the first answer of an edit batch. */
function reply(job: Job, result: Promise<unknown>, batch?: number): Promise<void> {
  return result.then(
    (r) => parentPort!.postMessage({ id: job.id, ok: true, result: r, batch }),
    (e: Error) =>
      parentPort!.postMessage({ id: job.id, ok: false, error: { name: e.name, message: e.message }, batch }),
  );
}

const waiting: Job[] = [];
let draining = false;

/** Answers what is waiting, in order, edits in batches; one drain runs at a time. */
async function drain(): Promise<void> {
  draining = true;
  try {
    while (waiting.length > 0) {
      // one turn of the event loop: requests still in the port join this batch
      await new Promise(setImmediate);
      if (waiting[0].op === BATCHED) {
        const batch: Job[] = [];
        for (let i = 0; i < waiting.length && batch.length < maxBatch; )
          if (waiting[i].op === BATCHED) batch.push(...waiting.splice(i, 1));
          else i++;
        let answers: Promise<Rendered>[];
        try {
          answers = renderBatch(batch.map((j) => j.args as EditRequest));
        } catch (e) {
          answers = batch.map(() => Promise.reject(e));
        }
        // not awaited: the PNGs encode while the next batch computes
        batch.forEach((job, i) => void reply(job, answers[i], i === 0 ? batch.length : undefined));
      } else {
        const job = waiting.shift()!;
        const fn = ops[job.op];
        await reply(job, fn ? fn(job.args as never) : Promise.reject(new Error(`unknown op ${job.op}`)));
      }
    }
  } finally {
    draining = false;
  }
}

parentPort!.on('message', (job: Job) => {
  waiting.push(job);
  if (!draining) void drain();
});
parentPort!.postMessage({ ready: true });
