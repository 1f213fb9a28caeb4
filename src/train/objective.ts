/**
 * The objective of CCIG's training (docs/method.md section 3): the model, its optimizers and one
 * step on a batch, real batch (x, y), z ~ prior:
 *   D:      L_D = mean softplus(D(G(z), z)) + mean softplus(-D(x, E(x)))
 *   E:      L_E = mean D(x, E(x)) + lambda_sup L_sup(mu_c, y) + lambda_scm L_scm
 *   G/prior: L_G = -mean(s D(G(z), z)), s = clamp(exp(D(G(z), z)), 0.5, 2) detached,
 *            plus alpha h(A) + rho/2 h(A)^2 + l1 |A|_1 in `learned` mode with NOTEARS,
 *            plus lambda_cyc L_cyc, which trains G alone (see encoderGeneratorTerms).
 *   E + G:  lambda_rec |G(mu_E(x)) - x|_1 where train.lambdaRec is set.
 * E and G/prior have disjoint parameters and learn from one backward pass; D's parameters stop
 * recording gradients meanwhile, so no work is spent on gradients nobody uses.
 * The loop around it (data, resume, logs, checkpoints) is train.ts.
 */
import { type DagSchedule, STRUCTURE_PARAMS, structurePenalty } from '../causal/scm.ts';
import type { Dataset } from '../data/dataset.ts';
import { mix32 } from '../data/rng.ts';
import { Ccig } from '../model/ccig.ts';
import type { CcigConfig } from '../model/config.ts';
import * as torch from '../torch/index.ts';
import { type Device, optim, type Tensor } from '../torch/index.ts';
import { type BatchShard, type DataParallel, wholeBatch } from './ddp.ts';

export interface Losses {
  d: number;
  e: number;
  g: number;
  sup: number;
  scm: number;
  cyc: number;
  /** image reconstruction L1 (0 where train.lambdaRec is off) */
  rec: number;
  h: number;
}

/** Every loss at 0: before the first step, and the one list of the losses' names (LOSS_NAMES). */
export const ZERO_LOSSES: Losses = { d: 0, e: 0, g: 0, sup: 0, scm: 0, cyc: 0, rec: 0, h: 0 };
const LOSS_NAMES = Object.keys(ZERO_LOSSES) as (keyof Losses)[];

/** Losses from numbers in LOSS_NAMES' order. */
function lossesFrom(values: number[]): Losses {
  const out = { ...ZERO_LOSSES };
  for (const [i, n] of LOSS_NAMES.entries()) out[n] = values[i];
  return out;
}

/** Losses averaged over the ranks of a data-parallel run (each rank saw its own shard). */
export function averageLosses(dp: DataParallel, l: Losses): Losses {
  return lossesFrom(dp.averageNumbers(LOSS_NAMES.map((n) => l[n])));
}

/**
 * Whether training example i uses its label (train.supProp < 1): a fixed pseudo-random choice of
 * about supProp of the examples, the same at every step and on resume.
 */
export function isLabelled(i: number, supProp: number, seed: number): boolean {
  return supProp >= 1 || mix32(i ^ (seed * 0x9e3779b1)) / 2 ** 32 < supProp;
}

export interface Trainer {
  model: Ccig;
  optD: optim.Adam;
  optEG: optim.Adam;
  /**
   * One training step on a batch (x [B,3,S,S], y [B,m], supMask [B,1], intervened [B,m]: 1 where
   * the row's attribute was set by do(), whose mechanism the SCM-consistency loss then leaves
   * out): the D step, then the E + G/prior step. The generator samples the observational prior,
   * so the adversarial terms see only the observational rows (see observationalRows).
   */
  step(x: Tensor, y: Tensor, supMask: Tensor, dag: DagSchedule, intervened?: Tensor): Losses;
  /** The D step alone; returns L_D. */
  discriminatorStep(x: Tensor, intervened?: Tensor): Tensor;
  /** The E + G/prior step alone (D frozen); returns its unweighted terms. */
  encoderGeneratorStep(x: Tensor, y: Tensor, supMask: Tensor, dag: DagSchedule, intervened?: Tensor): EgTerms;
}

/** The model, its optimizers (DEAR's groups) and the step of docs/method.md section 3. */
export interface TrainerOptions {
  /** called after each backward with the parameters its optimizer will step (data parallelism) */
  syncGradients?: (params: Tensor[]) => void;
  /** the global batch a step's `rows` rows belong to (data parallelism; default: they are all of it) */
  batchShard?: (rows: number) => BatchShard;
}

export function createTrainer(
  cfg: CcigConfig,
  attributes: Dataset['attributes'],
  options: TrainerOptions = {},
): Trainer {
  const t = cfg.train;
  const model = new Ccig(cfg, attributes);
  const optD = new optim.Adam(model.discriminator.parameters(), { lr: t.lrD, betas: t.betas });
  const priorParams = (structure: boolean) =>
    model.prior
      .namedParameters()
      .filter(([n]) => STRUCTURE_PARAMS.includes(n) === structure)
      .map(([, p]) => p);
  const optEG = new optim.Adam(
    [
      { params: model.encoder.parameters(), lr: t.lrE },
      { params: model.generator.parameters(), lr: t.lrG },
      { params: priorParams(false), lr: t.lrPrior },
      // DEAR gives A its own Adam with PyTorch's default betas (0.9, 0.999)
      { params: priorParams(true), lr: t.lrA, betas: t.betasA },
    ],
    { betas: t.betas },
  );
  const D = model.discriminator;
  const dParams = D.parameters();
  const egParams = [
    ...model.encoder.parameters(),
    ...model.generator.parameters(),
    ...model.prior.parameters(),
  ];

  const shardOf = (rows: number) => options.batchShard?.(rows) ?? wholeBatch(rows);

  function discriminatorStep(x: Tensor, intervened?: Tensor): Tensor {
    const shard = shardOf(x.shape[0]);
    // real pairs (x, E(x)) of the observational rows, fake pairs (G(z), z)
    const { zReal, zFake, xFake } = torch.noGrad(() => {
      const { mu, logvar } = model.encode(x);
      const zFake = sampleLatentRows(model, shard);
      return { zReal: sampleCode(mu, logvar, shard), zFake, xFake: model.decode(zFake) };
    });
    const real = rowMean(D.forward(x, zReal).neg().softplus(), observationalRows(intervened), shard);
    const lossD = D.forward(xFake, zFake).softplus().mean().add(real);
    optD.zeroGrad();
    lossD.backward();
    options.syncGradients?.(dParams);
    optD.step();
    return lossD;
  }

  function encoderGeneratorStep(
    x: Tensor,
    y: Tensor,
    supMask: Tensor,
    dag: DagSchedule,
    intervened?: Tensor,
  ): EgTerms {
    // D's parameters stop recording gradients: D is a fixed critic in this step
    D.setTrainable(false);
    try {
      const terms = encoderGeneratorTerms(model, t, x, y, supMask, dag, intervened, shardOf(x.shape[0]));
      const total = terms.advE
        .add(terms.sup.mul(t.lambdaSup))
        .add(terms.scm.mul(t.lambdaScm))
        .add(terms.g)
        .add(terms.cyc.mul(t.lambdaCyc))
        .add(terms.rec.mul(t.lambdaRec ?? 0))
        .add(terms.structure);
      optEG.zeroGrad();
      total.backward();
      options.syncGradients?.(egParams);
      optEG.step();
      return terms;
    } finally {
      D.setTrainable(true);
    }
  }

  function step(x: Tensor, y: Tensor, supMask: Tensor, dag: DagSchedule, intervened?: Tensor): Losses {
    const lossD = discriminatorStep(x, intervened);
    const e = encoderGeneratorStep(x, y, supMask, dag, intervened);
    const h = model.prior.mode === 'learned' ? torch.noGrad(() => model.prior.acyclicity()) : torch.zeros([]);
    // one read back for every loss (a device sync each otherwise)
    const byName = {
      d: lossD,
      e: e.advE,
      g: e.g,
      sup: e.sup,
      scm: e.scm,
      cyc: e.cyc,
      rec: e.rec,
      h,
    } satisfies Record<keyof Losses, Tensor>;
    return lossesFrom(torch.stack(LOSS_NAMES.map((n) => byName[n])).toNumbers());
  }

  return { model, optD, optEG, step, discriminatorStep, encoderGeneratorStep };
}

/**
 * [B] weights, 1 for a row that no do() touched (undefined: all rows observational). The
 * prior that G samples is observational, so the adversarial game matches the observational
 * joint only: a row whose shadow was set by do() does not follow its angles, and if D counted it
 * as real, G would learn to draw such shadows from its free latents and the encoder to read them
 * as observational ones. Interventional rows still train the supervision, the SCM score and the
 * structure search, which is what they are for.
 */
export function observationalRows(intervened: Tensor | undefined): Tensor | undefined {
  return intervened?.sum(1).clamp(0, 1).neg().add(1);
}

/**
 * The mean of per-row values [B] over the rows with weight 1 (all rows without weights), over
 * the whole global batch that `shard` is part of.
 */
function rowMean(values: Tensor, weights: Tensor | undefined, shard: BatchShard): Tensor {
  // equal shards: the ranks' average of their means is the global mean
  if (!weights) return values.mean();
  // the count stays a tensor: no device-to-host copy in the step
  return shard.sum(values.mul(weights).sum()).div(shard.sum(weights.sum()).clamp(1));
}

/**
 * z ~ q(z | x) (Encoder.sample) with the noise of the shard's rows of one draw for the global
 * batch: every rank draws the same global noise (same seed), so the shards' rows are those of
 * one process, not copies of each other. [B, zDim]
 */
function sampleCode(mu: Tensor, logvar: Tensor, shard: BatchShard): Tensor {
  const noise = torch
    .randn([shard.globalRows, mu.shape[1]], { device: mu.device as Device })
    .slice(0, shard.offset, shard.offset + shard.rows);
  return mu.add(logvar.mul(0.5).exp().mul(noise));
}

/** z from the prior for the shard's rows of one draw for the global batch (see sampleCode). [B, zDim] */
function sampleLatentRows(model: Ccig, shard: BatchShard): Tensor {
  const z = model.sampleLatent(shard.globalRows);
  return shard.rows === shard.globalRows ? z : z.slice(0, shard.offset, shard.offset + shard.rows);
}

/** The unweighted terms of the E + G/prior objective on one batch: scalar tensors with their graphs. */
export interface EgTerms {
  advE: Tensor;
  sup: Tensor;
  scm: Tensor;
  g: Tensor;
  cyc: Tensor;
  rec: Tensor;
  structure: Tensor;
}

/**
 * The terms of the E + G/prior step (docs/method.md section 3; the cycle term is ours), each with the
 * parameters it trains. The step minimises advE + lambda_sup sup + lambda_scm scm + g +
 * lambda_cyc cyc + lambda_rec rec + structure with one backward pass; D must be frozen by the caller.
 *
 * | term      | loss                                                   | trains                          |
 * | --------- | ------------------------------------------------------ | ------------------------------- |
 * | advE      | mean D(x, E(x)), E(x) sampled, observational rows      | E                               |
 * | sup       | BCE(mu_c, scaled labels), labelled examples only       | E                               |
 * | scm       | ||u - parents(u)||^2, u = f^-1(mu_c) held fixed         | parent model (A or its MLPs)    |
 * | g         | -mean(s D(G(z), z)), z = [z_c from the prior, z_r]     | G; prior (f, parent model) via z |
 * | cyc       | ||mu_E(G(z'))_c - z'_c||^2, z' = z detached, E frozen   | G only                          |
 * | rec       | |G(mu_E(x)) - x|_1, all rows (`lambdaRec` > 0 only)     | E and G                         |
 * | structure | alpha h(A) + rho/2 h(A)^2 + l1 |A|_1 (`learned` only)   | parent model                    |
 *
 * The cycle term draws G(z') a second time from the detached z, so that neither its target nor
 * G's input leads back to the prior: the prior learns only from D's verdict, and G cannot make
 * the cycle easy by moving the prior's samples. (The second pass also updates G's batch-norm
 * running statistics a second time, with the same batch.)
 */
export function encoderGeneratorTerms(
  model: Ccig,
  t: CcigConfig['train'],
  x: Tensor,
  y: Tensor,
  supMask: Tensor,
  dag: DagSchedule,
  /** [B, m] 1 where the row's attribute was set by do() (default: all observational) */
  intervened?: Tensor,
  /** the global batch these rows belong to (data parallelism; default: they are all of it) */
  shard: BatchShard = wholeBatch(x.shape[0]),
): EgTerms {
  const m = model.m;
  const { mu, logvar } = model.encode(x);
  const advE = rowMean(
    model.discriminator.forward(x, sampleCode(mu, logvar, shard)),
    observationalRows(intervened),
    shard,
  );
  const muC = mu.slice(1, 0, m);
  // BCE on min-max targets, or MSE in standardized units (train.continuousSupervision), averaged
  // over the labelled rows of the global batch
  const sup = rowMean(model.supervisionLoss(muC, y).mean(1), supMask.squeeze(1), shard);
  const scm =
    t.lambdaScm > 0 && model.prior.mode !== 'none'
      ? model.prior.consistencyLoss(muC, intervened, model.config.scm.score ?? 'nv', shard.sum)
      : torch.zeros([]);

  const z = sampleLatentRows(model, shard);
  const dFake = model.discriminator.forward(model.decode(z), z);
  const s = torch.noGrad(() => dFake.exp().clamp(0.5, 2));
  const g = s.mul(dFake).mean().neg();

  let cyc = torch.zeros([]);
  if (t.lambdaCyc > 0) {
    const zFixed = z.detach();
    const xCyc = model.decode(zFixed);
    const wasTraining = model.encoder.training;
    model.encoder.eval();
    model.encoder.setTrainable(false);
    try {
      cyc = torch.mseLoss(model.encode(xCyc).mu.slice(1, 0, m), zFixed.slice(1, 0, m));
    } finally {
      model.encoder.setTrainable(true);
      if (wasTraining) model.encoder.train();
    }
  }
  // the code every edit of a real image decodes: mu, not a sample (as ccig counterfactual)
  const rec = (t.lambdaRec ?? 0) > 0 ? torch.l1Loss(model.decode(mu), x) : torch.zeros([]);
  // an exactly searched graph is a DAG already: no acyclicity or sparsity penalty on it
  const structure =
    model.config.scm.search === 'exact' ? torch.zeros([]) : structurePenalty(model.prior, dag, t.l1A);
  return { advE, sup, scm, g, cyc, rec, structure };
}
