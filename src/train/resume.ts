/**
 * Resuming a run: what a checkpoint must agree on with the run's config, and its model, optimizer
 * and schedule states loaded into a fresh trainer.
 */
import { existsSync } from 'node:fs';
import type { DagSchedule } from '../causal/scm.ts';
import { CheckpointError, OptionError } from '../errors.ts';
import type { CcigConfig } from '../model/config.ts';
import type { Device, optim } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import {
  assertResumable,
  type CheckpointContents,
  disposeCheckpoint,
  loadCheckpoint,
  restoreSearchedGraph,
} from './checkpoint.ts';
import type { Trainer } from './objective.ts';

/** Where a resumed run stands: the step its checkpoint holds and the schedules' states then. */
export interface ResumedState {
  step: number;
  dag: DagSchedule;
  /** the training-batch sampler's state (Rng.getState) */
  dataRng: CheckpointContents['dataRng'];
}

/**
 * Loads `path` into the trainer's model and optimizers, and the RNG states: refused with an
 * OptionError when the checkpoint's architecture or graph differs from `cfg` (resumeMismatches);
 * warns of a widened graph and of changed optimizer settings, which apply from here.
 */
export function resumeFrom(
  path: string,
  trainer: Trainer,
  cfg: CcigConfig,
  device: Device,
  warn: (message: string) => void,
): ResumedState {
  const { model, optD, optEG } = trainer;
  if (!existsSync(path)) throw new OptionError(`nothing to resume: ${path} does not exist`);
  const c = loadCheckpoint(path);
  try {
    assertResumable(c, path);
    const mismatches = resumeMismatches(c.config, cfg);
    if (mismatches.length > 0)
      throw new OptionError(`refusing to resume ${path}: it was trained with ${mismatches.join('; ')}`);
    const added = widenedEdges(c.config, cfg) ?? [];
    if (added.length > 0)
      warn(
        `resuming with a wider graph than the checkpoint's: ${added.map(([a, b]) => `${a} -> ${b}`).join(', ')} added (their weights start at 0)`,
      );
    model.loadStateDict(c.model);
    restoreSearchedGraph(model, c.structureMask);
    const changed = loadOptimizerStates({ d: optD, eg: optEG }, c.optimizers);
    if (changed.length > 0)
      warn(
        `resuming with changed optimizer settings: ${changed.join(', ')} (the checkpoint's optimizer state had the old values; the new ones apply from here)`,
      );
    if (c.rng) torch.setRngState(c.rng);
    // the CUDA generator's state only means something to a GPU run
    if (c.rngCuda && device.startsWith('cuda')) torch.setRngState(c.rngCuda, device);
    return { step: c.step, dag: c.dag, dataRng: c.dataRng };
  } finally {
    disposeCheckpoint(c);
  }
}

/**
 * The config fields behind each optimizer group, in createTrainer's group order: what a resumed
 * run's warning names when its config changed them.
 */
const OPTIMIZER_GROUP_FIELDS: Record<string, { lr: string; betas: string }[]> = {
  d: [{ lr: 'lrD', betas: 'betas' }],
  eg: [
    { lr: 'lrE', betas: 'betas' },
    { lr: 'lrG', betas: 'betas' },
    { lr: 'lrPrior', betas: 'betas' },
    { lr: 'lrA', betas: 'betasA' },
  ],
};

/**
 * Loads saved optimizer states (moments, step counts) but keeps the learning rates and betas the
 * optimizers were built with from the run's config: a resumed run whose config.json was edited
 * trains with the new values, not silently with the saved ones. Returns what changed, as
 * "train.lrG 0.0002 -> 0.0001" (each config field once).
 */
function loadOptimizerStates(
  optimizers: Record<string, optim.Adam>,
  saved: CheckpointContents['optimizers'],
): string[] {
  const changed = new Map<string, string>();
  for (const [name, opt] of Object.entries(optimizers)) {
    const state = saved[name];
    if (!state) throw new CheckpointError(`the checkpoint has no state for the optimizer '${name}'`);
    const wanted = opt.groups.map((g) => ({
      lr: g.options.lr,
      betas: [...g.options.betas] as [number, number],
    }));
    opt.loadStateDict(state);
    for (const [i, g] of opt.groups.entries()) {
      const fields = OPTIMIZER_GROUP_FIELDS[name]?.[i] ?? {
        lr: `${name} group ${i} lr`,
        betas: `${name} group ${i} betas`,
      };
      const { lr, betas } = wanted[i];
      if (g.options.lr !== lr) changed.set(fields.lr, `train.${fields.lr} ${g.options.lr} -> ${lr}`);
      if (g.options.betas.join() !== betas.join())
        changed.set(
          fields.betas,
          `train.${fields.betas} [${g.options.betas.join(', ')}] -> [${betas.join(', ')}]`,
        );
      g.options.lr = lr;
      g.options.betas = betas;
    }
  }
  return [...changed.values()];
}

/**
 * The edges a resumed `given` run adds to its checkpoint's super-graph, when the new graph keeps
 * every saved edge (undefined otherwise). Widening is safe: the weights of an edge outside the
 * mask are exactly 0, so every trained weight keeps its meaning and the new edges start at 0.
 */
export function widenedEdges(saved: CcigConfig, wanted: CcigConfig): [string, string][] | undefined {
  if (saved.scm.structure !== 'given' || wanted.scm.structure !== 'given') return undefined;
  const key = ([a, b]: readonly [string, string]) => `${a}\u0000${b}`;
  const was = new Set(saved.scm.edges.map(key));
  const now = new Set(wanted.scm.edges.map(key));
  if (![...was].every((k) => now.has(k))) return undefined;
  return wanted.scm.edges.filter((e) => !was.has(key(e)));
}

/**
 * What a resumed run would silently change: the architecture, the latent sizes and the SCM's
 * structure, mechanism, parent model and graph all shape the weights, the gradient mask and the
 * structure schedule (a `given` graph may only widen: widenedEdges). Each entry names the saved
 * and the requested value.
 */
export function resumeMismatches(saved: CcigConfig, wanted: CcigConfig): string[] {
  const fields: [string, (c: CcigConfig) => unknown][] = [
    ['attributes', (c) => c.attributes],
    ['zFree', (c) => c.zFree],
    ['imageSize', (c) => c.imageSize],
    ['net', (c) => c.net],
    ['scm.structure', (c) => c.scm.structure],
    ['scm.mechanism', (c) => c.scm.mechanism],
    ['scm.parents', (c) => c.scm.parents],
    ['scm.edges', (c) => c.scm.edges],
    ['scm.search', (c) => c.scm.search ?? 'notears'],
  ];
  const widened = widenedEdges(saved, wanted) !== undefined;
  return fields
    .filter(([name]) => !(widened && name === 'scm.edges'))
    .map(([name, get]) => [name, JSON.stringify(get(saved)), JSON.stringify(get(wanted))])
    .filter(([, a, b]) => a !== b)
    .map(([name, a, b]) => `${name} ${a}, but this run asks for ${b}`);
}
