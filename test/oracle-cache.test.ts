// The cached evaluation oracle is keyed by what it reads: a renderer change trains a new one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { oracleCachePath } from '../src/cli/eval.ts';
import { generateWorldDataset, worldByName } from '../src/data/world-dataset.ts';
import { Ccig } from '../src/model/ccig.ts';
import { resolveConfig } from '../src/model/config.ts';

test('the oracle cache key follows the renderer, the data and the recipe', () => {
  const world = worldByName('pendulum');
  const train = generateWorldDataset(world, { count: 8, imageSize: 64, seed: 1 });
  const model = new Ccig(resolveConfig('tiny'), train.attributes);
  const key = oracleCachePath(model, train, 1500);
  assert.equal(oracleCachePath(model, train, 1500), key, 'the key must be deterministic');
  assert.match(key, /oracle-world-pendulum-64-1500-[0-9a-f]{12}\.safetensors$/);
  assert.notEqual(oracleCachePath(model, train, 1000), key, 'steps');
  // the same world drawn by another renderer (here: a mirrored one)
  const w = world as unknown as { renderFn: (v: Float64Array, size: number) => Uint8Array };
  const original = w.renderFn;
  w.renderFn = (v, size) => original(v, size).reverse();
  try {
    assert.notEqual(oracleCachePath(model, train, 1500), key, 'a changed renderer must change the key');
  } finally {
    w.renderFn = original;
  }
  assert.equal(oracleCachePath(model, train, 1500), key);
  // folder data: the key follows the training images themselves
  const folder = new Ccig(resolveConfig('tiny', { data: { kind: 'folder' } }), train.attributes);
  const other = generateWorldDataset(world, { count: 8, imageSize: 64, seed: 2 });
  assert.notEqual(oracleCachePath(folder, train, 1500), oracleCachePath(folder, other, 1500));
  model.dispose();
  folder.dispose();
});
