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
import { nn, type Tensor } from '../torch/index.ts';
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
