/**
 * Training CCIG, top to bottom: config -> data -> model and optimizers (fresh or resumed) ->
 * the loop (D step, E + G/prior step, structure schedule) -> logs, grids, checkpoints.
 *
 * One step (docs/method.md section 3), real batch (x, y), z ~ prior:
 *   D:      L_D = mean softplus(D(G(z), z)) + mean softplus(-D(x, E(x)))
 *   E:      L_E = mean D(x, E(x)) + lambda_sup L_sup(mu_c, y) + lambda_scm L_scm
 *   G/prior: L_G = -mean(s D(G(z), z)), s = clamp(exp(D(G(z), z)), 0.5, 2) detached,
 *            plus alpha h(A) + rho/2 h(A)^2 + l1 |A|_1 in `learned` mode with NOTEARS,
 *            plus lambda_cyc L_cyc, which trains G alone (see encoderGeneratorTerms).
 *   E + G:  lambda_rec |G(mu_E(x)) - x|_1 where train.lambdaRec is set.
 * E and G/prior have disjoint parameters and learn from one backward pass; D's parameters stop
 * recording gradients meanwhile, so no work is spent on gradients nobody uses.
 * `learned` with exact search (the default) instead re-searches the graph on the encoder's
 * latents every train.searchEvery steps (searchGraph) and trains the prior on it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { namedEdges } from '../causal/graph.ts';
import { type DagSchedule, STRUCTURE_PARAMS, structurePenalty, updateDagSchedule } from '../causal/scm.ts';
import { searchStructure } from '../causal/search.ts';
import { flipChoice, hflipRows } from '../data/augment.ts';
import type { Dataset } from '../data/dataset.ts';
import { tileGrid, toRgbTiles, writePng } from '../data/grid.ts';
import { mix32, Rng } from '../data/rng.ts';
import { CheckpointError, FileSystemError, OptionError, OutOfMemoryError } from '../errors.ts';
import {
  appendLine,
  describeCode,
  formatBytes,
  freeBytes,
  makeFolder,
  TRANSIENT_CODES,
  toFileSystemError,
  writeFileAtomic,
} from '../files.ts';
import { Ccig } from '../model/ccig.ts';
import { type CcigConfig, checkStructureLimits } from '../model/config.ts';
import * as torch from '../torch/index.ts';
import { type Device, optim, type Tensor } from '../torch/index.ts';
import {
  assertResumable,
  type CheckpointContents,
  disposeCheckpoint,
  loadCheckpoint,
  restoreSearchedGraph,
  saveCheckpoint,
} from './checkpoint.ts';
import { type BatchShard, type DataParallel, wholeBatch } from './ddp.ts';
import { checkFreeSpace, prepareRunFolder, runPaths, snapshotPath, spaceNeeded } from './run-folder.ts';

export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
}

export interface TrainData {
  train: Dataset;
  /** held-out examples for the logged correlations and reconstruction grids */
  test: Dataset;
}

export interface Progress {
  step: number;
  steps: number;
  imagesPerSecond: number;
  etaSeconds: number;
  losses: Losses;
}

export interface TrainOptions {
  config: CcigConfig;
  data: TrainData;
  /** run folder: checkpoint.safetensors, log.jsonl, config.json, samples/ */
  outDir: string;
  /** continue from outDir/checkpoint.safetensors */
  resume?: boolean;
  /** train until this step (default config.train.steps) */
  untilStep?: number;
  /** called after every step */
  onProgress?: (p: Progress) => void;
  /** set to stop after the current step, with a checkpoint (Ctrl-C) */
  signal?: AbortSignal;
  /** write PNG grids (default true) */
  grids?: boolean;
  /**
   * problems that do not stop training: a sample grid or log line that could not be written
   * (reported once per kind), a checkpoint write about to be retried (default: stderr)
   */
  onWarning?: (message: string) => void;
  /** tries of a checkpoint write before the run stops (default 3) */
  checkpointAttempts?: number;
  /** wait before the first retry of a checkpoint write, doubling after (default 5000 ms) */
  checkpointRetryMs?: number;
  /** check free space before starting (default true) */
  checkSpace?: boolean;
  /**
   * train as one rank of a data-parallel run (torch.dist initialized): each rank trains on its
   * shard of every global batch, gradients are averaged (train/ddp.ts), rank 0 alone writes
   */
  dataParallel?: DataParallel;
  /**
   * where the model, optimizers and batches live (default: the current default device, see
   * torch.setDefaultDevice); set as the default device for the run and restored after it
   */
  device?: Device;
}

export interface Losses {
  d: number;
  e: number;
  g: number;
  sup: number;
  scm: number;
  cyc: number;
  /** image reconstruction L1 (0 where train.lambdaRec is off) */
  rec: number;
  h: number;
}

/** Every loss at 0: before the first step, and the one list of the losses' names (LOSS_NAMES). */
const ZERO_LOSSES: Losses = { d: 0, e: 0, g: 0, sup: 0, scm: 0, cyc: 0, rec: 0, h: 0 };
const LOSS_NAMES = Object.keys(ZERO_LOSSES) as (keyof Losses)[];

/** Losses from numbers in LOSS_NAMES' order. */
function lossesFrom(values: number[]): Losses {
  const out = { ...ZERO_LOSSES };
  for (const [i, n] of LOSS_NAMES.entries()) out[n] = values[i];
  return out;
}

export interface TrainResult {
  step: number;
  stopped: 'done' | 'interrupted';
  checkpoint: string;
  losses: Losses;
}

/** Runs (or resumes) training; resolves when done or interrupted, with a checkpoint written. */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const prevDevice = o.device ? torch.setDefaultDevice(o.device) : undefined;
  try {
    return await trainOnDevice(o);
  } finally {
    if (prevDevice) torch.setDefaultDevice(prevDevice);
  }
}

async function trainOnDevice(o: TrainOptions): Promise<TrainResult> {
  const device = torch.getDefaultDevice();
  const cfg = o.config;
  const t = cfg.train;
  const { train: trainSet, test: testSet } = o.data;
  if (trainSet.size === 0) throw new OptionError('the training set is empty');
  // a search that cannot run is refused now, not at its first search hundreds of steps in
  checkStructureLimits(cfg);
  if (trainSet.imageSize !== cfg.imageSize)
    throw new OptionError(
      `the data has ${trainSet.imageSize}px images but the config wants ${cfg.imageSize}px`,
    );
  prepareRunFolder(o.outDir);
  const paths = runPaths(o.outDir);
  const ckptPath = paths.checkpoint;
  const logPath = paths.log;
  const warn = o.onWarning ?? ((m: string) => process.stderr.write(`ccig: warning: ${m}\n`));
  // a grid or log line that cannot be written is reported once per kind; training goes on
  const warned = new Set<string>();
  const warnOnce = (kind: string, e: unknown) => {
    const err = toFileSystemError(e);
    if (!(err instanceof FileSystemError)) throw e;
    if (warned.has(kind)) return;
    warned.add(kind);
    warn(`${err.message}; training goes on (further ${kind} failures are not reported)`);
  };

  // ---- model, optimizers, state: fresh or resumed
  torch.manualSeed(t.seed);
  const dp = o.dataParallel;
  /** the rank that writes checkpoints, logs and grids */
  const writer = !dp || dp.rank === 0;
  const trainer = createTrainer(cfg, trainSet.attributes, {
    syncGradients: dp && ((params) => dp.averageGradients(params)),
    batchShard: dp && ((rows) => dp.batchShard(rows)),
  });
  const { model, optD, optEG } = trainer;
  let step = 0;
  /** step of the last checkpoint known to be on disk, intact */
  let savedStep: number | undefined;
  let dag: DagSchedule = { alpha: 0, rho: t.dag.rhoInit, lastH: Number.POSITIVE_INFINITY };
  const dataRng = new Rng(t.seed, 1);
  // `learned` by exact search: no edges until the first search on the encoder's latents
  const exact = model.prior.mode === 'learned' && cfg.scm.search === 'exact';
  const noEdges = () => model.attributes.map(() => model.attributes.map(() => 0));
  if (exact && !o.resume) model.prior.setStructure(noEdges());
  if (o.resume) {
    try {
      if (!existsSync(ckptPath)) throw new OptionError(`nothing to resume: ${ckptPath} does not exist`);
      const c = loadCheckpoint(ckptPath);
      try {
        assertResumable(c, ckptPath);
        const mismatches = resumeMismatches(c.config, cfg);
        if (mismatches.length > 0)
          throw new OptionError(
            `refusing to resume ${ckptPath}: it was trained with ${mismatches.join('; ')}`,
          );
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
        step = c.step;
        savedStep = c.step;
        dag = c.dag;
        dataRng.setState(c.dataRng);
      } finally {
        disposeCheckpoint(c);
      }
    } catch (e) {
      model.dispose(); // nothing to train: free the fresh model
      throw e;
    }
  }
  try {
    if (writer) {
      if (o.checkSpace ?? true) checkFreeSpace(o.outDir, spaceNeeded(cfg, model, o.outDir, o.grids ?? true));
      if (!o.resume) writeFileAtomic(logPath, '', 'start the log');
      writeFileAtomic(paths.config, `${JSON.stringify(cfg, null, 2)}\n`, 'write the run config');
    }
    // every rank starts from rank 0's parameters and buffers (DDP)
    if (dp) dp.broadcastModule(model);
  } catch (e) {
    model.dispose();
    throw e;
  }

  // ---- fixed things to look at: prior noise for sample grids, a held-out batch
  const gridRng = new Rng(t.seed, 2);
  const nGrid = 64;
  const gridEps = torch.keep(
    torch.tensor(
      Float32Array.from({ length: nGrid * model.zDim }, () => gridRng.normal()),
      { shape: [nGrid, model.zDim] },
    ),
  );
  const heldOut = testSet.size > 0 ? testSet : trainSet;
  if (writer && testSet.size === 0)
    warn("the data has no test images: the log's held-out figures and grids use training images");
  const heldIdx = Array.from({ length: Math.min(256, heldOut.size) }, (_, i) => i);
  const held = heldOut.batch(heldIdx);
  const heldX = torch.keep(
    torch.tensor(held.images, { shape: [held.batchSize, 3, cfg.imageSize, cfg.imageSize] }),
  );
  const heldY = torch.keep(torch.tensor(held.labels, { shape: [held.batchSize, model.m] }));

  const until = o.untilStep ?? t.steps;
  const B = t.batchSize;
  const labelled = (i: number) => (isLabelled(i, t.supProp, t.seed) ? 1 : 0);
  let last: Losses = { ...ZERO_LOSSES };
  let lastSearch: ({ step: number } & SearchOutcome) | undefined;
  let windowStart = performance.now();
  let windowSteps = 0;
  let rate = 0;

  const checkpointMeta = (metrics: Record<string, unknown>) => ({
    config: cfg,
    attributes: [...trainSet.attributes],
    step,
    dag,
    dataRng: dataRng.getState(),
    metrics,
  });
  const save = (metrics: Record<string, unknown>) =>
    saveCheckpoint(ckptPath, model, { d: optD, eg: optEG }, checkpointMeta(metrics));
  /**
   * After a checkpoint: when the disk could not hold the next one next to it (plus the grids and
   * log lines until then), say so once, while there is time to free space.
   */
  const warnIfNearlyFull = () => {
    if (warned.has('space')) return;
    const need = spaceNeeded(cfg, model, o.outDir, o.grids ?? true);
    const free = freeBytes(o.outDir);
    if (free === undefined || free >= need.total - need.checkpointBytes) return;
    warned.add('space');
    warn(
      `the disk of ${o.outDir} is nearly full: ${formatBytes(free)} free, and the next checkpoint with the grids and log lines before it needs about ${formatBytes(need.total - need.checkpointBytes)}; free some space, or the run stops at a coming checkpoint (the last one stays intact)`,
    );
  };
  /**
   * Writes the checkpoint, retrying faults that may clear up (a full disk, too many open files);
   * a failed write leaves the previous checkpoint intact, so when all tries fail the run stops
   * with the step that checkpoint holds.
   */
  const checkpoint = async (metrics: Record<string, unknown>) => {
    const attempts = Math.max(1, o.checkpointAttempts ?? 3);
    let wait = o.checkpointRetryMs ?? 5000;
    for (let attempt = 1; ; attempt++) {
      try {
        save(metrics);
        savedStep = step;
        warnIfNearlyFull();
        return;
      } catch (e) {
        if (!(e instanceof FileSystemError)) throw e;
        const kept =
          savedStep === undefined
            ? 'no checkpoint of this run was written before'
            : `the previous checkpoint (step ${savedStep}) is intact`;
        if (attempt < attempts && TRANSIENT_CODES.has(e.code)) {
          warn(`${e.message}; ${kept}; trying again in ${wait / 1000} s (try ${attempt + 1} of ${attempts})`);
          await new Promise((r) => setTimeout(r, wait));
          wait *= 2;
          continue;
        }
        cleanup();
        const { reason, advice } = describeCode(e.code);
        const next =
          savedStep === undefined
            ? `no checkpoint of this run was written yet; ${advice}, then start again`
            : `the previous checkpoint (step ${savedStep}) is intact; ${advice}, then continue with: ccig resume --out ${o.outDir}`;
        throw new FileSystemError(
          `training stopped at step ${step}: cannot write the checkpoint ${ckptPath}: ${reason} (${e.code}), tried ${attempt} time${attempt > 1 ? 's' : ''}; ${next}`,
          e.code,
          e.path,
          e.operation,
          e.userMistake,
          { cause: e },
        );
      }
    }
  };

  // ---- the loop
  while (step < until) {
    // one global batch from the seeded sampler; a data-parallel rank trains on its shard of it
    const global = Array.from({ length: B }, () => dataRng.int(trainSet.size));
    const indices = dp ? dp.shard(global) : global;
    const n = indices.length;
    const batch = trainSet.batch(indices);
    if (t.flip) {
      // the flip of a row depends on its place in the global batch, whichever rank trains it
      const flip = flipChoice(t.seed, step);
      const offset = dp ? dp.rank * n : 0;
      hflipRows(batch.images, n, 3, cfg.imageSize, (row) => flip(offset + row));
    }
    if (dp) dp.broadcastBuffers(model);
    let losses: Losses;
    try {
      losses = torch.scope(() => {
        // batches go to the device through pinned memory (torch.tensor on a CUDA default device)
        const x = torch.tensor(batch.images, { shape: [n, 3, cfg.imageSize, cfg.imageSize] }); // [n, 3, S, S]
        const y = torch.tensor(batch.labels, { shape: [n, model.m] }); // [n, m]
        const supMask = torch.tensor(Float32Array.from(indices, labelled)).unsqueeze(1); // [n, 1]
        // 1 where the row's attribute was set by do(): the SCM-consistency loss leaves it out
        const intervened = batch.intervened.includes(1)
          ? torch.tensor(Float32Array.from(batch.intervened), { shape: [n, model.m] }) // [n, m]
          : undefined;
        const stepLosses = trainer.step(x, y, supMask, dag, intervened);
        if (exact) model.prior.applyMask();
        return stepLosses;
      });
    } catch (e) {
      if (e instanceof OutOfMemoryError) {
        cleanup();
        throw new OutOfMemoryError(
          `${device} ran out of memory at batch size ${B} (preset ${cfg.preset}, step ${step + 1}); ` +
            `try --batch-size ${Math.max(1, Math.floor(B / 2))}${device === 'cpu' ? '' : ' or --device cpu'}. libtorch said: ${e.message}`,
        );
      }
      throw e;
    }
    if (dp) losses = averageLosses(dp, losses);
    step++;
    windowSteps++;

    if (!Object.values(losses).every(Number.isFinite)) {
      cleanup();
      throw new TrainingDivergedError(
        `training diverged at step ${step}: losses ${JSON.stringify(losses)}; the last good checkpoint (if any) is ${ckptPath}`,
      );
    }
    last = losses;

    // augmented Lagrangian outer update for h(A) = 0, or the next exact search
    // (a search needs a few rows: with fewer than 10 training images the graph stays empty)
    // (none at the run's last step, t.steps: nothing would train the edges it adds)
    if (exact && step % (t.searchEvery ?? 250) === 0 && step < t.steps && trainSet.size >= 10)
      lastSearch = { step, ...searchGraph(model, trainSet, t.searchRows ?? 1000) };
    else if (model.prior.mode === 'learned' && !exact && step % t.dag.updateEvery === 0)
      dag = updateDagSchedule(dag, losses.h, t.dag);

    const now = performance.now();
    if (now - windowStart > 2000) {
      rate = (windowSteps * B) / ((now - windowStart) / 1000);
      windowStart = now;
      windowSteps = 0;
    }
    o.onProgress?.({
      step,
      steps: until,
      imagesPerSecond: rate,
      etaSeconds: rate > 0 ? ((until - step) * B) / rate : 0,
      losses,
    });

    const finished = step >= until;
    // a signal that reached any rank stops every rank after this same step
    const interrupted = dp
      ? dp.averageNumbers([o.signal?.aborted ? 1 : 0])[0] > 0
      : (o.signal?.aborted ?? false);
    let metrics: Record<string, unknown> | undefined;
    // every rank must hold the same parameters; checked at each log line (a collective: all ranks)
    const drift =
      dp && (step % t.logEvery === 0 || finished || interrupted) ? dp.parameterDrift(model) : undefined;
    if (writer && (step % t.logEvery === 0 || finished || interrupted)) {
      metrics = logMetrics(model, heldX, heldY, step, losses, dag, rate, device);
      if (drift !== undefined) metrics.ddp = { worldSize: dp?.worldSize, parameterDrift: drift };
      if (lastSearch) metrics.search = lastSearch;
      try {
        appendLine(logPath, JSON.stringify(metrics), 'write to the log');
      } catch (e) {
        warnOnce('log', e);
      }
    }
    if (writer && (o.grids ?? true) && (step % t.sampleEvery === 0 || finished)) {
      try {
        await writeGrids(model, gridEps, heldX, paths.samples, step);
      } catch (e) {
        warnOnce('sample grid', e);
      }
    }
    if (writer && t.snapshotEvery && step % t.snapshotEvery === 0) {
      try {
        makeFolder(paths.snapshots, 'create the snapshot folder');
        saveCheckpoint(snapshotPath(o.outDir, step), model, {}, checkpointMeta(metrics ?? { step, losses }));
      } catch (e) {
        warnOnce('snapshot', e);
      }
    }
    if (writer && (step % t.checkpointEvery === 0 || finished || interrupted))
      await checkpoint(metrics ?? { step, losses });
    if (interrupted) {
      cleanup();
      return { step, stopped: 'interrupted', checkpoint: ckptPath, losses: last };
    }
    // let signals (Ctrl-C) and I/O through between steps
    await new Promise((r) => setImmediate(r));
  }
  cleanup();
  return { step, stopped: 'done', checkpoint: ckptPath, losses: last };

  function cleanup() {
    for (const x of [gridEps, heldX, heldY]) x.dispose();
    model.dispose();
    optD.dispose();
    optEG.dispose();
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

/** Losses averaged over the ranks of a data-parallel run (each rank saw its own shard). */
function averageLosses(dp: DataParallel, l: Losses): Losses {
  return lossesFrom(dp.averageNumbers(LOSS_NAMES.map((n) => l[n])));
}

/**
 * Whether training example i uses its label (train.supProp < 1): a fixed pseudo-random choice of
 * about supProp of the examples, the same at every step and on resume.
 */
export function isLabelled(i: number, supProp: number, seed: number): boolean {
  return supProp >= 1 || mix32(i ^ (seed * 0x9e3779b1)) / 2 ** 32 < supProp;
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

export interface Trainer {
  model: Ccig;
  optD: optim.Adam;
  optEG: optim.Adam;
  /**
   * One training step on a batch (x [B,3,S,S], y [B,m], supMask [B,1], intervened [B,m]: 1 where
   * the row's attribute was set by do(), whose mechanism the SCM-consistency loss then leaves
   * out): the D step, then the E + G/prior step. The generator samples the observational prior,
   * so the adversarial terms see only the observational rows (see observationalRows).
   */
  step(x: Tensor, y: Tensor, supMask: Tensor, dag: DagSchedule, intervened?: Tensor): Losses;
  /** The D step alone; returns L_D. */
  discriminatorStep(x: Tensor, intervened?: Tensor): Tensor;
  /** The E + G/prior step alone (D frozen); returns its unweighted terms. */
  encoderGeneratorStep(x: Tensor, y: Tensor, supMask: Tensor, dag: DagSchedule, intervened?: Tensor): EgTerms;
}

/** The model, its optimizers (DEAR's groups) and the step of docs/method.md section 3. */
export interface TrainerOptions {
  /** called after each backward with the parameters its optimizer will step (data parallelism) */
  syncGradients?: (params: Tensor[]) => void;
  /** the global batch a step's `rows` rows belong to (data parallelism; default: they are all of it) */
  batchShard?: (rows: number) => BatchShard;
}

export function createTrainer(
  cfg: CcigConfig,
  attributes: Dataset['attributes'],
  options: TrainerOptions = {},
): Trainer {
  const t = cfg.train;
  const model = new Ccig(cfg, attributes);
  const optD = new optim.Adam(model.discriminator.parameters(), { lr: t.lrD, betas: t.betas });
  const priorParams = (structure: boolean) =>
    model.prior
      .namedParameters()
      .filter(([n]) => STRUCTURE_PARAMS.includes(n) === structure)
      .map(([, p]) => p);
  const optEG = new optim.Adam(
    [
      { params: model.encoder.parameters(), lr: t.lrE },
      { params: model.generator.parameters(), lr: t.lrG },
      { params: priorParams(false), lr: t.lrPrior },
      // DEAR gives A its own Adam with PyTorch's default betas (0.9, 0.999)
      { params: priorParams(true), lr: t.lrA, betas: t.betasA },
    ],
    { betas: t.betas },
  );
  const D = model.discriminator;
  const dParams = D.parameters();
  const egParams = [
    ...model.encoder.parameters(),
    ...model.generator.parameters(),
    ...model.prior.parameters(),
  ];

  const shardOf = (rows: number) => options.batchShard?.(rows) ?? wholeBatch(rows);

  function discriminatorStep(x: Tensor, intervened?: Tensor): Tensor {
    const shard = shardOf(x.shape[0]);
    // real pairs (x, E(x)) of the observational rows, fake pairs (G(z), z)
    const { zReal, zFake, xFake } = torch.noGrad(() => {
      const { mu, logvar } = model.encode(x);
      const zFake = sampleLatentRows(model, shard);
      return { zReal: sampleCode(mu, logvar, shard), zFake, xFake: model.decode(zFake) };
    });
    const real = rowMean(D.forward(x, zReal).neg().softplus(), observationalRows(intervened), shard);
    const lossD = D.forward(xFake, zFake).softplus().mean().add(real);
    optD.zeroGrad();
    lossD.backward();
    options.syncGradients?.(dParams);
    optD.step();
    return lossD;
  }

  function encoderGeneratorStep(
    x: Tensor,
    y: Tensor,
    supMask: Tensor,
    dag: DagSchedule,
    intervened?: Tensor,
  ): EgTerms {
    // D's parameters stop recording gradients: D is a fixed critic in this step
    D.setTrainable(false);
    try {
      const terms = encoderGeneratorTerms(model, t, x, y, supMask, dag, intervened, shardOf(x.shape[0]));
      const total = terms.advE
        .add(terms.sup.mul(t.lambdaSup))
        .add(terms.scm.mul(t.lambdaScm))
        .add(terms.g)
        .add(terms.cyc.mul(t.lambdaCyc))
        .add(terms.rec.mul(t.lambdaRec ?? 0))
        .add(terms.structure);
      optEG.zeroGrad();
      total.backward();
      options.syncGradients?.(egParams);
      optEG.step();
      return terms;
    } finally {
      D.setTrainable(true);
    }
  }

  function step(x: Tensor, y: Tensor, supMask: Tensor, dag: DagSchedule, intervened?: Tensor): Losses {
    const lossD = discriminatorStep(x, intervened);
    const e = encoderGeneratorStep(x, y, supMask, dag, intervened);
    const h = model.prior.mode === 'learned' ? torch.noGrad(() => model.prior.acyclicity()) : torch.zeros([]);
    // one read back for every loss (a device sync each otherwise)
    const byName = {
      d: lossD,
      e: e.advE,
      g: e.g,
      sup: e.sup,
      scm: e.scm,
      cyc: e.cyc,
      rec: e.rec,
      h,
    } satisfies Record<keyof Losses, Tensor>;
    return lossesFrom(torch.stack(LOSS_NAMES.map((n) => byName[n])).toNumbers());
  }

  return { model, optD, optEG, step, discriminatorStep, encoderGeneratorStep };
}

/**
 * [B] weights, 1 for a row that no do() touched (undefined: all rows observational). The
 * prior that G samples is observational, so the adversarial game matches the observational
 * joint only: a row whose shadow was set by do() does not follow its angles, and if D counted it
 * as real, G would learn to draw such shadows from its free latents and the encoder to read them
 * as observational ones. Interventional rows still train the supervision, the SCM score and the
 * structure search, which is what they are for.
 */
export function observationalRows(intervened: Tensor | undefined): Tensor | undefined {
  return intervened?.sum(1).clamp(0, 1).neg().add(1);
}

/**
 * The mean of per-row values [B] over the rows with weight 1 (all rows without weights), over
 * the whole global batch that `shard` is part of.
 */
function rowMean(values: Tensor, weights: Tensor | undefined, shard: BatchShard): Tensor {
  // equal shards: the ranks' average of their means is the global mean
  if (!weights) return values.mean();
  // the count stays a tensor: no device-to-host copy in the step
  return shard.sum(values.mul(weights).sum()).div(shard.sum(weights.sum()).clamp(1));
}

/**
 * z ~ q(z | x) (Encoder.sample) with the noise of the shard's rows of one draw for the global
 * batch: every rank draws the same global noise (same seed), so the shards' rows are those of
 * one process, not copies of each other. [B, zDim]
 */
function sampleCode(mu: Tensor, logvar: Tensor, shard: BatchShard): Tensor {
  const noise = torch
    .randn([shard.globalRows, mu.shape[1]], { device: mu.device as Device })
    .slice(0, shard.offset, shard.offset + shard.rows);
  return mu.add(logvar.mul(0.5).exp().mul(noise));
}

/** z from the prior for the shard's rows of one draw for the global batch (see sampleCode). [B, zDim] */
function sampleLatentRows(model: Ccig, shard: BatchShard): Tensor {
  const z = model.sampleLatent(shard.globalRows);
  return shard.rows === shard.globalRows ? z : z.slice(0, shard.offset, shard.offset + shard.rows);
}

/** The unweighted terms of the E + G/prior objective on one batch: scalar tensors with their graphs. */
export interface EgTerms {
  advE: Tensor;
  sup: Tensor;
  scm: Tensor;
  g: Tensor;
  cyc: Tensor;
  rec: Tensor;
  structure: Tensor;
}

/**
 * The terms of the E + G/prior step (docs/method.md section 3; the cycle term is ours), each with the
 * parameters it trains. The step minimises advE + lambda_sup sup + lambda_scm scm + g +
 * lambda_cyc cyc + lambda_rec rec + structure with one backward pass; D must be frozen by the caller.
 *
 * | term      | loss                                                   | trains                          |
 * | --------- | ------------------------------------------------------ | ------------------------------- |
 * | advE      | mean D(x, E(x)), E(x) sampled, observational rows      | E                               |
 * | sup       | BCE(mu_c, scaled labels), labelled examples only       | E                               |
 * | scm       | ||u - parents(u)||^2, u = f^-1(mu_c) held fixed         | parent model (A or its MLPs)    |
 * | g         | -mean(s D(G(z), z)), z = [z_c from the prior, z_r]     | G; prior (f, parent model) via z |
 * | cyc       | ||mu_E(G(z'))_c - z'_c||^2, z' = z detached, E frozen   | G only                          |
 * | rec       | |G(mu_E(x)) - x|_1, all rows (`lambdaRec` > 0 only)     | E and G                         |
 * | structure | alpha h(A) + rho/2 h(A)^2 + l1 |A|_1 (`learned` only)   | parent model                    |
 *
 * The cycle term draws G(z') a second time from the detached z, so that neither its target nor
 * G's input leads back to the prior: the prior learns only from D's verdict, and G cannot make
 * the cycle easy by moving the prior's samples. (The second pass also updates G's batch-norm
 * running statistics a second time, with the same batch.)
 */
export function encoderGeneratorTerms(
  model: Ccig,
  t: CcigConfig['train'],
  x: Tensor,
  y: Tensor,
  supMask: Tensor,
  dag: DagSchedule,
  /** [B, m] 1 where the row's attribute was set by do() (default: all observational) */
  intervened?: Tensor,
  /** the global batch these rows belong to (data parallelism; default: they are all of it) */
  shard: BatchShard = wholeBatch(x.shape[0]),
): EgTerms {
  const m = model.m;
  const { mu, logvar } = model.encode(x);
  const advE = rowMean(
    model.discriminator.forward(x, sampleCode(mu, logvar, shard)),
    observationalRows(intervened),
    shard,
  );
  const muC = mu.slice(1, 0, m);
  // BCE on min-max targets, or MSE in standardized units (train.continuousSupervision), averaged
  // over the labelled rows of the global batch
  const sup = rowMean(model.supervisionLoss(muC, y).mean(1), supMask.squeeze(1), shard);
  const scm =
    t.lambdaScm > 0 && model.prior.mode !== 'none'
      ? model.prior.consistencyLoss(muC, intervened, model.config.scm.score ?? 'nv', shard.sum)
      : torch.zeros([]);

  const z = sampleLatentRows(model, shard);
  const dFake = model.discriminator.forward(model.decode(z), z);
  const s = torch.noGrad(() => dFake.exp().clamp(0.5, 2));
  const g = s.mul(dFake).mean().neg();

  let cyc = torch.zeros([]);
  if (t.lambdaCyc > 0) {
    const zFixed = z.detach();
    const xCyc = model.decode(zFixed);
    const wasTraining = model.encoder.training;
    model.encoder.eval();
    model.encoder.setTrainable(false);
    try {
      cyc = torch.mseLoss(model.encode(xCyc).mu.slice(1, 0, m), zFixed.slice(1, 0, m));
    } finally {
      model.encoder.setTrainable(true);
      if (wasTraining) model.encoder.train();
    }
  }
  // the code every edit of a real image decodes: mu, not a sample (as ccig counterfactual)
  const rec = (t.lambdaRec ?? 0) > 0 ? torch.l1Loss(model.decode(mu), x) : torch.zeros([]);
  // an exactly searched graph is a DAG already: no acyclicity or sparsity penalty on it
  const structure =
    model.config.scm.search === 'exact' ? torch.zeros([]) : structurePenalty(model.prior, dag, t.l1A);
  return { advE, sup, scm, g, cyc, rec, structure };
}

/**
 * Structure search (src/causal/search.ts, as `ccig structure`) on the encoder's causal latents of `rows` training images (spread over
 * the set, with their regimes), and the graph found becomes the prior's structure. Every rank of a
 * data-parallel run holds the same weights and encodes the same images, so finds the same graph.
 */
function searchGraph(model: Ccig, data: Dataset, rows: number): SearchOutcome {
  const n = Math.min(rows, data.size);
  const indices = Array.from({ length: n }, (_, i) => Math.floor((i * data.size) / n));
  const { values, intervened } = model.causalLatents(data, indices);
  const nodes = model.attributes.map((a) => a.name);
  const found = searchStructure(values, n, model.m, {
    nodes,
    intervened,
    required: model.config.scm.required,
    forbidden: model.config.scm.forbidden,
  });
  const next = chooseGraph(found, found.dag, model.prior.maskArray());
  if (next.switched) model.prior.setStructure(next.adjacency);
  return { edges: namedEdges(next.adjacency, nodes), gain: next.gain, switched: next.switched };
}

/** A search as the log records it: the graph trained on after it, and how it was chosen (chooseGraph). */
interface SearchOutcome {
  edges: [string, string][];
  gain: number;
  switched: boolean;
}

/** How much better (in the search's score, nats summed over nodes) a new graph must be to replace the current one. */
export const SEARCH_SWITCH_MARGIN = 0.05;

/**
 * The graph to train on after a search: the one found when it beats the best score within the
 * current graph by more than SEARCH_SWITCH_MARGIN (`gain`: by how much it does), else the current
 * one. Where two graphs score alike (Flow's weak ball -> water edge), switching at every search
 * would throw away the weights of the edges it drops and restart the ones it adds, to no end.
 */
export function chooseGraph(
  found: { score: number; scoreWithin(adjacency: number[][]): number },
  foundDag: number[][],
  current: number[][],
): { adjacency: number[][]; gain: number; switched: boolean } {
  const gain = found.scoreWithin(current) - found.score;
  return gain > SEARCH_SWITCH_MARGIN
    ? { adjacency: foundDag, gain, switched: true }
    : { adjacency: current, gain, switched: false };
}

/** Losses, h(A), A, and per-factor Pearson correlation of mu_c with the held-out labels. */
function logMetrics(
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
async function writeGrids(
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
