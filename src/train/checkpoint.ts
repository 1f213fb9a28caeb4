/**
 * A checkpoint is one safetensors file: model weights (`model.*`), optimizer states
 * (`opt.<name>.*`), the torch RNG states (`rng.torch` for the CPU, `rng.cuda` when trained on
 * a GPU) and, for a graph learned by exact search, the searched graph (`structure.mask`, 0/1
 * [m, m]: an edge a search just added has weight 0, so the weights alone do not show it), with
 * metadata holding the resolved
 * config, the data attributes, the step, the structure schedule, the data sampler's RNG state
 * and the last metrics. Written atomically (temp file + rename), so a crash or a full disk never
 * leaves half a file and the previous checkpoint stays readable; Python can open it with
 * safetensors. Tensors are written from CPU copies and read onto the default device, so a
 * checkpoint written on a GPU loads on a CPU and the reverse.
 */
import { existsSync } from 'node:fs';
import type { DagSchedule } from '../causal/scm.ts';
import type { AttributeInfo } from '../data/dataset.ts';
import type { RngState } from '../data/rng.ts';
import { CheckpointError, DataError, OptionError } from '../errors.ts';
import { Ccig } from '../model/ccig.ts';
import { type CcigConfig, parseConfig } from '../model/config.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import type { OptimizerState } from '../torch/optim.ts';

export const CHECKPOINT_FORMAT = 'ccig-checkpoint/1';

export interface CheckpointMeta {
  config: CcigConfig;
  attributes: AttributeInfo[];
  step: number;
  dag: DagSchedule;
  dataRng: RngState;
  /** last logged metrics (losses, h(A), correlations) */
  metrics: Record<string, unknown>;
  /** the device it was trained on ('cpu', 'cuda', ...); absent in older checkpoints */
  device?: string;
  /** which attributes an editor should offer, recorded by `ccig calibrate --report` */
  editable?: EditableRecord;
  createdAt: string;
}

/** Per attribute: do both of its edits pass `ccig eval`'s success and realism checks (binary-edits.ts)? */
export interface EditableRecord {
  attributes: Record<string, boolean>;
  /** per attribute that fails: why, in a few words */
  why: Record<string, string>;
  /** the edit the checks were made with: residual or plain, and refinement steps */
  residual: boolean;
  refine: number;
  /** the checks' thresholds: success share, and Frechet distance over the reconstructions' */
  successTarget: number;
  realismRatio: number;
  /** held-out faces the checks read, and the report they came from */
  n: number;
  source: string;
}

export interface CheckpointContents extends CheckpointMeta {
  model: Record<string, Tensor>;
  optimizers: Record<string, OptimizerState>;
  rng: Tensor | undefined;
  /** the CUDA generator's state, when it was trained on a GPU */
  rngCuda: Tensor | undefined;
  /** the searched graph of a `learned` exact-search model (absent in older checkpoints) */
  structureMask: Tensor | undefined;
}

/** Whether the model's graph is found by the exact search, so its mask changes during training. */
function searchesGraph(model: Ccig): boolean {
  return model.prior.mode === 'learned' && model.config.scm.search === 'exact';
}

/**
 * Puts a checkpoint's searched graph back into an exact-search model's mask: the saved mask, or
 * in checkpoints from before it was saved, where the weights are non-zero (which misses the edges
 * of the last search that still weigh 0). Other models keep the mask their config gives.
 */
export function restoreSearchedGraph(model: Ccig, structureMask: Tensor | undefined): void {
  if (!searchesGraph(model)) return;
  if (!structureMask) {
    model.prior.setStructure(model.prior.weightSupport());
    return;
  }
  const m = model.m;
  const flat = structureMask.toNumbers();
  if (flat.length !== m * m)
    throw new CheckpointError(`structure.mask has ${flat.length} entries for ${m} attributes`);
  model.prior.setStructure(Array.from({ length: m }, (_, i) => flat.slice(i * m, (i + 1) * m)));
}

/**
 * Writes a checkpoint atomically; a failed write throws a FileSystemError and leaves the file
 * at `path` (the previous checkpoint) as it was, with no temp file.
 */
export function saveCheckpoint(
  path: string,
  model: Ccig,
  optimizers: Record<string, { stateDict(): OptimizerState }>,
  meta: Omit<CheckpointMeta, 'createdAt'>,
): void {
  const tensors: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(model.stateDict())) tensors[`model.${k}`] = t;
  const optMeta: Record<string, OptimizerState['meta']> = {};
  for (const [name, opt] of Object.entries(optimizers)) {
    const s = opt.stateDict();
    for (const [k, t] of Object.entries(s.tensors)) tensors[`opt.${name}.${k}`] = t;
    optMeta[name] = s.meta;
  }
  const device = torch.getDefaultDevice();
  const rng = torch.getRngState();
  tensors['rng.torch'] = rng;
  const rngCuda = device.startsWith('cuda') ? torch.getRngState(device) : undefined;
  if (rngCuda) tensors['rng.cuda'] = rngCuda;
  if (searchesGraph(model)) tensors['structure.mask'] = model.prior.mask;
  try {
    torch.saveSafetensors(
      path,
      tensors,
      {
        format: CHECKPOINT_FORMAT,
        // (JSON writes a lastH of Infinity as null; loadCheckpoint reads it back)
        meta: JSON.stringify({ ...meta, device, createdAt: new Date().toISOString() }),
        optimizers: JSON.stringify(optMeta),
      },
      'write the checkpoint',
    );
  } finally {
    rng.dispose();
    rngCuda?.dispose();
  }
}

/** Reads a checkpoint; a missing, foreign or corrupt file gives a CheckpointError naming it. */
export function loadCheckpoint(path: string): CheckpointContents {
  if (!existsSync(path)) throw new CheckpointError(`${path}: no such checkpoint`);
  let file: ReturnType<typeof torch.loadSafetensors>;
  try {
    file = torch.loadSafetensors(path);
  } catch (e) {
    if (e instanceof DataError) throw new CheckpointError(e.message);
    throw e;
  }
  const { tensors, metadata } = file;
  try {
    return readContents(path, tensors, metadata);
  } catch (e) {
    // nothing was handed out: free every tensor the file held
    for (const t of Object.values(tensors)) t.dispose();
    throw e;
  }
}

function readContents(
  path: string,
  tensors: Record<string, Tensor>,
  metadata: Record<string, string>,
): CheckpointContents {
  if (metadata.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(`${path}: not a ccig checkpoint (format '${metadata.format ?? 'none'}')`);
  let meta: CheckpointMeta;
  let optMeta: Record<string, OptimizerState['meta']>;
  try {
    meta = JSON.parse(metadata.meta);
    optMeta = JSON.parse(metadata.optimizers);
  } catch {
    throw new CheckpointError(`${path}: checkpoint metadata is corrupt`);
  }
  if (typeof meta !== 'object' || meta === null || typeof optMeta !== 'object' || optMeta === null)
    throw new CheckpointError(`${path}: checkpoint metadata is corrupt`);
  meta.config = parseConfig(meta.config, `${path} (config)`);
  // JSON has no Infinity: a schedule saved before its first update comes back with lastH null
  if (meta.dag && meta.dag.lastH === null) meta.dag = { ...meta.dag, lastH: Number.POSITIVE_INFINITY };
  const model: Record<string, Tensor> = {};
  const optimizers: Record<string, OptimizerState> = {};
  for (const name of Object.keys(optMeta)) optimizers[name] = { tensors: {}, meta: optMeta[name] };
  for (const [k, t] of Object.entries(tensors)) {
    if (k.startsWith('model.')) model[k.slice(6)] = t;
    else if (k.startsWith('opt.')) {
      const rest = k.slice(4);
      const dot = rest.indexOf('.');
      const name = dot < 0 ? rest : rest.slice(0, dot);
      if (dot < 0 || !optimizers[name])
        throw new CheckpointError(
          `${path}: tensor '${k}' belongs to no optimizer (known: ${Object.keys(optimizers).join(', ') || 'none'})`,
        );
      optimizers[name].tensors[rest.slice(dot + 1)] = t;
    } else if (k !== 'rng.torch' && k !== 'rng.cuda' && k !== 'structure.mask') t.dispose(); // nothing of ours: free it rather than leak it
  }
  return {
    ...meta,
    model,
    optimizers,
    rng: tensors['rng.torch'],
    rngCuda: tensors['rng.cuda'],
    structureMask: tensors['structure.mask'],
  };
}

/**
 * Refuses to resume from a weights-only file (a snapshot, a shipped model): without optimizer
 * state a run cannot continue exactly. The message names what makes one resumable.
 */
export function assertResumable(c: CheckpointContents, path: string): void {
  if (Object.keys(c.optimizers).length > 0) return;
  throw new OptionError(
    `${path} holds weights only (a snapshot or a shipped model), with no optimizer state to resume from; to go on training from these weights with fresh optimizer moments, make a run folder of them (in a ccig checkout): node --import tsx scripts/warm-start.ts ${path} NEW_RUN, then ccig resume --out NEW_RUN`,
  );
}

/** Frees the tensors a loaded checkpoint holds. */
export function disposeCheckpoint(c: CheckpointContents): void {
  for (const t of Object.values(c.model)) t.dispose();
  for (const o of Object.values(c.optimizers)) for (const t of Object.values(o.tensors)) t.dispose();
  c.rng?.dispose();
  c.rngCuda?.dispose();
  c.structureMask?.dispose();
}

/** A trained model for inference (eval mode), with what its checkpoint says about it. */
export function loadModel(path: string): { model: Ccig; meta: CheckpointMeta } {
  const c = loadCheckpoint(path);
  try {
    const model = new Ccig(c.config, c.attributes);
    model.loadStateDict(c.model);
    restoreSearchedGraph(model, c.structureMask);
    model.eval();
    const { model: _m, optimizers: _o, rng: _r, rngCuda: _rc, structureMask: _s, ...meta } = c;
    return { model, meta };
  } finally {
    disposeCheckpoint(c);
  }
}
