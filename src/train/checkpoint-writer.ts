/**
 * Writing a run's checkpoints and snapshots, with the disk policy: a checkpoint write that fails
 * on a fault that may clear up (a full disk, too many open files) is retried with a doubling
 * wait; when every try fails the run stops, naming the step the checkpoint on disk still holds;
 * after a write, a disk too full for the next one is warned about once.
 */
import { FileSystemError } from '../errors.ts';
import { describeCode, formatBytes, freeBytes, makeFolder, TRANSIENT_CODES } from '../files.ts';
import type { Ccig } from '../model/ccig.ts';
import type { CcigConfig } from '../model/config.ts';
import type { optim } from '../torch/index.ts';
import { type CheckpointMeta, saveCheckpoint } from './checkpoint.ts';
import { runPaths, snapshotPath, spaceNeeded } from './run-folder.ts';

export interface CheckpointWriterOptions {
  config: CcigConfig;
  model: Ccig;
  optimizers: { d: optim.Adam; eg: optim.Adam };
  /** the run folder */
  outDir: string;
  /** whether the run writes grids (they count in the space the next checkpoint needs) */
  grids: boolean;
  /** tries of a write before the run stops (at least 1) */
  attempts: number;
  /** wait before the first retry, doubling after */
  retryMs: number;
  /** the step of the checkpoint already on disk, intact (a resumed run's) */
  savedStep?: number;
  warn: (message: string) => void;
}

/** What a checkpoint or snapshot records besides the weights and optimizer states. */
export type CheckpointRecord = Omit<CheckpointMeta, 'createdAt'>;

export class CheckpointWriter {
  readonly path: string;
  /** step of the last checkpoint known to be on disk, intact */
  savedStep: number | undefined;
  private warnedNearlyFull = false;

  constructor(private readonly o: CheckpointWriterOptions) {
    this.path = runPaths(o.outDir).checkpoint;
    this.savedStep = o.savedStep;
  }

  /**
   * Writes the checkpoint, retrying faults that may clear up; a failed write leaves the previous
   * checkpoint intact, so when all tries fail this throws a FileSystemError naming the step that
   * checkpoint holds and how to continue.
   */
  async write(record: CheckpointRecord): Promise<void> {
    const { model, optimizers, outDir, warn } = this.o;
    const attempts = Math.max(1, this.o.attempts);
    let wait = this.o.retryMs;
    for (let attempt = 1; ; attempt++) {
      try {
        saveCheckpoint(this.path, model, optimizers, record);
        this.savedStep = record.step;
        this.warnIfNearlyFull();
        return;
      } catch (e) {
        if (!(e instanceof FileSystemError)) throw e;
        const kept =
          this.savedStep === undefined
            ? 'no checkpoint of this run was written before'
            : `the previous checkpoint (step ${this.savedStep}) is intact`;
        if (attempt < attempts && TRANSIENT_CODES.has(e.code)) {
          warn(`${e.message}; ${kept}; trying again in ${wait / 1000} s (try ${attempt + 1} of ${attempts})`);
          await new Promise((r) => setTimeout(r, wait));
          wait *= 2;
          continue;
        }
        const { reason, advice } = describeCode(e.code);
        const next =
          this.savedStep === undefined
            ? `no checkpoint of this run was written yet; ${advice}, then start again`
            : `the previous checkpoint (step ${this.savedStep}) is intact; ${advice}, then continue with: ccig resume --out ${outDir}`;
        throw new FileSystemError(
          `training stopped at step ${record.step}: cannot write the checkpoint ${this.path}: ${reason} (${e.code}), tried ${attempt} time${attempt > 1 ? 's' : ''}; ${next}`,
          e.code,
          e.path,
          e.operation,
          e.userMistake,
          { cause: e },
        );
      }
    }
  }

  /** Keeps the weights alone in snapshots/step-N.safetensors; throws what the write threw. */
  snapshot(record: CheckpointRecord): void {
    makeFolder(runPaths(this.o.outDir).snapshots, 'create the snapshot folder');
    saveCheckpoint(snapshotPath(this.o.outDir, record.step), this.o.model, {}, record);
  }

  /**
   * After a checkpoint: when the disk could not hold the next one next to it (plus the grids and
   * log lines until then), say so once, while there is time to free space.
   */
  private warnIfNearlyFull(): void {
    if (this.warnedNearlyFull) return;
    const { config, model, outDir, grids } = this.o;
    const need = spaceNeeded(config, model, outDir, grids);
    const free = freeBytes(outDir);
    if (free === undefined || free >= need.total - need.checkpointBytes) return;
    this.warnedNearlyFull = true;
    this.o.warn(
      `the disk of ${outDir} is nearly full: ${formatBytes(free)} free, and the next checkpoint with the grids and log lines before it needs about ${formatBytes(need.total - need.checkpointBytes)}; free some space, or the run stops at a coming checkpoint (the last one stays intact)`,
    );
  }
}
