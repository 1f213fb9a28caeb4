/**
 * The evaluation's attribute oracle: a small CNN the project trains on real (or exactly
 * rendered) images to read attribute values off any image. It measures what an edited image
 * shows, independently of the model that made it. Continuous attributes are regressed (MSE on
 * min-max scaled labels), binary ones classified (BCE). Its penultimate features also serve the
 * Frechet distance and KID, named honestly as "oracle-feature" distances, not Inception FID.
 */
import { existsSync } from 'node:fs';
import type { AttributeInfo, Dataset } from '../data/dataset.ts';
import { Rng } from '../data/rng.ts';
import { CheckpointError } from '../errors.ts';
import * as torch from '../torch/index.ts';
import { nn, optim, type Tensor } from '../torch/index.ts';

/** Version of the oracle's architecture and training recipe: bump it when either changes (cache key). */
export const ORACLE_RECIPE = 1;

export interface OracleMeta {
  attributes: AttributeInfo[];
  imageSize: number;
  /** where its training images came from */
  source: string;
  steps: number;
  /** held-out error per attribute: mean |error| in label units (continuous) or error rate (binary) */
  heldOutError: Record<string, number>;
}

export class Oracle extends nn.Module {
  private readonly body: nn.Sequential;
  private readonly feat: nn.Linear;
  private readonly out: nn.Linear;
  readonly featureDim = 128;

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
  }

  /** x [B, 3, S, S] -> { features [B, 128], logits [B, m] } */
  forward(x: Tensor): { features: Tensor; logits: Tensor } {
    const features = this.feat.forward(this.body.forward(x).flatten(1)).leakyRelu(0.2);
    return { features, logits: this.out.forward(features) };
  }

  private scale(): { lo: Tensor; span: Tensor; binary: Tensor } {
    const a = this.meta.attributes;
    return {
      lo: torch.tensor(a.map((x) => (x.kind === 'binary' ? 0 : x.min))),
      span: torch.tensor(a.map((x) => (x.kind === 'binary' ? 1 : x.max - x.min))),
      binary: torch.tensor(a.map((x) => (x.kind === 'binary' ? 1 : 0))),
    };
  }

  /** Attribute values read off images, in label units (binary: probability of 1). [B, m] */
  predict(x: Tensor): Tensor {
    return this.read(x).values;
  }

  /** Features [B, 128] and attribute values [B, m] (as `predict`) from one forward pass. */
  read(x: Tensor): { features: Tensor; values: Tensor } {
    return torch.noGrad(() => {
      const { features, logits } = this.forward(x);
      const { lo, span, binary } = this.scale();
      const cont = logits.mul(span).add(lo);
      return { features, values: torch.where(binary.gt(0).expand(logits.shape), logits.sigmoid(), cont) };
    });
  }

  /** Loss against labels [B, m]: MSE on scaled continuous labels, BCE on binary ones. */
  loss(x: Tensor, labels: Tensor): Tensor {
    const { logits } = this.forward(x);
    const { lo, span, binary } = this.scale();
    const target = labels.sub(lo).div(span);
    const mse = logits.sub(target).square().mul(binary.rsub(1));
    const bce = torch.bceWithLogits(logits, target.clamp(0, 1), { reduction: 'none' }).mul(binary);
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
    onProgress,
  }: {
    steps?: number;
    batchSize?: number;
    seed?: number;
    source?: string;
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
  });
  const opt = new optim.Adam(oracle.parameters(), { lr: 1e-3 });
  const rng = new Rng(seed, 7);
  const m = train.attributes.length;
  for (let step = 1; step <= steps; step++) {
    if (step === Math.floor(steps * 0.7)) opt.setLr(3e-4);
    const b = train.batch(Array.from({ length: batchSize }, () => rng.int(train.size)));
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
  const err = torch.scope(() => {
    const x = torch.tensor(tb.images, { shape: [n, 3, S, S] });
    const y = torch.tensor(tb.labels, { shape: [n, m] });
    const p = batched(x, 128, (xb) => oracle.predict(xb));
    return p
      .sub(y)
      .abs()
      .mean(0)
      .toNumbers()
      .map((e, j) =>
        train.attributes[j].kind === 'binary'
          ? p.select(1, j).gt(0.5).to('float32').sub(y.select(1, j)).abs().mean().item()
          : e,
      );
  });
  oracle.meta.heldOutError = Object.fromEntries(train.attributes.map((a, j) => [a.name, err[j]]));
  return oracle;
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
