/**
 * Training CCIG, top to bottom: config -> data -> model and optimizers (fresh or resumed) ->
 * the loop (D step, E + G/prior step, structure schedule) -> logs, grids, checkpoints.
 *
 * The objective (the step, its losses, the optimizers' groups) is objective.ts; resuming a
 * checkpoint, resume.ts; writing checkpoints with retries and the disk policy,
 * checkpoint-writer.ts; the exact search's schedule, graph-search.ts; log lines and grids,
 * monitor.ts. `learned` with exact search (the default) re-searches the graph on the encoder's
 * latents every train.searchEvery steps and trains the prior on it; `learned` with NOTEARS
 * updates the augmented Lagrangian of h(A) every train.dag.updateEvery steps.
 */
import { type DagSchedule, updateDagSchedule } from '../causal/scm.ts';
import { flipChoice, hflipRows } from '../data/augment.ts';
import type { Batch, Dataset } from '../data/dataset.ts';
import { Rng } from '../data/rng.ts';
import { FileSystemError, OptionError, OutOfMemoryError } from '../errors.ts';
import { appendLine, toFileSystemError, writeFileAtomic } from '../files.ts';
import type { Ccig } from '../model/ccig.ts';
import { type CcigConfig, checkStructureLimits } from '../model/config.ts';
import type { Device } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { CheckpointWriter } from './checkpoint-writer.ts';
import type { DataParallel } from './ddp.ts';
import { type SearchOutcome, searchDue, searchGraph } from './graph-search.ts';
import { fixedViews, logMetrics, writeGrids } from './monitor.ts';
import {
  averageLosses,
  createTrainer,
  isLabelled,
  type Losses,
  type Trainer,
  ZERO_LOSSES,
} from './objective.ts';
import { resumeFrom } from './resume.ts';
import { checkFreeSpace, prepareRunFolder, runPaths, spaceNeeded } from './run-folder.ts';

// what tests, benches and scripts import from here, where these lived before the split
export { chooseGraph, SEARCH_SWITCH_MARGIN } from './graph-search.ts';
export { createTrainer, type EgTerms, encoderGeneratorTerms, isLabelled, type Losses } from './objective.ts';

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
  checkTrainingData(cfg, trainSet);
  prepareRunFolder(o.outDir);
  const paths = runPaths(o.outDir);
  const grids = o.grids ?? true;
  const warn = o.onWarning ?? ((m: string) => process.stderr.write(`ccig: warning: ${m}\n`));
  const warnOnce = warnOncePerKind(warn);
  const dp = o.dataParallel;
  /** the rank that writes checkpoints, logs and grids */
  const writer = !dp || dp.rank === 0;

  // ---- model, optimizers, state: fresh or resumed
  torch.manualSeed(t.seed);
  const trainer = createTrainer(cfg, trainSet.attributes, {
    syncGradients: dp && ((params) => dp.averageGradients(params)),
    batchShard: dp && ((rows) => dp.batchShard(rows)),
  });
  const { model, optD, optEG } = trainer;
  let views: ReturnType<typeof fixedViews> | undefined;
  try {
    const dataRng = new Rng(t.seed, 1);
    // `learned` by exact search: no edges until the first search on the encoder's latents
    const exact = model.prior.mode === 'learned' && cfg.scm.search === 'exact';
    if (exact && !o.resume)
      model.prior.setStructure(model.attributes.map(() => model.attributes.map(() => 0)));
    const resumed = o.resume ? resumeFrom(paths.checkpoint, trainer, cfg, device, warn) : undefined;
    let step = resumed?.step ?? 0;
    let dag: DagSchedule = resumed?.dag ?? { alpha: 0, rho: t.dag.rhoInit, lastH: Number.POSITIVE_INFINITY };
    if (resumed) dataRng.setState(resumed.dataRng);
    if (writer) {
      if (o.checkSpace ?? true) checkFreeSpace(o.outDir, spaceNeeded(cfg, model, o.outDir, grids));
      if (!o.resume) writeFileAtomic(paths.log, '', 'start the log');
      writeFileAtomic(paths.config, `${JSON.stringify(cfg, null, 2)}\n`, 'write the run config');
    }
    // every rank starts from rank 0's parameters and buffers (DDP)
    if (dp) dp.broadcastModule(model);
    const checkpoints = new CheckpointWriter({
      config: cfg,
      model,
      optimizers: { d: optD, eg: optEG },
      outDir: o.outDir,
      grids,
      attempts: o.checkpointAttempts ?? 3,
      retryMs: o.checkpointRetryMs ?? 5000,
      savedStep: resumed?.step,
      warn,
    });
    const record = (metrics: Record<string, unknown>) => ({
      config: cfg,
      attributes: [...trainSet.attributes],
      step,
      dag,
      dataRng: dataRng.getState(),
      metrics,
    });

    // ---- fixed things to look at: prior noise for sample grids, a held-out batch
    if (writer && testSet.size === 0)
      warn("the data has no test images: the log's held-out figures and grids use training images");
    views = fixedViews(model, testSet.size > 0 ? testSet : trainSet, t.seed);
    const { gridEps, heldX, heldY } = views;

    const until = o.untilStep ?? t.steps;
    let last: Losses = { ...ZERO_LOSSES };
    let lastSearch: ({ step: number } & SearchOutcome) | undefined;
    const meter = new RateMeter(t.batchSize);

    // ---- the loop
    while (step < until) {
      const { batch, indices } = drawBatch(trainSet, dataRng, cfg, step, dp);
      if (dp) dp.broadcastBuffers(model);
      let losses = stepOnBatch(trainer, batch, indices, dag, { cfg, step, device, exact });
      if (dp) losses = averageLosses(dp, losses);
      step++;
      if (!Object.values(losses).every(Number.isFinite))
        throw new TrainingDivergedError(
          `training diverged at step ${step}: losses ${JSON.stringify(losses)}; the last good checkpoint (if any) is ${paths.checkpoint}`,
        );
      last = losses;

      // the next exact search, or the augmented Lagrangian's outer update for h(A) = 0
      if (exact && searchDue(step, t, trainSet.size))
        lastSearch = { step, ...searchGraph(model, trainSet, t.searchRows ?? 1000) };
      else if (model.prior.mode === 'learned' && !exact && step % t.dag.updateEvery === 0)
        dag = updateDagSchedule(dag, losses.h, t.dag);

      const rate = meter.tick();
      o.onProgress?.({
        step,
        steps: until,
        imagesPerSecond: rate,
        etaSeconds: rate > 0 ? ((until - step) * t.batchSize) / rate : 0,
        losses,
      });

      const finished = step >= until;
      // a signal that reached any rank stops every rank after this same step
      const interrupted = dp
        ? dp.averageNumbers([o.signal?.aborted ? 1 : 0])[0] > 0
        : (o.signal?.aborted ?? false);
      const logDue = step % t.logEvery === 0 || finished || interrupted;
      // every rank must hold the same parameters; checked at each log line (a collective: all ranks)
      const drift = dp && logDue ? dp.parameterDrift(model) : undefined;
      let metrics: Record<string, unknown> | undefined;
      if (writer && logDue) {
        metrics = logMetrics(model, heldX, heldY, step, losses, dag, rate, device);
        if (drift !== undefined) metrics.ddp = { worldSize: dp?.worldSize, parameterDrift: drift };
        if (lastSearch) metrics.search = lastSearch;
        warnOnce('log', () => appendLine(paths.log, JSON.stringify(metrics), 'write to the log'));
      }
      if (writer && grids && (step % t.sampleEvery === 0 || finished))
        await warnOnce('sample grid', () => writeGrids(model, gridEps, heldX, paths.samples, step));
      const snapshotDue = !!t.snapshotEvery && step % t.snapshotEvery === 0;
      const checkpointDue = step % t.checkpointEvery === 0 || finished || interrupted;
      if (writer && (snapshotDue || checkpointDue)) measureClassLatents(model, trainSet);
      if (writer && snapshotDue)
        warnOnce('snapshot', () => checkpoints.snapshot(record(metrics ?? { step, losses })));
      if (writer && checkpointDue) await checkpoints.write(record(metrics ?? { step, losses }));
      if (interrupted) return { step, stopped: 'interrupted', checkpoint: paths.checkpoint, losses: last };
      // let signals (Ctrl-C) and I/O through between steps
      await new Promise((r) => setImmediate(r));
    }
    return { step, stopped: 'done', checkpoint: paths.checkpoint, losses: last };
  } finally {
    views?.dispose();
    model.dispose();
    optD.dispose();
    optEG.dispose();
  }
}

/**
 * Stores where the encoder puts the training images of each class of every binary attribute
 * (the latents do(a = 0) and do(a = 1) set), so every checkpoint and snapshot a run writes edits
 * with its own encoder's class latents, never stale ones or the far-off logit scale. An encoder
 * pass over the training set (seconds on faces); nothing the training step reads.
 */
function measureClassLatents(model: Ccig, trainSet: Dataset): void {
  if (!model.attributes.some((a) => a.kind === 'binary')) return;
  const all = Array.from({ length: trainSet.size }, (_, i) => i);
  model.setClassLatents(model.computeClassLatents(trainSet, all));
}

/** Refuses data and configs the run cannot start with, before anything is built. */
function checkTrainingData(cfg: CcigConfig, trainSet: Dataset): void {
  if (trainSet.size === 0) throw new OptionError('the training set is empty');
  // a search that cannot run is refused now, not at its first search hundreds of steps in
  checkStructureLimits(cfg);
  if (trainSet.imageSize !== cfg.imageSize)
    throw new OptionError(
      `the data has ${trainSet.imageSize}px images but the config wants ${cfg.imageSize}px`,
    );
}

/**
 * Runs a write whose failure should not stop training (a log line, a grid, a snapshot): a
 * file-system failure is warned about once per kind and training goes on; anything else throws.
 */
function warnOncePerKind(warn: (message: string) => void) {
  const warned = new Set<string>();
  const report = (kind: string, e: unknown) => {
    const err = toFileSystemError(e);
    if (!(err instanceof FileSystemError)) throw e;
    if (warned.has(kind)) return;
    warned.add(kind);
    warn(`${err.message}; training goes on (further ${kind} failures are not reported)`);
  };
  function attempt(kind: string, write: () => Promise<void>): Promise<void>;
  function attempt(kind: string, write: () => void): void;
  function attempt(kind: string, write: () => void | Promise<void>): void | Promise<void> {
    try {
      const done = write();
      if (done instanceof Promise) return done.catch((e: unknown) => report(kind, e));
    } catch (e) {
      report(kind, e);
    }
  }
  return attempt;
}

/**
 * The next global batch from the seeded sampler (a data-parallel rank keeps its shard of it),
 * flipped by train.flip: the flip of a row depends on its place in the global batch, whichever
 * rank trains it.
 */
function drawBatch(
  trainSet: Dataset,
  dataRng: Rng,
  cfg: CcigConfig,
  step: number,
  dp: DataParallel | undefined,
): { batch: Batch; indices: number[] } {
  const global = Array.from({ length: cfg.train.batchSize }, () => dataRng.int(trainSet.size));
  const indices = dp ? dp.shard(global) : global;
  const n = indices.length;
  const batch = trainSet.batch(indices);
  if (cfg.train.flip) {
    const flip = flipChoice(cfg.train.seed, step);
    const offset = dp ? dp.rank * n : 0;
    hflipRows(batch.images, n, 3, cfg.imageSize, (row) => flip(offset + row));
  }
  return { batch, indices };
}

/**
 * One training step on a batch (step is the number of steps done before it): its tensors, the
 * trainer's step, the exact search's mask re-applied. Running out of memory says which batch size
 * to try.
 */
function stepOnBatch(
  trainer: Trainer,
  batch: Batch,
  indices: number[],
  dag: DagSchedule,
  run: { cfg: CcigConfig; step: number; device: Device; exact: boolean },
): Losses {
  const { cfg, device } = run;
  const { model } = trainer;
  const n = indices.length;
  const B = cfg.train.batchSize;
  const labelled = (i: number) => (isLabelled(i, cfg.train.supProp, cfg.train.seed) ? 1 : 0);
  try {
    return torch.scope(() => {
      // batches go to the device through pinned memory (torch.tensor on a CUDA default device)
      const x = torch.tensor(batch.images, { shape: [n, 3, cfg.imageSize, cfg.imageSize] }); // [n, 3, S, S]
      const y = torch.tensor(batch.labels, { shape: [n, model.m] }); // [n, m]
      const supMask = torch.tensor(Float32Array.from(indices, labelled)).unsqueeze(1); // [n, 1]
      // 1 where the row's attribute was set by do(): the SCM-consistency loss leaves it out
      const intervened = batch.intervened.includes(1)
        ? torch.tensor(Float32Array.from(batch.intervened), { shape: [n, model.m] }) // [n, m]
        : undefined;
      const stepLosses = trainer.step(x, y, supMask, dag, intervened);
      if (run.exact) model.prior.applyMask();
      return stepLosses;
    });
  } catch (e) {
    if (e instanceof OutOfMemoryError)
      throw new OutOfMemoryError(
        `${device} ran out of memory at batch size ${B} (preset ${cfg.preset}, step ${run.step + 1}); ` +
          `try --batch-size ${Math.max(1, Math.floor(B / 2))}${device === 'cpu' ? '' : ' or --device cpu'}. libtorch said: ${e.message}`,
      );
    throw e;
  }
}

/** Images per second over windows of at least 2 s (0 until the first window closes). */
class RateMeter {
  private windowStart = performance.now();
  private windowSteps = 0;
  private rate = 0;
  constructor(private readonly batchSize: number) {}

  /** Counts a step; returns the rate of the last closed window. */
  tick(): number {
    this.windowSteps++;
    const now = performance.now();
    if (now - this.windowStart > 2000) {
      this.rate = (this.windowSteps * this.batchSize) / ((now - this.windowStart) / 1000);
      this.windowStart = now;
      this.windowSteps = 0;
    }
    return this.rate;
  }
}
