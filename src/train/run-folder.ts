/**
 * The run folder before and during training: created and proven writable before any work, with
 * enough free space for the checkpoints and grids to come, and with the temp files of a killed
 * run cleared away.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FileSystemError } from '../errors.ts';
import { checkWritable, formatBytes, freeBytes, makeFolder, removeStaleTemps } from '../files.ts';
import type { Ccig } from '../model/ccig.ts';
import type { CcigConfig } from '../model/config.ts';

/** What a run folder holds. */
export function runPaths(outDir: string) {
  return {
    checkpoint: join(outDir, 'checkpoint.safetensors'),
    log: join(outDir, 'log.jsonl'),
    config: join(outDir, 'config.json'),
    samples: join(outDir, 'samples'),
    snapshots: join(outDir, 'snapshots'),
  };
}

/** The weights-only snapshot of a step (train.snapshotEvery): snapshots/step-000500.safetensors. */
export function snapshotPath(outDir: string, step: number): string {
  return join(runPaths(outDir).snapshots, `step-${String(step).padStart(6, '0')}.safetensors`);
}

/**
 * Creates the run folder and samples/, checks that a file can be written there (read-only disk,
 * permissions, a file in the way, a full disk all show up here, before the data is loaded and the
 * model built), and removes temp files that a killed run left behind.
 */
export function prepareRunFolder(outDir: string): void {
  const p = runPaths(outDir);
  makeFolder(outDir, 'create the run folder');
  makeFolder(p.samples, 'create the sample folder');
  checkWritable(outDir, 'write into the run folder');
  removeStaleTemps(outDir);
  removeStaleTemps(p.samples);
}

export interface SpaceNeeded {
  checkpointBytes: number;
  gridBytes: number;
  logBytes: number;
  total: number;
}

/**
 * Free space a run needs at any moment: two checkpoints (the one on disk and the temp file of the
 * next, until the rename), plus the sample grids and log lines written between two checkpoints.
 * Checkpoint size is the existing checkpoint's when resuming, else the model's and Adam's tensors
 * (weights + two moments per parameter) plus room for the header; a grid's size is its raw RGB
 * size, which a PNG of noisy samples approaches.
 */
export function spaceNeeded(cfg: CcigConfig, model: Ccig, outDir: string, grids: boolean): SpaceNeeded {
  const t = cfg.train;
  const ckpt = runPaths(outDir).checkpoint;
  let checkpointBytes: number;
  if (existsSync(ckpt)) checkpointBytes = statSync(ckpt).size;
  else {
    const stateBytes = Object.values(model.stateDict()).reduce((a, x) => a + 4 * x.numel, 0);
    checkpointBytes = stateBytes + 2 * 4 * model.numParameters() + 64 * 1024;
  }
  const S = cfg.imageSize;
  const gridPixels = (tiles: number) => {
    const side = 8 * S + 9 * 2;
    return side * (Math.ceil(tiles / 8) * S + (Math.ceil(tiles / 8) + 1) * 2) * 3;
  };
  // writeGrids: 64 samples and up to 32 (input, reconstruction) pairs
  const perGrid = gridPixels(64) + gridPixels(64);
  const gridBytes = grids ? Math.max(1, Math.ceil(t.checkpointEvery / t.sampleEvery)) * perGrid : 0;
  const logBytes = Math.ceil(t.checkpointEvery / t.logEvery) * 4096;
  return { checkpointBytes, gridBytes, logBytes, total: 2 * checkpointBytes + gridBytes + logBytes };
}

/** Refuses to start when the run folder's disk cannot hold what `spaceNeeded` says. */
export function checkFreeSpace(outDir: string, need: SpaceNeeded): void {
  const free = freeBytes(outDir);
  if (free === undefined || free >= need.total) return;
  throw new FileSystemError(
    `cannot start training in ${outDir}: only ${formatBytes(free)} free on its disk, and a run needs at least ` +
      `${formatBytes(need.total)} (two checkpoints of ${formatBytes(need.checkpointBytes)}` +
      (need.gridBytes ? `, ${formatBytes(need.gridBytes)} of sample grids between checkpoints` : '') +
      `); free some space or use --out on another disk`,
    'ENOSPC',
    outDir,
    'start training in',
    false,
  );
}
