/**
 * The evaluation's attribute oracle: a small CNN the project trains on real (or exactly
 * rendered) images to read attribute values off any image. It measures what an edited image
 * shows, independently of the model that made it. Continuous attributes are regressed (MSE on
 * min-max scaled labels), binary ones classified (BCE). Its penultimate features also serve the
 * Frechet distance and KID, named honestly as "oracle-feature" distances, not Inception FID.
 */
import { existsSync } from 'node:fs';
import { flipChoice, hflipRows } from '../data/augment.ts';
import type { AttributeInfo, Dataset } from '../data/dataset.ts';
import { Rng } from '../data/rng.ts';
import { CheckpointError } from '../errors.ts';
import { LabelScale } from '../model/label-scale.ts';
import * as torch from '../torch/index.ts';
import { nn, optim, type Tensor } from '../torch/index.ts';

/** Version of the oracle's architecture and training recipe: bump it when either changes (cache key). */
// 2: class-balanced BCE for binary attributes, held-out (balanced) accuracy in the meta
export const ORACLE_RECIPE = 2;

export interface OracleMeta {
  attributes: AttributeInfo[];
  imageSize: number;
  /** where its training images came from */
  source: string;
  steps: number;
  /** held-out error per attribute: mean |error| in label units (continuous) or error rate (binary) */
  heldOutError: Record<string, number>;
  /**
   * Binary attributes: the share of 1s in the training labels. The loss weighs each class by
   * 0.5 / its share (class-balanced BCE), so a rare attribute (Chubby: 6%) is not read as
   * "always 0". Absent in oracles trained before balancing existed.
   */
  positiveRate?: Record<string, number>;
  /** Binary attributes: held-out accuracy and balanced accuracy (mean of the two class recalls). */
  heldOutAccuracy?: Record<string, number>;
  heldOutBalancedAccuracy?: Record<string, number>;
}

export class Oracle extends nn.Module {
  private readonly body: nn.Sequential;
  private readonly feat: nn.Linear;
  private readonly out: nn.Linear;
  readonly featureDim = 128;
  private readonly labelScale: LabelScale;
  /** 1 for binary attributes (classified), 0 for continuous ones (regressed) */
  private readonly binary: number[];

  constructor(readonly meta: OracleMeta) {
    super();
    const c = 16;
    const layers: (nn.Layer & nn.Module)[] = [];
    let cin = 3;
    let size = meta.imageSize;
    for (const w of [c, 2 * c, 4 * c, 8 * c]) {
      layers.push(
        new nn.Conv2d(cin, w, 4, { stride: 2, padding: 1 }),
        new nn.BatchNorm2d(w),
        new nn.LeakyReLU(0.2),
      );
      cin = w;
      size /= 2;
    }
    this.body = this.registerModule('body', new nn.Sequential(layers));
    this.feat = this.registerModule('feat', new nn.Linear(cin * size * size, this.featureDim));
    this.out = this.registerModule('out', new nn.Linear(this.featureDim, meta.attributes.length));
    this.labelScale = new LabelScale(meta.attributes);
    this.binary = meta.attributes.map((a) => (a.kind === 'binary' ? 1 : 0));
  }

  /** x [B, 3, S, S] -> { features [B, 128], logits [B, m] } */
  forward(x: Tensor): { features: Tensor; logits: Tensor } {
    const features = this.feat.forward(this.body.forward(x).flatten(1)).leakyRelu(0.2);
    return { features, logits: this.out.forward(features) };
  }

  /** Attribute values read off images, in label units (binary: probability of 1). [B, m] */
  predict(x: Tensor): Tensor {
    return this.read(x).values;
  }

  /** Features [B, 128] and attribute values [B, m] (as `predict`) from one forward pass. */
  read(x: Tensor): { features: Tensor; values: Tensor } {
    return torch.noGrad(() => {
      const { features, logits } = this.forward(x);
      const binary = torch.tensor(this.binary).gt(0).expand(logits.shape);
      // Binary outputs are logits of the probability, continuous ones the scaled value itself.
      return { features, values: this.labelScale.fromUnit(torch.where(binary, logits.sigmoid(), logits)) };
    });
  }

  /**
   * Loss against labels [B, m]: MSE on scaled continuous labels, BCE on binary ones, each class
   * of a binary attribute weighted by 0.5 / its training share when meta.positiveRate has it.
   */
  loss(x: Tensor, labels: Tensor): Tensor {
    const { logits } = this.forward(x);
    const binary = torch.tensor(this.binary);
    const target = this.labelScale.toUnit(labels);
    const mse = logits.sub(target).square().mul(binary.rsub(1));
    const rate = this.meta.attributes.map((a) => this.meta.positiveRate?.[a.name] ?? 0.5);
    const w1 = torch.tensor(rate.map((p) => 0.5 / p));
    const w0 = torch.tensor(rate.map((p) => 0.5 / (1 - p)));
    const t01 = target.clamp(0, 1);
    const weight = t01.mul(w1).add(t01.rsub(1).mul(w0));
    const bce = torch.bceWithLogits(logits, t01, { reduction: 'none' }).mul(weight).mul(binary);
    return mse.add(bce).mean();
  }
}

/** Runs images through a function in batches (no grad, eval) and concatenates. */
export function batched(x: Tensor, batch: number, fn: (xb: Tensor) => Tensor): Tensor {
  return torch.noGrad(() => {
    const parts = x.split(batch, 0).map((xb) => fn(xb));
    return torch.cat(parts, 0);
  });
}

/** Trains an oracle on `train`, measures it on `test`. */
export function trainOracle(
  train: Dataset,
  test: Dataset,
  {
    steps = 1500,
    batchSize = 64,
    seed = 1234,
    source = 'dataset',
    flip = false,
    onProgress,
  }: {
    steps?: number;
    batchSize?: number;
    seed?: number;
    source?: string;
    /** horizontal-flip augmentation (faces), labels unchanged */
    flip?: boolean;
    onProgress?: (step: number, steps: number) => void;
  } = {},
): Oracle {
  torch.manualSeed(seed);
  const S = train.imageSize;
  const oracle = new Oracle({
    attributes: [...train.attributes],
    imageSize: S,
    source,
    steps,
    heldOutError: {},
    positiveRate: positiveRates(train),
  });
  const opt = new optim.Adam(oracle.parameters(), { lr: 1e-3 });
  const rng = new Rng(seed, 7);
  const m = train.attributes.length;
  for (let step = 1; step <= steps; step++) {
    if (step === Math.floor(steps * 0.7)) opt.setLr(3e-4);
    const b = train.batch(Array.from({ length: batchSize }, () => rng.int(train.size)));
    if (flip) hflipRows(b.images, batchSize, 3, S, flipChoice(seed, step));
    torch.scope(() => {
      const x = torch.tensor(b.images, { shape: [batchSize, 3, S, S] });
      const y = torch.tensor(b.labels, { shape: [batchSize, m] });
      opt.zeroGrad();
      oracle.loss(x, y).backward();
      opt.step();
    });
    onProgress?.(step, steps);
  }
  oracle.eval();
  const n = Math.min(test.size, 1000);
  const tb = test.batch(Array.from({ length: n }, (_, i) => i));
  const predicted = torch.scope(() =>
    batched(torch.tensor(tb.images, { shape: [n, 3, S, S] }), 128, (xb) =>
      oracle.predict(xb),
    ).toFloat32Array(),
  );
  // mean |error| in label units (continuous), error rate at 0.5 (binary)
  const err = train.attributes.map((a, j) => {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const p = predicted[i * m + j];
      const y = tb.labels[i * m + j];
      sum += a.kind === 'binary' ? ((p > 0.5 ? 1 : 0) === (y > 0.5 ? 1 : 0) ? 0 : 1) : Math.abs(p - y);
    }
    return sum / Math.max(1, n);
  });
  oracle.meta.heldOutError = Object.fromEntries(train.attributes.map((a, j) => [a.name, err[j]]));
  const accuracy: Record<string, number> = {};
  const balanced: Record<string, number> = {};
  train.attributes.forEach((a, j) => {
    if (a.kind !== 'binary') return;
    const s = classifierScores(
      Float32Array.from({ length: n }, (_, i) => predicted[i * m + j]),
      Float32Array.from({ length: n }, (_, i) => tb.labels[i * m + j]),
    );
    accuracy[a.name] = s.accuracy;
    balanced[a.name] = s.balancedAccuracy;
  });
  oracle.meta.heldOutAccuracy = accuracy;
  oracle.meta.heldOutBalancedAccuracy = balanced;
  return oracle;
}

/** Share of 1s of each binary attribute over a dataset's labels (clamped away from 0 and 1). */
export function positiveRates(data: Dataset): Record<string, number> {
  const m = data.attributes.length;
  const ones = new Float64Array(m);
  for (let i = 0; i < data.size; i++) {
    const row = data.labels(i);
    for (let j = 0; j < m; j++) ones[j] += row[j] > 0.5 ? 1 : 0;
  }
  const out: Record<string, number> = {};
  data.attributes.forEach((a, j) => {
    if (a.kind === 'binary') out[a.name] = Math.min(0.99, Math.max(0.01, ones[j] / Math.max(1, data.size)));
  });
  return out;
}

/**
 * Accuracy and balanced accuracy (mean of the recall of 1s and of 0s) of probabilities read at
 * 0.5 against 0/1 labels. A class absent from the labels leaves its recall out of the mean.
 */
export function classifierScores(
  probability: ArrayLike<number>,
  label: ArrayLike<number>,
): { accuracy: number; balancedAccuracy: number } {
  let right = 0;
  const hit = [0, 0];
  const count = [0, 0];
  for (let i = 0; i < label.length; i++) {
    const y = label[i] > 0.5 ? 1 : 0;
    const ok = (probability[i] > 0.5 ? 1 : 0) === y;
    count[y]++;
    if (ok) {
      right++;
      hit[y]++;
    }
  }
  const recalls = [0, 1].filter((c) => count[c] > 0).map((c) => hit[c] / count[c]);
  return {
    accuracy: right / Math.max(1, label.length),
    balancedAccuracy: recalls.reduce((a, b) => a + b, 0) / Math.max(1, recalls.length),
  };
}

export function saveOracle(path: string, oracle: Oracle): void {
  torch.saveSafetensors(path, oracle.stateDict(), {
    format: 'ccig-oracle/1',
    meta: JSON.stringify(oracle.meta),
  });
}

export function loadOracle(path: string): Oracle {
  if (!existsSync(path)) throw new CheckpointError(`${path}: no such oracle file`);
  const { tensors, metadata } = torch.loadSafetensors(path);
  if (metadata.format !== 'ccig-oracle/1') throw new CheckpointError(`${path}: not a ccig oracle`);
  const oracle = new Oracle(JSON.parse(metadata.meta));
  oracle.loadStateDict(tensors);
  for (const t of Object.values(tensors)) t.dispose();
  return oracle.eval();
}
