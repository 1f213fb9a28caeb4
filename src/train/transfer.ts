/**
 * Starting a model with one attribute set from a trained model with another (same networks, same
 * latent size): only which latent dimension carries which attribute differs. Each target
 * attribute the source has keeps its dimension; the others take the source's unused dimensions
 * (its other attributes' first, then free ones), and the target's free dimensions the rest. Every
 * layer that reads or writes z (the generator's first layer, the encoder's head, the
 * discriminator's z branch) is then the source's with its latent axis permuted, so G(z) of the
 * target equals G of the source at the permuted z. The prior and the class latents stay the
 * target's own: it learns its graph's weights, and `ccig calibrate` measures class latents after.
 */
import type { Ccig } from '../model/ccig.ts';
import { CLASS_LATENTS } from '../model/ccig.ts';
import * as torch from '../torch/index.ts';

/** Per target latent dimension, the source dimension it takes (a permutation of 0..zDim-1). */
export function latentPermutation(
  source: readonly string[],
  target: readonly string[],
  zDim: number,
): number[] {
  const taken = new Set(target.map((name) => source.indexOf(name)).filter((i) => i >= 0));
  const spare = Array.from({ length: zDim }, (_, i) => i).filter((i) => !taken.has(i));
  const causal = target.map((name) => {
    const i = source.indexOf(name);
    return i >= 0 ? i : (spare.shift() as number);
  });
  return [...causal, ...spare];
}

/** State-dict entries that read (columns) or write (rows) z, and the axis that is z's. */
const LATENT_AXES: Record<string, { dim: number; meanAndLogvar?: true }> = {
  'generator.fc1.weight': { dim: 1 },
  'encoder.head.weight': { dim: 0, meanAndLogvar: true },
  'encoder.head.bias': { dim: 0, meanAndLogvar: true },
  'discriminator.z_fc1.weight_orig': { dim: 1 },
  'discriminator.z_fc1.weight_v': { dim: 0 }, // spectral norm's input-space vector
};

/**
 * Copies the source's networks into the target with the latent axis permuted; returns the
 * permutation. Both must have the same net (shapes) and latent size.
 */
export function transferWeights(source: Ccig, target: Ccig): number[] {
  if (source.zDim !== target.zDim) {
    throw new Error(`latent sizes differ: ${source.zDim} (source) vs ${target.zDim} (target)`);
  }
  const perm = latentPermutation(
    source.attributes.map((a) => a.name),
    target.attributes.map((a) => a.name),
    target.zDim,
  );
  const own = target.stateDict();
  torch.noGrad(() => {
    for (const [key, t] of Object.entries(source.stateDict())) {
      if (key.startsWith('prior.') || key === CLASS_LATENTS) continue;
      const into = own[key];
      if (!into) throw new Error(`the target model has no ${key}: the networks differ`);
      const axis = LATENT_AXES[key];
      if (!axis) {
        into.copy_(t);
        continue;
      }
      // the encoder's head is [mu; logvar]: both halves permuted alike
      const order = axis.meanAndLogvar ? [...perm, ...perm.map((i) => i + target.zDim)] : perm;
      const index = torch.tensor(BigInt64Array.from(order, BigInt));
      const permuted = t.indexSelect(axis.dim, index);
      into.copy_(permuted);
      permuted.dispose();
      index.dispose();
    }
  });
  return perm;
}
