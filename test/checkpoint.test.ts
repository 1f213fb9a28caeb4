// Checkpoint files that are not what they claim: clear errors, no leaked tensors.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Rng } from '../src/data/rng.ts';
import { generateWorldDataset, worldByName } from '../src/data/world-dataset.ts';
import { CheckpointError } from '../src/errors.ts';
import { Ccig } from '../src/model/ccig.ts';
import { resolveConfig } from '../src/model/config.ts';
import * as torch from '../src/torch/index.ts';
import {
  CHECKPOINT_FORMAT,
  disposeCheckpoint,
  loadCheckpoint,
  loadModel,
  saveCheckpoint,
} from '../src/train/checkpoint.ts';

const world = generateWorldDataset(worldByName('pendulum'), { count: 8, imageSize: 64, seed: 1 });
const dir = mkdtempSync(join(tmpdir(), 'ccig-ckpt-'));

/** A valid checkpoint's tensors and metadata, to be spoiled one way at a time. */
/** The metadata of a fresh model's checkpoint at step 1 (no optimizers, no metrics). */
function stepOneMeta(cfg: ReturnType<typeof resolveConfig>) {
  return {
    config: cfg,
    attributes: [...world.attributes],
    step: 1,
    dag: { alpha: 0, rho: 1, lastH: Number.POSITIVE_INFINITY },
    dataRng: new Rng(0, 1).getState(),
    metrics: {},
  };
}

function validParts(): { tensors: Record<string, torch.Tensor>; metadata: Record<string, string> } {
  const path = join(dir, 'valid.safetensors');
  const cfg = resolveConfig('tiny');
  const model = new Ccig(cfg, world.attributes);
  saveCheckpoint(path, model, {}, stepOneMeta(cfg));
  model.dispose();
  return torch.loadSafetensors(path);
}

function refused(name: string, spoil: (p: ReturnType<typeof validParts>) => void, message: RegExp) {
  const parts = validParts();
  spoil(parts);
  const path = join(dir, `${name}.safetensors`);
  torch.saveSafetensors(path, parts.tensors, parts.metadata);
  for (const t of Object.values(parts.tensors)) t.dispose();
  const live = torch.liveTensors();
  assert.throws(
    () => loadCheckpoint(path),
    (e: unknown) => e instanceof CheckpointError && message.test((e as Error).message),
    name,
  );
  assert.equal(torch.liveTensors(), live, `${name}: the refused checkpoint leaked tensors`);
}

test('a valid checkpoint loads, and the schedule keeps an infinite lastH', () => {
  const parts = validParts();
  const path = join(dir, 'again.safetensors');
  torch.saveSafetensors(path, parts.tensors, parts.metadata);
  for (const t of Object.values(parts.tensors)) t.dispose();
  const c = loadCheckpoint(path);
  assert.equal(c.dag.lastH, Number.POSITIVE_INFINITY);
  assert.equal(c.config.preset, 'tiny');
  disposeCheckpoint(c);
});

test('corrupt metadata, foreign formats and stray optimizer keys are CheckpointErrors and leak nothing', () => {
  refused(
    'corrupt-meta',
    (p) => {
      p.metadata.meta = '{"config": ';
    },
    /checkpoint metadata is corrupt/,
  );
  refused(
    'null-meta',
    (p) => {
      p.metadata.meta = 'null';
    },
    /checkpoint metadata is corrupt/,
  );
  refused(
    'foreign',
    (p) => {
      p.metadata.format = 'something-else/1';
    },
    /not a ccig checkpoint \(format 'something-else\/1'\)/,
  );
  refused(
    'stray-optimizer',
    (p) => {
      p.tensors['opt.x.0.0.exp_avg'] = torch.keep(torch.zeros([2]));
    },
    /tensor 'opt\.x\.0\.0\.exp_avg' belongs to no optimizer/,
  );
  assert.equal(CHECKPOINT_FORMAT, 'ccig-checkpoint/1');
});

test('the generator states come back alive: rng.torch, and rng.cuda as a GPU run saves it', () => {
  const parts = validParts();
  // a checkpoint written on a GPU carries the CUDA generator's state beside the CPU one
  parts.tensors['rng.cuda'] = parts.tensors['rng.torch'].clone();
  const expected = parts.tensors['rng.cuda'].toNumbers();
  const path = join(dir, 'with-cuda-rng.safetensors');
  torch.saveSafetensors(path, parts.tensors, parts.metadata);
  for (const t of Object.values(parts.tensors)) t.dispose();
  const c = loadCheckpoint(path);
  assert.deepEqual(c.rngCuda?.toNumbers(), expected);
  assert.ok((c.rng?.toNumbers().length ?? 0) > 0);
  disposeCheckpoint(c);
});

test('a learned exact-search graph is saved as structure.mask and loaded back, weights at 0 or not; older files fall back to the weights', () => {
  const cfg = resolveConfig('tiny', { scm: { structure: 'learned', search: 'exact', parents: 'linear' } });
  const model = new Ccig(cfg, world.attributes);
  // a searched graph whose edges have not trained yet: A is 0 everywhere
  const graph = [
    [0, 1, 1, 0],
    [0, 0, 0, 1],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
  ];
  model.prior.setStructure(graph);
  const path = join(dir, 'searched.safetensors');
  saveCheckpoint(path, model, {}, stepOneMeta(cfg));
  model.dispose();
  const loaded = loadModel(path);
  assert.deepEqual(loaded.model.prior.maskArray(), graph);
  loaded.model.dispose();
  // a checkpoint from before the mask was saved: the graph is where the weights are non-zero
  const { tensors, metadata } = torch.loadSafetensors(path);
  assert.ok(tensors['structure.mask'], 'the mask is in the file');
  const old = join(dir, 'searched-old.safetensors');
  torch.saveSafetensors(
    old,
    Object.fromEntries(Object.entries(tensors).filter(([k]) => k !== 'structure.mask')),
    metadata,
  );
  const fallback = loadModel(old);
  assert.deepEqual(
    fallback.model.prior.maskArray(),
    graph.map((row) => row.map(() => 0)),
  );
  fallback.model.dispose();
  // a mask of the wrong size names itself
  const wrong = join(dir, 'searched-wrong.safetensors');
  torch.saveSafetensors(wrong, { ...tensors, 'structure.mask': torch.zeros([3, 3]) }, metadata);
  assert.throws(() => loadModel(wrong), /structure\.mask has 9 entries for 4 attributes/);
  for (const t of Object.values(tensors)) t.dispose();
});
