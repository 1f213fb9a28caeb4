/**
 * ccig: causal controllable image generation.
 *
 * @example
 *   import { resolveConfig, openTrainingData, train, loadModel, counterfactual, torch } from 'ccig';
 */
export * as torch from './torch/index.ts';
export * from './errors.ts';
export { CausalGraph, compareGraphs, acyclicity } from './causal/graph.ts';
export { ScmPrior, superGraphMask } from './causal/scm.ts';
export { PRESETS, PRESET_NAMES, resolveConfig, parseConfig, type CcigConfig } from './model/config.ts';
export { Ccig } from './model/ccig.ts';
export { intervene, counterfactual, traverse, nonCausalEdit, attributeRange, type EditImages } from './model/edit.ts';
export { loadImageForModel } from './model/images.ts';
export { train, createTrainer, type TrainOptions, type TrainResult } from './train/train.ts';
export { openTrainingData } from './train/data.ts';
export { loadModel, loadCheckpoint, saveCheckpoint } from './train/checkpoint.ts';
export { evaluate, type EvalResult } from './eval/evaluate.ts';
export { trainOracle, loadOracle, saveOracle, Oracle } from './eval/oracle.ts';
export { openCelebA, CELEBA_PRESETS } from './data/celeba.ts';
export { openFolder } from './data/folder.ts';
export { generateWorldDataset, splitWorldDataset, worldByName, writeWorldToDisk, WORLDS } from './data/world-dataset.ts';
export type { Dataset, Batch, AttributeInfo } from './data/dataset.ts';
export { createServer } from './server/server.ts';
