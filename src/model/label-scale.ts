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
  /** per attribute: binary or not (class latents apply to binary attributes only) */
  private readonly binary: readonly boolean[];
  /**
   * Where the encoder puts real faces of each class: per attribute, the latent of label 0 and of
   * label 1 (`setClassLatents`); NaN or absent: the logit of the clamped label (the training
   * target, logit(0.999) = 6.9 for a 1, far outside where the encoder puts real images).
   */
  private classLatents: { zero: number[]; one: number[] } | null = null;

  constructor(attributes: readonly AttributeInfo[], continuous: ContinuousSupervision = 'bce') {
    const ranges = attributes.map(labelRange);
    this.lo = ranges.map(([lo]) => lo);
    // A constant attribute (min = max) still gets a finite scale.
    this.span = ranges.map(([lo, hi]) => Math.max(1e-12, hi - lo));
    const moments = attributes.map(standardUnits);
    this.mean = moments.map((x) => x.mean);
    this.std = moments.map((x) => x.std);
    this.standardized = attributes.map((a) => a.kind === 'continuous' && continuous === 'mse');
    this.binary = attributes.map((a) => a.kind === 'binary');
  }

  /**
   * The latents do(a = 0) and do(a = 1) set for binary attributes (per attribute, m each; NaN
   * leaves an attribute on the logit scale), or null for the logit scale everywhere.
   */
  setClassLatents(c: { zero: ArrayLike<number>; one: ArrayLike<number> } | null): void {
    this.classLatents = c ? { zero: Array.from(c.zero), one: Array.from(c.one) } : null;
  }

  /** The class latents of binary attribute i, or null where it has none. */
  classLatentsOf(i: number): { zero: number; one: number } | null {
    const c = this.classLatents;
    if (!c || !this.binary[i]) return null;
    const zero = c.zero[i];
    const one = c.one[i];
    return Number.isFinite(zero) && Number.isFinite(one) ? { zero, one } : null;
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

  /**
   * The causal latent that encodes label value v of attribute i. A binary attribute with class
   * latents goes linearly from its class-0 latent (v = 0) to its class-1 latent (v = 1), values in
   * between (an editor's slider) in between, values outside clamped to them.
   */
  toLatent(i: number, v: number): number {
    if (this.standardized[i]) return (v - this.mean[i]) / this.std[i];
    const c = this.classLatentsOf(i);
    if (c) {
      const s = Math.min(1, Math.max(0, (v - this.lo[i]) / this.span[i]));
      return c.zero + s * (c.one - c.zero);
    }
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
