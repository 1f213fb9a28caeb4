/**
 * The model's own thread: loads a checkpoint and answers requests one at a time, so the HTTP
 * server stays responsive while libtorch computes. Messages: {id, op, args} in,
 * {id, ok, result} or {id, ok: false, error: {name, message}} out.
 *
 * An edit's state lives in the client as plain numbers: the exogenous noise `eps` (m values)
 * and the free dims `zr` (k values). Samples get fresh ones; an uploaded image gets the ones
 * abducted from its encoding, which makes every later intervention a counterfactual of it.
 * With residual edits (`edit: 'residual'`) an upload's context also carries `detail`, the image
 * minus its reconstruction (x - G(z), 3 * S * S values), and every edit of it is
 * G(z_do) + detail = x + G(z_do) - G(z), clamped: what do() does not touch stays the photo's.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { descendants } from '../causal/graph.ts';
import { pngBytes, tileGrid, toRgbTiles } from '../data/grid.ts';
import { invert, latentInterventions, nonCausalEdit } from '../model/edit.ts';
import { loadImageForModel } from '../model/images.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { loadModel } from '../train/checkpoint.ts';

const { checkpoint, threads, device, refine, edit } = workerData as {
  checkpoint: string;
  threads?: number;
  device?: torch.Device;
  /** steps refining an upload's free latents (`invert`) */
  refine: number;
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

async function png(t: Tensor): Promise<string> {
  const tiles = toRgbTiles(t.toFloat32Array(), 1, S);
  return `data:image/png;base64,${(await pngBytes(tileGrid(tiles, S, 1, 0), 4)).toString('base64')}`;
}

function labelsOf(zc: Tensor): Record<string, number> {
  const v = model.latentToLabels(zc).toNumbers();
  return Object.fromEntries(names.map((n, i) => [n, v[i]]));
}

function contextTensors(c: Context): { eps: Tensor; zr: Tensor | undefined; detail: Tensor | undefined } {
  return {
    eps: torch.tensor(Float32Array.from(c.eps), { shape: [1, model.m] }),
    zr: model.k > 0 ? torch.tensor(Float32Array.from(c.zr), { shape: [1, model.k] }) : undefined,
    detail: c.detail ? torch.tensor(Float32Array.from(c.detail), { shape: [1, 3, S, S] }) : undefined,
  };
}

async function render(c: Context, interventions: Record<string, number>, mode: 'causal' | 'noncausal') {
  const latent = latentInterventions(model, interventions);
  const { factualImg, editedImg, factualZc, editedZc } = torch.scope(() =>
    torch.noGrad(() => {
      const { eps, zr, detail } = contextTensors(c);
      const factualZc = model.prior.generate(eps);
      const editedZc =
        mode === 'causal' ? model.prior.intervene(eps, latent) : nonCausalEdit(model, factualZc, latent);
      const decode = (zc: Tensor) => {
        const img = model.decode(model.join(zc, zr));
        return detail ? img.add(detail).clamp(-1, 1) : img;
      };
      return { factualZc, editedZc, factualImg: decode(factualZc), editedImg: decode(editedZc) };
    }),
  );
  const out = {
    image: await png(editedImg),
    factual: await png(factualImg),
    labels: { factual: labelsOf(factualZc), edited: labelsOf(editedZc) },
  };
  for (const t of [factualImg, editedImg, factualZc, editedZc]) t.dispose();
  return out;
}

const ops: Record<string, (args: never) => Promise<unknown>> = {
  async info() {
    const A = model.prior.adjacencyArray();
    const thresholded = A.map((row) => row.map((v) => (Math.abs(v) > 0.3 ? v : 0)));
    return {
      preset: meta.config.preset,
      structure: meta.config.scm.structure,
      step: meta.step,
      imageSize: S,
      zFree: model.k,
      attributes: model.attributes,
      adjacency: A,
      edges: model.prior.edges(0.3),
      givenEdges: meta.config.scm.edges,
      // which attributes the editor offers (ccig calibrate --report), and how uploads are edited
      editable: meta.editable ?? null,
      edit: residual ? 'residual' : 'plain',
      descendants: Object.fromEntries(
        names.map((n, i) => [n, descendants(thresholded, i).map((j) => names[j])]),
      ),
    };
  },
  async sample({ n, seed }: { n: number; seed: number }) {
    torch.manualSeed(seed);
    const { eps, zr } = torch.scope(() => ({
      eps: torch.randn([n, model.m]).toNumbers(),
      zr: model.k > 0 ? torch.randn([n, model.k]).toNumbers() : [],
    }));
    const items = [];
    for (let i = 0; i < n; i++) {
      const c = {
        eps: eps.slice(i * model.m, (i + 1) * model.m),
        zr: zr.slice(i * model.k, (i + 1) * model.k),
      };
      const r = await render(c, {}, 'causal');
      items.push({ context: c, image: r.image, labels: r.labels.factual });
    }
    return { items };
  },
  async intervene({
    context,
    interventions,
    mode,
  }: {
    context: Context;
    interventions: Record<string, number>;
    mode: 'causal' | 'noncausal';
  }) {
    return render(context, interventions, mode);
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
    const input = await png(x);
    x.dispose();
    const r = await render(context, {}, 'causal');
    return { context, input, image: r.image, labels: r.labels.factual };
  },
};

parentPort!.on('message', async (msg: { id: number; op: string; args: unknown }) => {
  try {
    const fn = ops[msg.op];
    if (!fn) throw new Error(`unknown op ${msg.op}`);
    const result = await fn(msg.args as never);
    parentPort!.postMessage({ id: msg.id, ok: true, result });
  } catch (e) {
    const err = e as Error;
    parentPort!.postMessage({ id: msg.id, ok: false, error: { name: err.name, message: err.message } });
  }
});
parentPort!.postMessage({ ready: true });
