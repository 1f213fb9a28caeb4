/**
 * ccig: causal controllable image generation.
 *
 * @example
 *   import { resolveConfig, openTrainingData, train, loadModel, counterfactual, torch } from 'ccig';
 */

export { acyclicity } from './causal/acyclicity.ts';
export { compareGraphs } from './causal/graph.ts';
export { ScmPrior, superGraphMask } from './causal/scm.ts';
export { CELEBA_PRESETS, openCelebA } from './data/celeba.ts';
export type { AttributeInfo, Batch, Dataset } from './data/dataset.ts';
export { openFolder } from './data/folder.ts';
export { RandomScm, randomScm } from './data/random-scm.ts';
export { RandomWorld, randomWorld } from './data/random-world.ts';
export {
  generateWorldDataset,
  splitWorldDataset,
  WORLDS,
  worldByName,
  writeWorldToDisk,
} from './data/world-dataset.ts';
export * from './errors.ts';
export { type EvalResult, evaluate } from './eval/evaluate.ts';
export { loadOracle, Oracle, saveOracle, trainOracle } from './eval/oracle.ts';
export { Ccig } from './model/ccig.ts';
export { type CcigConfig, PRESET_NAMES, PRESETS, parseConfig, resolveConfig } from './model/config.ts';
export {
  attributeRange,
  counterfactual,
  type EditImages,
  intervene,
  nonCausalEdit,
  type RealEditOptions,
  residualEdit,
  traverse,
} from './model/edit.ts';
export { loadImageForModel } from './model/images.ts';
export { createServer } from './server/server.ts';
export * as torch from './torch/index.ts';
export { loadCheckpoint, loadModel, saveCheckpoint } from './train/checkpoint.ts';
export { openTrainingData } from './train/data.ts';
export { DataParallel } from './train/ddp.ts';
export { createTrainer } from './train/objective.ts';
export { type TrainOptions, type TrainResult, train } from './train/train.ts';
