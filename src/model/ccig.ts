/**
 * CCIG: a bidirectional GAN whose latent z = [z_c, z_r] carries one causal factor per labelled
 * attribute (z_c, m dims, under the SCM prior) and k free dims (z_r, N(0, I)).
 *
 * Label space and latent space: the encoder's mu_c is trained as the logit of the min-max
 * scaled label (SPEC.md section 3), so a label value v maps to the latent logit((v - min) /
 * (max - min)) and back through the sigmoid.
 */

import { ScmPrior } from '../causal/scm.ts';
import type { AttributeInfo } from '../data/dataset.ts';
import { OptionError } from '../errors.ts';
import * as torch from '../torch/index.ts';
import { nn, type Tensor } from '../torch/index.ts';
import { type CcigConfig, latentDim } from './config.ts';
import { DearDiscriminator, DearEncoder, DearGenerator } from './dear.ts';
import { Discriminator } from './discriminator.ts';
import { Encoder } from './encoder.ts';
import { Generator } from './generator.ts';

/** E(x) -> q(z | x): encoder.ts's conv stages or DEAR's ResNet (config.net.arch). */
export type ImageEncoder = Encoder | DearEncoder;
/** G(z) -> x in [-1, 1]. */
export type ImageGenerator = Generator | DearGenerator;
/** D(x, z) -> logits [B]. */
export type JointDiscriminator = Discriminator | DearDiscriminator;

/** Keeps scaled labels away from 0 and 1 so their logits stay finite. */
const LABEL_EPS = 1e-3;

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
  private readonly labelMin: Tensor;
  private readonly labelRange: Tensor;

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
    this.labelMin = torch.keep(torch.tensor(attributes.map((a) => (a.kind === 'binary' ? 0 : a.min))));
    this.labelRange = torch.keep(
      torch.tensor(attributes.map((a) => (a.kind === 'binary' ? 1 : Math.max(1e-12, a.max - a.min)))),
    );
  }

  /** Labels [B, m] -> supervision targets in [0, 1]. */
  labelTargets(labels: Tensor): Tensor {
    return labels.sub(this.labelMin).div(this.labelRange).clamp(0, 1);
  }

  /** The causal latent that encodes label value v of attribute i. */
  labelToLatent(i: number, v: number): number {
    const a = this.attributes[i];
    const lo = a.kind === 'binary' ? 0 : a.min;
    const span = a.kind === 'binary' ? 1 : Math.max(1e-12, a.max - a.min);
    const s = Math.min(1 - LABEL_EPS, Math.max(LABEL_EPS, (v - lo) / span));
    return Math.log(s / (1 - s));
  }

  /** Causal latents [B, m] -> label values [B, m]. */
  latentToLabels(zc: Tensor): Tensor {
    return zc.sigmoid().mul(this.labelRange).add(this.labelMin);
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

  /** Frees the weights and the label scale (kept tensors that are not buffers). */
  override dispose(): void {
    super.dispose();
    this.labelMin.dispose();
    this.labelRange.dispose();
  }
}
