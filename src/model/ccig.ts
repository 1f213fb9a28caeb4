/**
 * CCIG: a bidirectional GAN whose latent z = [z_c, z_r] carries one causal factor per labelled
 * attribute (z_c, m dims, under the SCM prior) and k free dims (z_r, N(0, I)).
 *
 * Label space and latent space (docs/method.md section 3; the scale is label-scale.ts): a binary label,
 * and a continuous one under `bce` supervision, trains mu_c as the logit of the min-max scaled
 * label; a continuous label under `mse` supervision trains mu_c as the label in standardized units.
 */

import { ScmPrior } from '../causal/scm.ts';
import type { AttributeInfo, Dataset } from '../data/dataset.ts';
import { OptionError } from '../errors.ts';
import * as torch from '../torch/index.ts';
import { type Device, nn, type Tensor } from '../torch/index.ts';
import { type CcigConfig, latentDim } from './config.ts';
import { DearDiscriminator, DearEncoder, DearGenerator } from './dear.ts';
import { Discriminator } from './discriminator.ts';
import { Encoder } from './encoder.ts';
import { Generator } from './generator.ts';
import { LabelScale } from './label-scale.ts';

/** E(x) -> q(z | x): encoder.ts's conv stages or DEAR's ResNet (config.net.arch). */
export type ImageEncoder = Encoder | DearEncoder;
/** G(z) -> x in [-1, 1]. */
export type ImageGenerator = Generator | DearGenerator;
/** D(x, z) -> logits [B]. */
export type JointDiscriminator = Discriminator | DearDiscriminator;

/**
 * State-dict name of the class latents [2, m]: row 0 the latent do(a = 0) sets, row 1 the one
 * do(a = 1) sets (binary attributes; NaN elsewhere). Present only in calibrated models
 * (`calibrateClassLatents`, `ccig calibrate`), so weights-only checkpoints carry them and older
 * checkpoints load as they were.
 */
export const CLASS_LATENTS = 'class_latents';

/** Per binary attribute, where the encoder puts real images of each class. */
export interface ClassLatents {
  /** per attribute (m): the median of mu_c over images labelled 0; NaN for continuous ones */
  zero: number[];
  /** the same over images labelled 1 */
  one: number[];
  /** images of each class the medians are over, per attribute */
  counts: { zero: number[]; one: number[] };
}

export class Ccig extends nn.Module {
  readonly encoder: ImageEncoder;
  readonly generator: ImageGenerator;
  readonly discriminator: JointDiscriminator;
  readonly prior: ScmPrior;
  /** number of causal factors */
  readonly m: number;
  /** number of free dims */
  readonly k: number;
  readonly zDim: number;
  /** label units <-> the unit scale and the causal latents */
  readonly labelScale: LabelScale;

  constructor(
    readonly config: CcigConfig,
    /** label kinds and ranges, in config.attributes order */
    readonly attributes: readonly AttributeInfo[],
  ) {
    super();
    if (attributes.map((a) => a.name).join() !== config.attributes.join())
      throw new OptionError(
        `model attributes [${config.attributes}] do not match the data's [${attributes.map((a) => a.name)}]`,
      );
    this.m = config.attributes.length;
    this.k = config.zFree;
    this.zDim = latentDim(config);
    const { imageSize, net } = config;
    if (net.arch === 'dear') {
      const o = {
        imageSize,
        zDim: this.zDim,
        channels: net.channels,
        encFc: net.fc,
        disFc: net.dFc,
        resnet: net.resnet ?? 50,
        resnetWidth: net.resnetWidth ?? 64,
      };
      this.encoder = this.registerModule('encoder', new DearEncoder(o));
      this.generator = this.registerModule('generator', new DearGenerator(o));
      this.discriminator = this.registerModule('discriminator', new DearDiscriminator(o));
    } else {
      const o = { imageSize, zDim: this.zDim, channels: net.channels, fc: net.fc };
      this.encoder = this.registerModule('encoder', new Encoder(o));
      this.generator = this.registerModule('generator', new Generator(o));
      this.discriminator = this.registerModule(
        'discriminator',
        new Discriminator({ ...o, fc: net.dFc, jointFc: net.dJointFc }),
      );
    }
    this.prior = this.registerModule(
      'prior',
      new ScmPrior({
        nodes: config.attributes,
        mode: config.scm.structure,
        edges: config.scm.edges,
        mechanism: config.scm.mechanism,
        parents: config.scm.parents,
      }),
    );
    this.labelScale = new LabelScale(attributes, config.train.continuousSupervision ?? 'bce');
  }

  /** Labels [B, m] -> BCE targets in [0, 1] (min-max scaled). */
  labelTargets(labels: Tensor): Tensor {
    return this.labelScale.toUnit(labels).clamp(0, 1);
  }

  /** Labels [B, m] -> standardized units (v - mean) / std. */
  standardizedLabels(labels: Tensor): Tensor {
    return this.labelScale.standardize(labels);
  }

  /**
   * Per-element supervision loss [B, m] of the causal latents mu_c against labels y: BCE with
   * logits on min-max targets for binary attributes (and continuous ones under `bce`), squared
   * error in standardized units for continuous attributes under `mse`.
   */
  supervisionLoss(muC: Tensor, labels: Tensor): Tensor {
    const bce = torch.bceWithLogits(muC, this.labelTargets(labels), { reduction: 'none' });
    if (!this.labelScale.standardized.includes(true)) return bce;
    const sq = muC.sub(this.standardizedLabels(labels)).square();
    return torch.where(this.labelScale.standardizedMask(bce), sq, bce);
  }

  /** The class latents do() uses for binary attributes, or null (the logit scale). */
  classLatents(): { zero: number[]; one: number[] } | null {
    if (!this.namedBuffers().some(([n]) => n === CLASS_LATENTS)) return null;
    const v = torch.scope(() => this.buffer(CLASS_LATENTS).to('cpu').toFloat32Array());
    return { zero: Array.from(v.subarray(0, this.m)), one: Array.from(v.subarray(this.m)) };
  }

  /**
   * Sets the latents do(a = 0) and do(a = 1) set for binary attributes; kept as a buffer, so
   * checkpoints carry them.
   */
  setClassLatents(c: { zero: ArrayLike<number>; one: ArrayLike<number> }): void {
    if (c.zero.length !== this.m || c.one.length !== this.m)
      throw new OptionError(
        `class latents need ${this.m} values per class, got ${c.zero.length} and ${c.one.length}`,
      );
    const t = torch.tensor([...Array.from(c.zero), ...Array.from(c.one)], { shape: [2, this.m] });
    const device = (this.parameters()[0]?.device ?? 'cpu') as Device;
    this.registerBuffer(CLASS_LATENTS, device === 'cpu' ? t : t.to(device));
    this.labelScale.setClassLatents(c);
  }

  /** Loads weights; a state dict with class latents gives them to do() (older ones: the logit scale). */
  override loadStateDict(sd: Record<string, Tensor>, opts: { strict?: boolean } = {}): void {
    const c = sd[CLASS_LATENTS];
    if (c && !this.namedBuffers().some(([n]) => n === CLASS_LATENTS))
      this.registerBuffer(CLASS_LATENTS, torch.zeros(c.shape));
    super.loadStateDict(sd, opts);
    this.labelScale.setClassLatents(c ? this.classLatents() : null);
  }

  /**
   * Where the encoder puts real images of each class: for every binary attribute, the median of
   * the encoder's mu_c over the given images labelled 0 and over those labelled 1 (eval mode, no
   * flips). Computes only; `setClassLatents` puts them to use.
   */
  computeClassLatents(data: Dataset, indices: readonly number[]): ClassLatents {
    const m = this.m;
    const { values } = this.causalLatents(data, indices);
    const labels = new Float32Array(indices.length * m);
    for (let start = 0; start < indices.length; start += 256) {
      const chunk = indices.slice(start, start + 256);
      labels.set(data.batch(chunk).labels, start * m);
    }
    const out: ClassLatents = { zero: [], one: [], counts: { zero: [], one: [] } };
    for (let i = 0; i < m; i++) {
      const byClass: [number[], number[]] = [[], []];
      if (this.attributes[i].kind === 'binary')
        for (let r = 0; r < indices.length; r++)
          byClass[labels[r * m + i] > 0.5 ? 1 : 0].push(values[r * m + i]);
      out.zero.push(median(byClass[0]));
      out.one.push(median(byClass[1]));
      out.counts.zero.push(byClass[0].length);
      out.counts.one.push(byClass[1].length);
    }
    return out;
  }

  /** The causal latent that encodes label value v of attribute i. */
  labelToLatent(i: number, v: number): number {
    return this.labelScale.toLatent(i, v);
  }

  /** Causal latents [B, m] -> label values [B, m]. */
  latentToLabels(zc: Tensor): Tensor {
    return this.labelScale.latentToLabels(zc);
  }

  /** z = [z_c from the SCM prior, z_r ~ N(0, I)]. [B, zDim] */
  sampleLatent(batch: number): Tensor {
    const zc = this.prior.sample(batch);
    return this.k > 0 ? torch.cat([zc, torch.randn([batch, this.k])], 1) : zc;
  }

  /** Splits z [B, zDim] into { zc [B, m], zr [B, k] }. */
  split(z: Tensor): { zc: Tensor; zr: Tensor | undefined } {
    return { zc: z.slice(1, 0, this.m), zr: this.k > 0 ? z.slice(1, this.m) : undefined };
  }

  /** Joins causal and free parts back into z. */
  join(zc: Tensor, zr: Tensor | undefined): Tensor {
    return zr ? torch.cat([zc, zr], 1) : zc;
  }

  encode(x: Tensor): { mu: Tensor; logvar: Tensor } {
    return this.encoder.forward(x);
  }

  decode(z: Tensor): Tensor {
    return this.generator.forward(z);
  }

  /**
   * The causal latents mu_c of some examples of a dataset, read in eval mode without gradients,
   * with each row's regime: values and intervened are [indices.length, m], row-major.
   */
  causalLatents(data: Dataset, indices: readonly number[]): { values: Float32Array; intervened: Uint8Array } {
    const m = this.m;
    const S = data.imageSize;
    const values = new Float32Array(indices.length * m);
    const intervened = new Uint8Array(indices.length * m);
    const wasTraining = this.training;
    this.eval();
    try {
      for (let start = 0; start < indices.length; start += 64) {
        const chunk = indices.slice(start, start + 64);
        const b = data.batch(chunk);
        const mu = torch.scope(() =>
          torch.noGrad(() =>
            this.encode(torch.tensor(b.images, { shape: [chunk.length, 3, S, S] }))
              .mu.slice(1, 0, m)
              .toFloat32Array(),
          ),
        );
        values.set(mu, start * m);
        intervened.set(b.intervened, start * m);
      }
    } finally {
      if (wasTraining) this.train();
    }
    return { values, intervened };
  }
}

/** Median of a list; NaN for an empty one. */
function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}
