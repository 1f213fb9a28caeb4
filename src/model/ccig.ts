/**
 * CCIG: a bidirectional GAN whose latent z = [z_c, z_r] carries one causal factor per labelled
 * attribute (z_c, m dims, under the SCM prior) and k free dims (z_r, N(0, I)).
 *
 * Label space and latent space (SPEC.md section 3): a binary label, and a continuous one under
 * `bce` supervision, trains mu_c as the logit of the min-max scaled label, so a label value v
 * maps to the latent logit((v - min) / (max - min)) and back through the sigmoid. A continuous
 * label under `mse` supervision trains mu_c as the label in standardized units, (v - mean) / std,
 * and maps back affinely.
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

/**
 * Mean and standard deviation of an attribute's labels; for attributes recorded without them
 * (older checkpoints and caches), those of a uniform distribution over the label range.
 */
function standardUnits(a: AttributeInfo): { mean: number; std: number } {
  if (a.kind === 'binary') return { mean: 0, std: 1 };
  if (a.mean !== undefined && a.std !== undefined && a.std > 0) return { mean: a.mean, std: a.std };
  return { mean: (a.min + a.max) / 2, std: Math.max(1e-12, (a.max - a.min) / Math.sqrt(12)) };
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
  private readonly labelMin: Tensor;
  private readonly labelRange: Tensor;
  private readonly labelMean: Tensor;
  private readonly labelStd: Tensor;
  /** [m] 1 where the attribute is supervised by MSE in standardized units, 0 where by BCE */
  private readonly mseColumns: Tensor;
  private readonly mse: boolean[];

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
    const moments = attributes.map(standardUnits);
    this.labelMean = torch.keep(torch.tensor(moments.map((x) => x.mean)));
    this.labelStd = torch.keep(torch.tensor(moments.map((x) => x.std)));
    const mode = config.train.continuousSupervision ?? 'bce';
    this.mse = attributes.map((a) => a.kind === 'continuous' && mode === 'mse');
    this.mseColumns = torch.keep(torch.tensor(this.mse.map((b) => (b ? 1 : 0))));
  }

  /** Labels [B, m] -> BCE targets in [0, 1] (min-max scaled). */
  labelTargets(labels: Tensor): Tensor {
    return labels.sub(this.labelMin).div(this.labelRange).clamp(0, 1);
  }

  /** Labels [B, m] -> standardized units (v - mean) / std. */
  standardizedLabels(labels: Tensor): Tensor {
    return labels.sub(this.labelMean).div(this.labelStd);
  }

  /**
   * Per-element supervision loss [B, m] of the causal latents mu_c against labels y: BCE with
   * logits on min-max targets for binary attributes (and continuous ones under `bce`), squared
   * error in standardized units for continuous attributes under `mse`.
   */
  supervisionLoss(muC: Tensor, labels: Tensor): Tensor {
    const bce = torch.bceWithLogits(muC, this.labelTargets(labels), { reduction: 'none' });
    if (!this.mse.includes(true)) return bce;
    const sq = muC.sub(this.standardizedLabels(labels)).square();
    return torch.where(this.mseColumns.gt(0).unsqueeze(0).expand(bce.shape), sq, bce);
  }

  /** The causal latent that encodes label value v of attribute i. */
  labelToLatent(i: number, v: number): number {
    const a = this.attributes[i];
    if (this.mse[i]) {
      const { mean, std } = standardUnits(a);
      return (v - mean) / std;
    }
    const lo = a.kind === 'binary' ? 0 : a.min;
    const span = a.kind === 'binary' ? 1 : Math.max(1e-12, a.max - a.min);
    const s = Math.min(1 - LABEL_EPS, Math.max(LABEL_EPS, (v - lo) / span));
    return Math.log(s / (1 - s));
  }

  /** Causal latents [B, m] -> label values [B, m]. */
  latentToLabels(zc: Tensor): Tensor {
    const viaSigmoid = zc.sigmoid().mul(this.labelRange).add(this.labelMin);
    if (!this.mse.includes(true)) return viaSigmoid;
    const affine = zc.mul(this.labelStd).add(this.labelMean);
    return torch.where(this.mseColumns.gt(0).unsqueeze(0).expand(zc.shape), affine, viaSigmoid);
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
    for (const t of [this.labelMin, this.labelRange, this.labelMean, this.labelStd, this.mseColumns])
      t.dispose();
  }
}
