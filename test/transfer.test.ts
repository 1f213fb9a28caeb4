// Starting a model with another attribute set from trained weights: the latent axis is
// permuted, so the target's networks compute the source's at the permuted latent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateWorldDataset, worldByName } from '../src/data/world-dataset.ts';
import { Ccig } from '../src/model/ccig.ts';
import { resolveConfig } from '../src/model/config.ts';
import * as torch from '../src/torch/index.ts';
import { latentPermutation, transferWeights } from '../src/train/transfer.ts';

test('latentPermutation: shared attributes keep their dimension, new ones take spare ones, free ones the rest', () => {
  // source: a b c | 3 4 5 ; target: c x a y | ...
  assert.deepEqual(latentPermutation(['a', 'b', 'c'], ['c', 'x', 'a', 'y'], 6), [2, 1, 0, 3, 4, 5]);
  assert.deepEqual(latentPermutation(['a', 'b'], ['b', 'a'], 4), [1, 0, 2, 3]);
  const p = latentPermutation(['m', 'n', 'o', 'p', 'q', 'r'], ['q', 'm', 's', 't', 'u', 'v', 'w', 'x'], 12);
  assert.deepEqual(
    [...p].sort((x, y) => x - y),
    [...Array(12).keys()],
    'a permutation',
  );
});

test('transferWeights: the target encodes and generates as the source at the permuted latent', () => {
  const world = generateWorldDataset(worldByName('pendulum'), { count: 4, imageSize: 64, seed: 3 });
  const sourceCfg = resolveConfig('tiny');
  const source = new Ccig(sourceCfg, world.attributes);
  // the target drops light_angle, adds a new attribute, and orders them differently
  const [angle, , length, position] = world.attributes;
  const added = { ...length, name: 'added' };
  const targetAttrs = [position, added, angle, length];
  const targetCfg = {
    ...sourceCfg,
    attributes: targetAttrs.map((a) => a.name),
    scm: { ...sourceCfg.scm, edges: [] as [string, string][] },
  };
  const target = new Ccig(targetCfg, targetAttrs);
  const perm = transferWeights(source, target);
  assert.deepEqual(perm.slice(0, 4), [3, 1, 0, 2], 'position, light_angle`s dimension, angle, length');
  source.eval();
  target.eval();
  torch.scope(() => {
    const zSource = torch.randn([5, source.zDim]);
    const zTarget = zSource.indexSelect(1, torch.tensor(BigInt64Array.from(perm, BigInt)));
    const a = source.generator.forward(zSource);
    const b = target.generator.forward(zTarget);
    assert.ok(a.sub(b).abs().max().item() < 1e-5, 'G_target(z[perm]) = G_source(z)');
    const x = torch.tensor(world.batch([0, 1]).images, { shape: [2, 3, 64, 64] });
    const ms = source.encoder.forward(x);
    const mt = target.encoder.forward(x);
    const idx = torch.tensor(BigInt64Array.from(perm, BigInt));
    assert.ok(ms.mu.indexSelect(1, idx).sub(mt.mu).abs().max().item() < 1e-5, 'mu permuted');
    assert.ok(ms.logvar.indexSelect(1, idx).sub(mt.logvar).abs().max().item() < 1e-5, 'logvar permuted');
  });
  source.dispose();
  target.dispose();
});
