// The real CCIG training step run 5 times by one process on the global batches and by each rank
// of test/ddp.test.ts on its shards (helpers/ccig-step-worker.ts), with every term whose value
// depends on more than one row: the labelled-row mean (supProp 0.5), the observational-row means
// (interventional rows), the nv structure score, and the step's noise.
import { generateWorldDataset, worldByName } from '../../src/data/world-dataset.ts';
import { resolveConfig } from '../../src/model/config.ts';
import * as torch from '../../src/torch/index.ts';
import type { DataParallel } from '../../src/train/ddp.ts';
import { createTrainer, isLabelled, type Losses } from '../../src/train/train.ts';
import { flatParameters } from './ddp-fixture.ts';

export const CCIG_STEPS = 5;
const GLOBAL_BATCH = 8;
const SUP_PROP = 0.5;

export const ccigStepConfig = () =>
  resolveConfig('tiny', {
    scm: { structure: 'learned', search: 'notears', parents: 'mlp', score: 'nv' },
    train: { batchSize: GLOBAL_BATCH, supProp: SUP_PROP, lambdaScm: 1, lambdaCyc: 1, lambdaRec: 1 },
  });

export const ccigStepData = () =>
  generateWorldDataset(worldByName('pendulum'), { count: 32, imageSize: 64, seed: 5, interventional: 0.4 });

/** The dataset rows of global batch `step`. */
export const ccigGlobalBatch = (step: number) =>
  Array.from({ length: GLOBAL_BATCH }, (_, i) => (step * 5 + i * 3) % 32);

export const labelled = (i: number) => isLabelled(i, SUP_PROP, ccigStepConfig().train.seed);

export interface CcigRun {
  /** parameters after the broadcast from rank 0 */
  start: number[];
  params: number[];
  /** each step's losses (averaged over the ranks) */
  losses: Losses[];
}

/**
 * CCIG_STEPS steps of trainer.step, on the whole global batches or (dp) on this rank's shards.
 * The model is in eval mode: batch norm normalizes with its running statistics, not with those
 * of the batch, which a rank sees only its shard of (DDP's BatchNorm, not SyncBatchNorm).
 */
export function trainCcigSteps(
  dp?: DataParallel,
): CcigRun & { model: ReturnType<typeof createTrainer>['model'] } {
  const cfg = ccigStepConfig();
  const data = ccigStepData();
  // every rank but 0 starts from another model: the broadcast must make rank 0's everyone's
  torch.manualSeed(100 + (dp?.rank ?? 0));
  const trainer = createTrainer(
    cfg,
    data.attributes,
    dp
      ? { syncGradients: (params) => dp.averageGradients(params), batchShard: (rows) => dp.batchShard(rows) }
      : {},
  );
  const { model } = trainer;
  // running statistics and spectral-norm vectors of the global batches, from some passes in
  // training mode: straight from initialization, eval mode would leave D's outputs near 1e6,
  // where float32 rounding alone moves Adam's nearly sign-like first steps
  torch.scope(() =>
    torch.noGrad(() => {
      for (let pass = 0; pass < 20; pass++) {
        const b = data.batch(ccigGlobalBatch(pass % CCIG_STEPS));
        const x = torch.tensor(b.images, { shape: [GLOBAL_BATCH, 3, 64, 64] });
        const z = model.sampleLatent(GLOBAL_BATCH);
        model.discriminator.forward(x, model.encode(x).mu);
        model.discriminator.forward(model.decode(z), z);
      }
    }),
  );
  model.eval();
  if (dp) dp.broadcastModule(model);
  const start = flatParameters(model);
  // the steps' random draws start from one seed on every rank, as trainOnDevice seeds each rank
  torch.manualSeed(1);
  const m = model.m;
  const dag = { alpha: 0.5, rho: 1, lastH: 1 };
  const losses: Losses[] = [];
  for (let s = 0; s < CCIG_STEPS; s++) {
    const global = ccigGlobalBatch(s);
    const rows = dp ? dp.shard(global) : global;
    const n = rows.length;
    const b = data.batch(rows);
    let l = torch.scope(() =>
      trainer.step(
        torch.tensor(b.images, { shape: [n, 3, 64, 64] }),
        torch.tensor(b.labels, { shape: [n, m] }),
        torch.tensor(Float32Array.from(rows, (i) => (labelled(i) ? 1 : 0))).unsqueeze(1),
        dag,
        torch.tensor(Float32Array.from(b.intervened), { shape: [n, m] }),
      ),
    );
    if (dp) {
      const names = Object.keys(l) as (keyof Losses)[];
      const avg = dp.averageNumbers(names.map((k) => l[k]));
      l = Object.fromEntries(names.map((k, i) => [k, avg[i]])) as unknown as Losses;
    }
    losses.push(l);
  }
  return { start, params: flatParameters(model), losses, model };
}
