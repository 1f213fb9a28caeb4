/**
 * `ccig train` and `ccig resume`: config from a preset, a config file and flags; data; the
 * training loop with a progress bar. Ctrl-C (SIGINT) or SIGTERM (what Slurm and container
 * runtimes send before killing) writes a checkpoint after the current step and exits 0; a second
 * signal quits at once (the checkpoint on disk is always a whole one: writes are atomic).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DistributedError, NativeError, OptionError, OutOfMemoryError } from '../errors.ts';
import { edgeStability, formatEdgeStability } from '../eval/edge-stability.ts';
import {
  type CcigConfig,
  checkStructureLimits,
  mergeConfig,
  PRESET_NAMES,
  parseConfig,
  resolveConfig,
  structureLimits,
} from '../model/config.ts';
import { expectOneOf } from '../options.ts';
import { type Device, dist, setNumThreads, writeFileAtomic } from '../torch/index.ts';
import { assertResumable, disposeCheckpoint, loadCheckpoint, loadModel } from '../train/checkpoint.ts';
import { openTrainingData } from '../train/data.ts';
import { DataParallel } from '../train/ddp.ts';
import { prepareRunFolder, runPaths } from '../train/run-folder.ts';
import { train } from '../train/train.ts';
import { EDGE_STABILITY_FILE } from './info.ts';
import { launchLocalRanks } from './launch.ts';
import { configOverrides, type TrainFlagValues, trainFlagSchema } from './train-flags.ts';
import { formatSeconds, parseOptions, posInt, progressBar, readJsonFile, useDevice } from './util.ts';

/** Preset -> config file -> flags, validated as a whole. */
export function configFromFlags(f: TrainFlagValues<'train'>): CcigConfig {
  expectOneOf(f.preset, PRESET_NAMES, '--preset');
  const file: unknown = f.config ? readJsonFile(f.config, 'config file') : {};
  return resolveConfig(f.preset, mergeConfig(file, configOverrides(f, 'train')), f.config ?? 'config');
}

export async function trainCommand(raw: Record<string, unknown>, resume: boolean): Promise<void> {
  // --nproc N: this process only launches the N ranks (unless it is one of them already)
  const rankEnv = dist.optionsFromEnv();
  const nproc = posInt.optional().parse(raw.nproc);
  if (nproc !== undefined && nproc > 1 && rankEnv === undefined) {
    const threads = posInt.optional().parse(raw.threads);
    // the ranks printed their own messages; their exit code is the run's (runCommand would say 0)
    const code = await launchLocalRanks(nproc, threads);
    if (code !== 0) process.exit(code);
    return;
  }
  let dp: DataParallel | undefined;
  if (rankEnv) {
    // the ranks all-reduce CPU tensors over Gloo, or CUDA tensors over NCCL (--device cuda: rank r
    // uses GPU LOCAL_RANK, as torchrun's convention; torch.distributed's backend choice)
    const cuda = typeof raw.device === 'string' && raw.device.startsWith('cuda');
    const backend = cuda ? 'nccl' : 'gloo';
    if (!dist.availableBackends().includes(backend))
      throw new OptionError(
        cuda
          ? `data-parallel training on GPUs needs NCCL, and this build of the addon has ${dist.availableBackends().join(', ') || 'no c10d backend'}: build it against a CUDA libtorch with CUDA's headers (README "GPU"), or use --device cpu`
          : 'data-parallel training on the CPU needs Gloo, and this build of the addon has none: install libgloo-dev and rebuild (npm run build:native)',
      );
    const device: Device = cuda ? `cuda:${rankEnv.localRank}` : 'cpu';
    raw = { ...raw, device };
    const timeout = posInt.optional().parse(raw.distTimeout);
    dist.init({ ...rankEnv, backend, timeoutMs: timeout === undefined ? undefined : timeout * 1000 });
    dp = new DataParallel({ ...rankEnv, device });
  }
  try {
    await trainRank(raw, resume, dp);
  } finally {
    if (dp) dist.destroy();
  }
}

async function trainRank(
  raw: Record<string, unknown>,
  resume: boolean,
  dp: DataParallel | undefined,
): Promise<void> {
  let cfg: CcigConfig;
  let outDir: string;
  let json: boolean;
  let untilStep: number | undefined;
  let strict: boolean;
  let device: string | undefined;
  if (resume) {
    const f = parseOptions(trainFlagSchema('resume'), raw, 'resume');
    device = f.device;
    outDir = f.out;
    const cfgPath = join(outDir, 'config.json');
    if (!existsSync(join(outDir, 'checkpoint.safetensors')))
      throw new OptionError(`nothing to resume in ${outDir}: no checkpoint.safetensors`);
    // a weights-only or corrupt checkpoint is refused before the data is loaded
    const saved = loadCheckpoint(join(outDir, 'checkpoint.safetensors'));
    try {
      assertResumable(saved, join(outDir, 'checkpoint.safetensors'));
    } finally {
      disposeCheckpoint(saved);
    }
    // --data, --steps and, a fine-tuning stage, new loss weights or snapshots: the run's
    // config.json records them for later resumes
    const savedConfig = parseConfig(readJsonFile(cfgPath, 'run config'), cfgPath);
    cfg = mergeConfig(savedConfig, configOverrides(f, 'resume')) as CcigConfig;
    untilStep = f.steps;
    json = f.json || (dp !== undefined && dp.rank > 0);
    strict = f.strict;
    if (f.threads) setNumThreads(f.threads);
  } else {
    const f = parseOptions(trainFlagSchema('train'), raw, 'train');
    cfg = configFromFlags(f);
    outDir = f.out ?? join('runs', `${cfg.preset}-${cfg.scm.structure}`);
    json = f.json || (dp !== undefined && dp.rank > 0); // ranks other than 0 stay quiet
    strict = f.strict;
    if (f.threads) setNumThreads(f.threads);
    device = f.device;
  }
  // (a new run's config was checked when resolved; a resumed run's config.json may have been edited)
  checkStructureLimits(cfg, resume ? join(outDir, 'config.json') : 'config');
  const dev = useDevice(device);

  // a folder that cannot be written is found before the data is loaded (which can take minutes)
  prepareRunFolder(outDir);
  const ckpt = runPaths(outDir).checkpoint;

  // SIGINT / SIGTERM: while the data loads there is nothing to save, so quit; during training,
  // stop after this step with a checkpoint; a second signal quits at once
  const abort = new AbortController();
  let training = false;
  let first: { signal: NodeJS.Signals; at: number } | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    const code = signal === 'SIGINT' ? 130 : 143;
    if (!training) {
      process.stderr.write(`\nccig train: ${signal} before training started; nothing to save\n`);
      process.exit(code);
    }
    // coreutils' `timeout -s INT` delivers its signal twice at once (to the child and to its
    // process group): the same signal within half a second is that echo, not a second request
    if (first && first.signal === signal && performance.now() - first.at < 500) return;
    if (abort.signal.aborted) {
      process.stderr.write(
        `\nccig train: ${signal} again: quitting now; ${existsSync(ckpt) ? `the last checkpoint written (${ckpt}) is intact` : 'no checkpoint was written'}\n`,
      );
      process.exit(code);
    }
    process.stderr.write(
      `\nccig train: ${signal}: stopping after this step and writing a checkpoint (send it again to quit now)\n`,
    );
    first = { signal, at: performance.now() };
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const cacheBar = progressBar('decoding images', 1, { quiet: json });
  const data = await openTrainingData(cfg, {
    onProgress: (done, total) => cacheBar.update(done, '', total),
    onWarning: (m) => process.stderr.write(`ccig: warning: ${m}\n`),
    strict,
    strictName: '--strict',
  });
  cacheBar.stop();
  if (!json) {
    process.stderr.write(
      `ccig train: ${cfg.preset}, structure ${cfg.scm.structure}, batch ${cfg.train.batchSize} on ${dev}, ${data.description}\n`,
    );
    process.stderr.write(
      `ccig train: writing to ${outDir} (Ctrl-C saves a checkpoint and stops; ccig resume --out ${outDir} continues)\n`,
    );
  }
  training = true;
  const bar = progressBar('training', cfg.train.steps, { quiet: json });
  const result = await train({
    config: cfg,
    data,
    outDir,
    resume,
    untilStep,
    signal: abort.signal,
    dataParallel: dp,
    // on a terminal the progress bar owns the line: start the warning on a fresh one
    onWarning: (m) => process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}ccig: warning: ${m}\n`),
    onProgress: (p) =>
      bar.update(
        p.step,
        `| ${p.imagesPerSecond.toFixed(0)} img/s | eta ${formatSeconds(p.etaSeconds)} | D ${p.losses.d.toFixed(3)} E ${p.losses.e.toFixed(3)} G ${p.losses.g.toFixed(3)} sup ${p.losses.sup.toFixed(3)} cyc ${p.losses.cyc.toFixed(3)}${cfg.train.lambdaRec ? ` rec ${p.losses.rec.toFixed(3)}` : ''} h ${p.losses.h.toExponential(1)}`,
      ),
  }).catch((e: unknown) => {
    bar.stop();
    throw dp ? groupFailure(e, dp, ckpt, outDir) : e;
  });
  bar.stop();
  if (result.stopped === 'interrupted')
    process.stderr.write(
      `ccig train: stopped at step ${result.step}; checkpoint written to ${result.checkpoint}; continue with: ccig resume --out ${outDir}\n`,
    );
  else if (!json)
    process.stderr.write(`ccig train: finished at step ${result.step}; checkpoint ${result.checkpoint}\n`);
  // How far to trust the graph: each edge's bootstrap stability on held-out latents (with their
  // regimes), beside the checkpoint for `ccig info`. The run is done and saved: nothing here may
  // make it fail.
  const resamples = cfg.train.stabilityResamples ?? 20;
  // (rank 0 alone, as it alone writes)
  if (result.stopped === 'done' && resamples > 0 && cfg.scm.structure !== 'none' && (dp?.rank ?? 0) === 0) {
    const skipped = structureLimits(cfg).edgeStability;
    if (skipped) process.stderr.write(`ccig train: edge stability skipped: ${skipped}\n`);
    else
      try {
        const { model } = loadModel(result.checkpoint);
        let stability: ReturnType<typeof edgeStability>;
        try {
          stability = edgeStability(model, data.heldOut, { resamples, seed: cfg.train.seed });
        } finally {
          model.dispose();
        }
        writeFileAtomic(join(outDir, EDGE_STABILITY_FILE), `${JSON.stringify(stability, null, 2)}\n`);
        if (!json)
          process.stderr.write(
            `${['ccig train: edges, weight and stability on held-out latents:', ...formatEdgeStability(stability, '  ')].join('\n')}\n`,
          );
      } catch (e) {
        process.stderr.write(
          `ccig: warning: the edge stability could not be measured (${e instanceof Error ? e.message : String(e)}); the trained checkpoint ${result.checkpoint} is complete, and ccig info --stability measures it later\n`,
        );
      }
  }
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
}

/**
 * A collective that failed (a peer stopped, or did not answer within the timeout) as a
 * DistributedError saying what is kept. Only rank 0 writes, atomically, so the checkpoint on disk
 * is a whole one whichever process went first.
 */
function groupFailure(e: unknown, dp: DataParallel, ckpt: string, outDir: string): unknown {
  if (!(e instanceof NativeError) || e instanceof OutOfMemoryError) return e;
  const kept = existsSync(ckpt)
    ? `the last checkpoint (${ckpt}) is intact; continue with: ccig resume --out ${outDir} (any --nproc)`
    : 'no checkpoint was written yet';
  return new DistributedError(
    `rank ${dp.rank} of ${dp.worldSize}: the data-parallel group broke (another process stopped, or did not answer within the timeout): ${e.message.split('\n')[0]}; ${kept}`,
    { cause: e },
  );
}
