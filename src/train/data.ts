/**
 * Opens the data a config names: a synthetic world (generated in memory, deterministic by
 * seed), CelebA (official layout) or a labelled folder (images + CSV), as train/test Datasets
 * whose attributes follow the config's order.
 */
import { openCelebA } from '../data/celeba.ts';
import type { Dataset } from '../data/dataset.ts';
import { openFolder } from '../data/folder.ts';
import {
  generateWorldDataset,
  splitWorldDataset,
  type WorldDataset,
  worldByName,
} from '../data/world-dataset.ts';
import { OptionError } from '../errors.ts';
import type { CcigConfig } from '../model/config.ts';

export interface OpenDataOptions {
  /** dataset root for celeba/folder (overrides config.data.path) */
  path?: string;
  cacheDir?: string;
  onProgress?: (done: number, total: number) => void;
  onWarning?: (message: string) => void;
  /**
   * which held-out split becomes `test` (celeba, folder; default 'test'): 'valid' to choose a
   * checkpoint or setting without looking at the test faces
   */
  heldOutSplit?: 'valid' | 'test';
  /** stop on the first unreadable image instead of skipping it (celeba, folder) */
  strict?: boolean;
  /** how messages name the strict switch (the CLI: '--strict') */
  strictName?: string;
}

export interface OpenedData {
  train: Dataset;
  /** held-out examples, observational (a world's interventional ones undone), for evaluation */
  test: Dataset;
  /**
   * the same held-out examples with their regimes (a world's interventional ones kept): what a
   * structure score on held-out data sees. The same dataset as `test` for folders and CelebA.
   */
  heldOut: Dataset;
  /** the world, for synthetic data (exact counterfactuals) */
  world?: WorldDataset;
  description: string;
}

export async function openTrainingData(cfg: CcigConfig, o: OpenDataOptions = {}): Promise<OpenedData> {
  const { kind } = cfg.data;
  const split = o.heldOutSplit ?? 'test';
  if (kind === 'world') {
    if (split !== 'test')
      throw new OptionError(
        'the synthetic worlds are split into train and test only; a validation split is for CelebA and folders',
      );
    const world = worldByName(cfg.data.world ?? 'pendulum');
    const missing = cfg.attributes.filter((a) => !world.names.includes(a));
    if (missing.length)
      throw new OptionError(
        `world '${world.name}' has no factor ${missing.join(', ')}; it has ${world.names.join(', ')}`,
      );
    const interventional = cfg.data.interventional ?? 0;
    const all = generateWorldDataset(world, {
      count: cfg.data.worldSize,
      imageSize: cfg.imageSize,
      seed: cfg.train.seed,
      interventional,
    });
    const { train, test } = splitWorldDataset(all, { testFraction: 0.1, seed: cfg.train.seed });
    // The noises of every example do not depend on the regime mix, so the observational test
    // set is the one an observational run of the same seed evaluates on.
    const regimes = interventional > 0 ? `, ${Math.round(interventional * 100)}% interventional` : '';
    return {
      train,
      test: test.observational(),
      heldOut: test,
      world: all,
      description: `${world.name} world${regimes}, ${train.size} train / ${test.size} test images`,
    };
  }
  if ((cfg.data.interventional ?? 0) > 0)
    throw new OptionError(
      `data.interventional applies to synthetic worlds; ${kind === 'folder' ? "a folder records each row's regime in the intervened column of labels.csv" : 'CelebA is observational'}`,
    );
  const path = o.path ?? cfg.data.path;
  if (!path) throw new OptionError(`the ${kind} data needs a path (--data DIR)`);
  const common = {
    imageSize: cfg.imageSize,
    cacheDir: o.cacheDir,
    onProgress: o.onProgress,
    onWarning: o.onWarning,
    strict: o.strict,
    strictName: o.strictName,
  };
  const opened =
    kind === 'celeba'
      ? await openCelebA({ root: path, attributes: cfg.attributes, ...common })
      : await openFolder({ dir: path, attributes: cfg.attributes, ...common });
  const heldOut = opened[split];
  return {
    train: opened.train,
    test: heldOut,
    heldOut,
    description: `${kind} ${path}: ${opened.train.size} train / ${heldOut.size} ${split} images (${opened.built ? 'cache built' : 'cache reused'})`,
  };
}
