// `ccig demo --train` trains what the demo otherwise loads: its training config has the shipped
// model's architecture, SCM and data regime (issue 24, item 11: the preset's linear parents
// against the shipped model's MLP parents).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { demoTrainingConfig, SHIPPED_LEARNED_MODEL, SHIPPED_MODEL } from '../src/cli/demo.ts';
import type { CcigConfig } from '../src/model/config.ts';
import { loadModel } from '../src/train/checkpoint.ts';

/** The fields that decide what is trained: networks, latents, graph and mechanisms, data regime. */
function recipe(c: CcigConfig) {
  return {
    imageSize: c.imageSize,
    zFree: c.zFree,
    attributes: c.attributes,
    net: c.net,
    scm: {
      structure: c.scm.structure,
      edges: c.scm.edges,
      mechanism: c.scm.mechanism,
      parents: c.scm.parents,
      // how a graph is learned means nothing for a given one
      search: c.scm.structure === 'learned' ? c.scm.search : undefined,
    },
    interventional: c.data?.interventional ?? 0,
    train: {
      steps: c.train.steps,
      batchSize: c.train.batchSize,
      lambdaSup: c.train.lambdaSup,
      lambdaScm: c.train.lambdaScm,
      lambdaCyc: c.train.lambdaCyc,
      continuousSupervision: c.train.continuousSupervision,
    },
  };
}

for (const [structure, shipped] of [
  ['given', SHIPPED_MODEL],
  ['learned', SHIPPED_LEARNED_MODEL],
] as const)
  test(`demo --train${structure === 'learned' ? ' --structure learned' : ''} trains the shipped model's recipe`, {
    skip: existsSync(shipped) ? false : `${shipped} is not in this copy`,
  }, () => {
    const { model, meta } = loadModel(shipped);
    model.dispose();
    assert.deepEqual(recipe(demoTrainingConfig(structure)), recipe(meta.config));
  });
