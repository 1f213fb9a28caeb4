/**
 * The one scale between label units (degrees, 0/1, ...) and the causal latents. Two ways a label
 * v of attribute i becomes its latent mu_c (docs/method.md section 3, `train.continuousSupervision`):
 * - logit: the label range (labelRange: [0, 1] binary, [min, max] continuous) maps linearly onto
 *   [0, 1] (the unit scale) and the latent is the logit of that, decoded through the sigmoid.
 *   Binary attributes always; continuous ones under `bce` supervision.
 * - standardized: the latent is (v - mean) / std, decoded affinely. Continuous attributes under
 *   `mse` supervision, so a latent step means the same spread of labels for every factor.
 * The oracle regresses on the unit scale whatever the model's mode.
 */
import { type AttributeInfo, labelRange } from '../data/dataset.ts';
import type { Device, Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';

/** Keeps scaled labels away from 0 and 1 so their logits stay finite. */
const LABEL_EPS = 1e-3;

export type ContinuousSupervision = 'bce' | 'mse';

export class LabelScale {
  private readonly lo: number[];
  private readonly span: number[];
  private readonly mean: number[];
  private readonly std: number[];
  /** per attribute: true where the latent is the label in standardized units */
  readonly standardized: readonly boolean[];

  constructor(attributes: readonly AttributeInfo[], continuous: ContinuousSupervision = 'bce') {
    const ranges = attributes.map(labelRange);
    this.lo = ranges.map(([lo]) => lo);
    // A constant attribute (min = max) still gets a finite scale.
    this.span = ranges.map(([lo, hi]) => Math.max(1e-12, hi - lo));
    const moments = attributes.map(standardUnits);
    this.mean = moments.map((x) => x.mean);
    this.std = moments.map((x) => x.std);
    this.standardized = attributes.map((a) => a.kind === 'continuous' && continuous === 'mse');
  }

  /** Labels [B, m] -> the unit scale [B, m] (not clamped: labels outside the range leave [0, 1]). */
  toUnit(labels: Tensor): Tensor {
    return labels.sub(row(this.lo, labels)).div(row(this.span, labels));
  }

  /** The unit scale [B, m] -> labels [B, m]. */
  fromUnit(unit: Tensor): Tensor {
    return unit.mul(row(this.span, unit)).add(row(this.lo, unit));
  }

  /** Labels [B, m] -> standardized units (v - mean) / std, every column. */
  standardize(labels: Tensor): Tensor {
    return labels.sub(row(this.mean, labels)).div(row(this.std, labels));
  }

  /** [B, m] mask, 1 in the standardized columns. */
  standardizedMask(like: Tensor): Tensor {
    return row(
      this.standardized.map((b) => (b ? 1 : 0)),
      like,
    )
      .gt(0)
      .unsqueeze(0)
      .expand(like.shape);
  }

  /** The causal latent that encodes label value v of attribute i. */
  toLatent(i: number, v: number): number {
    if (this.standardized[i]) return (v - this.mean[i]) / this.std[i];
    const s = Math.min(1 - LABEL_EPS, Math.max(LABEL_EPS, (v - this.lo[i]) / this.span[i]));
    return Math.log(s / (1 - s));
  }

  /** Causal latents [B, m] -> label values [B, m]. */
  latentToLabels(zc: Tensor): Tensor {
    const viaSigmoid = this.fromUnit(zc.sigmoid());
    if (!this.standardized.includes(true)) return viaSigmoid;
    const affine = zc.mul(row(this.std, zc)).add(row(this.mean, zc));
    return torch.where(this.standardizedMask(zc), affine, viaSigmoid);
  }
}

/**
 * Mean and standard deviation of an attribute's labels; for attributes recorded without them
 * (older checkpoints and caches), those of a uniform distribution over the label range.
 */
function standardUnits(a: AttributeInfo): { mean: number; std: number } {
  if (a.kind === 'binary') return { mean: 0, std: 1 };
  if (a.mean !== undefined && a.std !== undefined && a.std > 0) return { mean: a.mean, std: a.std };
  return { mean: (a.min + a.max) / 2, std: Math.max(1e-12, (a.max - a.min) / Math.sqrt(12)) };
}

/** Per-attribute values as a row on the device of `like`, to broadcast over [B, m]. */
function row(values: number[], like: Tensor): Tensor {
  const t = torch.tensor(values);
  return like.device === 'cpu' ? t : t.to(like.device as Device);
}
