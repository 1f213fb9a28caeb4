/**
 * Control by intervention (docs/method.md section 4), on a trained model in eval mode:
 * - `intervene`: do(attribute = value) on samples from the prior, fresh exogenous noise,
 *   descendants follow the learned SCM through every path; free dims z_r kept;
 * - `counterfactual`: encode real images (`invert`, optionally refined), abduct their exogenous
 *   noise, apply do(), decode;
 * - the non-causal edit baseline (set z_i only) returned beside each causal edit;
 * - `traverse`: one attribute over a range of values;
 * - residual edits of real images (`residual`): x + G(z_do) - G(z), so what an edit does not
 *   touch stays the photo's own pixels.
 * Values are in label units (degrees, 0/1, ...): each becomes its latent through the same
 * scaling the encoder was supervised with.
 */

import { labelRange } from '../data/dataset.ts';
import { OptionError } from '../errors.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import type { Ccig } from './ccig.ts';

/** Interventions in label units -> latent units, validating names and values. */
export function latentInterventions(
  model: Ccig,
  interventions: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [i, v] of model.prior.interventionIndices(interventions))
    out[model.config.attributes[i]] = model.labelToLatent(i, v);
  return out;
}

/** z_c with the intervened columns overwritten and nothing else changed (the baseline). */
export function nonCausalEdit(model: Ccig, zc: Tensor, latent: Record<string, number>): Tensor {
  const m = model.m;
  const mask = new Array<number>(m).fill(1);
  const values = new Array<number>(m).fill(0);
  for (const [i, v] of model.prior.interventionIndices(latent)) {
    mask[i] = 0;
    values[i] = v;
  }
  return zc.mul(torch.tensor(mask)).add(torch.tensor(values));
}

export interface EditImages {
  /** images before the edit (samples, or reconstructions of the inputs) [B, 3, S, S] */
  factual: Tensor;
  /** do() with propagation through the learned graph */
  causal: Tensor;
  /** only the intervened latents changed */
  nonCausal: Tensor;
  /** the causal latents behind each, in label units [B, m] */
  labels: { factual: Tensor; causal: Tensor; nonCausal: Tensor };
}

function decodeAll(
  model: Ccig,
  zr: Tensor | undefined,
  zcs: { factual: Tensor; causal: Tensor; nonCausal: Tensor },
): EditImages {
  return {
    factual: model.decode(model.join(zcs.factual, zr)),
    causal: model.decode(model.join(zcs.causal, zr)),
    nonCausal: model.decode(model.join(zcs.nonCausal, zr)),
    labels: {
      factual: model.latentToLabels(zcs.factual),
      causal: model.latentToLabels(zcs.causal),
      nonCausal: model.latentToLabels(zcs.nonCausal),
    },
  };
}

/**
 * Interventional sampling: n samples with fresh exogenous noise, each decoded as drawn
 * (factual), under do() (causal) and with the non-causal edit.
 * @example intervene(model, { light_angle: 120 }, 8)
 */
export function intervene(model: Ccig, interventions: Record<string, number>, n: number): EditImages {
  const latent = latentInterventions(model, interventions);
  return torch.noGrad(() => {
    const eps = torch.randn([n, model.m]);
    const zr = model.k > 0 ? torch.randn([n, model.k]) : undefined;
    const factual = model.prior.generate(eps);
    return decodeAll(model, zr, {
      factual,
      causal: model.prior.intervene(eps, latent),
      nonCausal: nonCausalEdit(model, factual, latent),
    });
  });
}

/** How real images become latents (`invert`). */
export interface InversionOptions {
  /**
   * Adam steps that refine each image's free latents z_r until G(z) matches the image in pixel L1
   * (default 0: the encoder's mean as it is). The causal latents z_c stay the encoder's reading,
   * so do() means what it means without refinement; only what the labels do not name (the
   * person, the background) is fitted. On celeba-smile-small, 100 steps halve the pixel L1 of
   * reconstructions (0.240 to 0.133 on 749 held-out faces) and leave the oracle's reading of the
   * attributes as it was (docs/results/celeba.md, "Refined inversion").
   */
  refine?: number;
  /** the refinement's learning rate (default 0.03) */
  refineLr?: number;
}

/** How real images are edited: their inversion, and whether the edit is applied as a residual. */
export interface RealEditOptions extends InversionOptions {
  /**
   * Residual editing: the edit is x + G(z_do) - G(z), clamped to [-1, 1]: the change the
   * generator makes is added to the photo itself, so what the edit does not touch stays the
   * photo's own pixels rather than the generator's reconstruction. The factual image is then x.
   * Default false (G(z_do)).
   */
  residual?: boolean;
}

/** x + (edited - reconstruction), clamped to the image range [-1, 1]. [B, 3, S, S] */
export function residualEdit(x: Tensor, reconstruction: Tensor, edited: Tensor): Tensor {
  return x.add(edited.sub(reconstruction)).clamp(-1, 1);
}

/** Edit images of real images x as plain decodes, or as residuals on x (`residual`). */
function asResidual(x: Tensor, e: EditImages): EditImages {
  return {
    factual: x.clone(),
    causal: residualEdit(x, e.factual, e.causal),
    nonCausal: residualEdit(x, e.factual, e.nonCausal),
    labels: e.labels,
  };
}

/** What `invert` needs of a model. */
export type Invertible = Pick<Ccig, 'm' | 'k' | 'encode' | 'decode'> & {
  generator: { setTrainable(on: boolean): void; parameters(): Tensor[] };
};

/**
 * Latents z [B, zDim] of real images x [B, 3, S, S] in [-1, 1]: the encoder's mean mu_E(x), with
 * z_r refined by `refine` steps of Adam on |G(z) - x| (encoder-initialised inversion, as GAN
 * inversion methods do; the generator is held fixed).
 */
export function invert(
  model: Invertible,
  x: Tensor,
  { refine = 0, refineLr = 0.03 }: InversionOptions = {},
): Tensor {
  if (!Number.isInteger(refine) || refine < 0)
    throw new OptionError(`Expected a whole number >= 0 of refinement steps but received ${refine}`);
  if (!(refineLr > 0)) throw new OptionError(`Expected a positive refinement rate but received ${refineLr}`);
  const mu = torch.noGrad(() => model.encode(x).mu);
  if (refine === 0 || model.k === 0) return mu;
  const zc = mu.slice(1, 0, model.m);
  const zr = mu.slice(1, model.m).clone().requiresGrad_(true);
  const opt = new torch.optim.Adam([zr], { lr: refineLr });
  const trainable = model.generator.parameters()[0]?.requiresGrad ?? true;
  model.generator.setTrainable(false);
  try {
    torch.enableGrad(() => {
      for (let s = 0; s < refine; s++) {
        // a mean over the batch: Adam's per-element steps make each image's refinement its own
        torch.scope(() =>
          model
            .decode(torch.cat([zc, zr], 1))
            .sub(x)
            .abs()
            .mean()
            .backward(),
        );
        opt.step();
        opt.zeroGrad();
      }
    });
  } finally {
    model.generator.setTrainable(trainable);
    opt.dispose();
  }
  return torch.noGrad(() => torch.cat([zc, zr.detach()], 1));
}

/**
 * Counterfactuals of real images x [B, 3, S, S] in [-1, 1]: z = invert(x) (the encoder's mean,
 * optionally refined); eps = abduct(z_c); do() with that eps; decode keeping z_r. `factual` is
 * the reconstruction G(z); with `residual`, the edits are x + G(z_do) - G(z) and `factual` is x.
 */
export function counterfactual(
  model: Ccig,
  x: Tensor,
  interventions: Record<string, number>,
  { residual = false, ...inversion }: RealEditOptions = {},
): EditImages {
  const latent = latentInterventions(model, interventions);
  const z = invert(model, x, inversion);
  return torch.noGrad(() => {
    const { zc, zr } = model.split(z);
    const eps = model.prior.abduct(zc);
    const e = decodeAll(model, zr, {
      factual: zc,
      causal: model.prior.intervene(eps, latent),
      nonCausal: nonCausalEdit(model, zc, latent),
    });
    return residual ? asResidual(x, e) : e;
  });
}

/** What a per-image edit needs of a model (a Ccig, or a stand-in with known answers in tests). */
export type LatentEditor = Pick<Ccig, 'm' | 'labelToLatent'> & {
  prior: Pick<Ccig['prior'], 'interventionIndices' | 'interveneRows' | 'abduct'>;
};

/**
 * Causal latents for do(attribute = values[b]) with one target per row b (label units), from
 * the causal latents zc [B, m] of encoded images: the causal edit (abduct, intervene through the
 * learned SCM) and the non-causal one (overwrite column i only).
 */
export function editLatentsEach(
  model: LatentEditor,
  zc: Tensor,
  attribute: string,
  values: ArrayLike<number>,
): { causal: Tensor; nonCausal: Tensor } {
  const B = zc.shape[0];
  if (values.length !== B)
    throw new OptionError(
      `Expected ${B} intervention values for '${attribute}' (one per image) but received ${values.length}`,
    );
  const m = model.m;
  const [[i]] = model.prior.interventionIndices({ [attribute]: values[0] ?? 0 });
  const latent = new Float32Array(B * m);
  for (let b = 0; b < B; b++) {
    const [[, v]] = model.prior.interventionIndices({ [attribute]: values[b] }); // validates each
    latent[b * m + i] = model.labelToLatent(i, v);
  }
  const onehot = new Array<number>(m).fill(0);
  onehot[i] = 1;
  return torch.noGrad(() => {
    const rows = torch.tensor(latent, { shape: [B, m] });
    const sel = torch.tensor(onehot).unsqueeze(0);
    return {
      causal: model.prior.interveneRows(model.prior.abduct(zc), [i], rows),
      nonCausal: zc.mul(sel.rsub(1)).add(rows.mul(sel)),
    };
  });
}

/**
 * Counterfactuals of real images x [B, 3, S, S] with one target per image:
 * do(attribute = values[b]) for image b, label units. Otherwise as `counterfactual`.
 * @example counterfactualEach(model, x, 'light_angle', [100, 120, 90])
 */
export function counterfactualEach(
  model: Ccig,
  x: Tensor,
  attribute: string,
  values: ArrayLike<number>,
  { residual = false, ...inversion }: RealEditOptions = {},
): EditImages {
  const z = invert(model, x, inversion);
  return torch.noGrad(() => {
    const { zc, zr } = model.split(z);
    const edits = editLatentsEach(model, zc, attribute, values);
    const e = decodeAll(model, zr, { factual: zc, ...edits });
    return residual ? asResidual(x, e) : e;
  });
}

/**
 * Traversal: for each of n samples, one image per value of `attribute` (label units), causal
 * and non-causal. Returns images [n * values.length, 3, S, S] in row-major order.
 */
export function traverse(
  model: Ccig,
  attribute: string,
  values: readonly number[],
  n: number,
): { causal: Tensor; nonCausal: Tensor } {
  latentInterventions(model, { [attribute]: values[0] ?? 0 }); // validates the name
  return torch.noGrad(() => {
    const eps = torch.randn([n, model.m]);
    const zr = model.k > 0 ? torch.randn([n, model.k]) : undefined;
    const factual = model.prior.generate(eps);
    const causal: Tensor[] = [];
    const nonCausal: Tensor[] = [];
    for (const v of values) {
      const latent = latentInterventions(model, { [attribute]: v });
      causal.push(model.decode(model.join(model.prior.intervene(eps, latent), zr)));
      nonCausal.push(model.decode(model.join(nonCausalEdit(model, factual, latent), zr)));
    }
    const S = model.config.imageSize;
    const arrange = (list: Tensor[]) => torch.stack(list, 1).reshape([n * values.length, 3, S, S]);
    return { causal: arrange(causal), nonCausal: arrange(nonCausal) };
  });
}

/**
 * Evenly spaced values over an attribute's label range (0 and 1 for binary ones: with class
 * latents, where the encoder puts real images of each class). Continuous ranges stop 3% short of
 * their ends: the exact extremes map to latents (logits of 0.001 and 0.999) far outside what the
 * encoder ever produces.
 */
export function attributeRange(model: Pick<Ccig, 'attributes'>, attribute: string, steps: number): number[] {
  const a = model.attributes.find((x) => x.name === attribute);
  if (!a) return [];
  const [min, max] = labelRange(a);
  const inset = a.kind === 'binary' ? 0 : 0.03 * (max - min);
  const [lo, hi] = [min + inset, max - inset];
  return Array.from({ length: steps }, (_, i) => lo + ((hi - lo) * i) / Math.max(1, steps - 1));
}
