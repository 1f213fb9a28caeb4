/**
 * The evaluation section for real, labelled images with binary attributes (CelebA faces): the
 * counterfactuals `readCounterfactuals` made (each held-out face gets do(a = 1 - its label)),
 * split by direction and read per attribute. For every binary attribute a:
 *   - do(a = 1) on the faces labelled 0 and do(a = 0) on the faces labelled 1, each beside the
 *     non-causal edit (only z_a overwritten);
 *   - success: the oracle reads the target on the edited face (95% bootstrap interval, and the
 *     paired causal - non-causal difference on the same faces);
 *   - effects: for every other attribute, the mean signed shift of the oracle's probability on
 *     the edit against the reconstruction G(E(x)) (interval, paired difference), and the shares
 *     of faces whose oracle reading (at 0.5) stays the face's own (kept) and stays the
 *     reconstruction's (unchanged: the edit's own doing); descendants are those of a in
 *     the learned graph (standardized effect > EDGE_THRESHOLD); `intended` is the shift of the model's own
 *     latents under the causal edit, i.e. the direction of the learned edges;
 *   - identity: pixel L1 ([0, 1] units) and SSIM between the face and its counterfactual, and the
 *     share of (face, non-descendant) pairs whose oracle reading is unchanged.
 * Once per face: reconstructions keep each attribute (the oracle reads the same on x and
 * G(E(x))). Composition (the null intervention returns the input) is the axioms section's
 * (axioms.ts), for every kind of data.
 */
import { descendants, EDGE_THRESHOLD } from '../causal/graph.ts';
import * as torch from '../torch/index.ts';
import type { Interval, PairedInterval } from './bootstrap.ts';
import type { AttributeCounterfactuals, EvalContext } from './context.ts';

/** Threshold on |A[i][j]| above which an edge counts as learned (as the editor draws it). */
export { EDGE_THRESHOLD };

export interface AttributeEffect {
  /** oracle probability on the edited face minus on the reconstruction */
  causal: Interval | null;
  nonCausal: Interval | null;
  difference: PairedInterval | null;
  /** share of faces whose oracle reading (at 0.5) on the edit equals the one on the face */
  keptCausal: number | null;
  keptNonCausal: number | null;
  /**
   * share of faces whose oracle reading on the edit equals the one on the reconstruction
   * G(E(x)): what the edit itself changed, apart from what inversion already lost
   */
  unchangedCausal: number | null;
  unchangedNonCausal: number | null;
}

export interface BinaryEditRow {
  attribute: string;
  target: 0 | 1;
  /** faces edited: the held-out faces labelled 1 - target */
  n: number;
  /** descendants of the attribute in the learned graph (standardized effect > EDGE_THRESHOLD), and the rest */
  descendants: string[];
  nonDescendants: string[];
  success: { causal: Interval | null; nonCausal: Interval | null; difference: PairedInterval | null };
  /** every other attribute of the model */
  effects: Record<string, AttributeEffect>;
  /** mean shift of every other attribute in the model's own causal latents (label units) */
  intended: Record<string, number | null>;
  identity: Record<
    'causal' | 'nonCausal',
    {
      pixelL1: Interval | null;
      ssim: Interval | null;
      /** share of (face, non-descendant) pairs read the same on face and edit; null if none */
      nonDescendantAgreement: number | null;
    }
  >;
}

export interface BinaryEditsResult {
  /** held-out faces read */
  n: number;
  edgeThreshold: number;
  rows: BinaryEditRow[];
  reconstruction: {
    /** per attribute: share of faces the oracle reads the same on x and G(E(x)) */
    kept: Record<string, number>;
    /** share of faces with every attribute kept */
    allKept: number;
  };
}

const mean = (xs: ArrayLike<number>): number | null => {
  if (xs.length === 0) return null;
  let s = 0;
  for (let k = 0; k < xs.length; k++) s += xs[k];
  return s / xs.length;
};

/**
 * The section: null when the data has no binary attribute or is a world (whose exact
 * counterfactuals the interventions section already judges against).
 */
export function binaryEditSection(
  ctx: EvalContext,
  cfs: AttributeCounterfactuals[],
): BinaryEditsResult | null {
  const { model, n, m, names, boot } = ctx;
  const binary = names.map((_, i) => ctx.test.attributes[i].kind === 'binary');
  if (ctx.world || !binary.some(Boolean)) return null;
  const real = ctx.real.values;
  const recon = ctx.reconstruction.values;
  const read = (p: ArrayLike<number>, r: number, j: number) => (p[r * m + j] > 0.5 ? 1 : 0);
  // edges by their standardized effect (one meaning of the threshold: causal/graph.ts EDGE_THRESHOLD)
  const effect = model.prior.standardizedEffects();
  const A = model.prior
    .adjacencyArray()
    .map((row, i) => row.map((v, j) => (effect[i][j] > EDGE_THRESHOLD ? v : 0)));
  // the model's own attribute values of each face before any edit (label units)
  const factual = torch.scope(() =>
    torch.noGrad(() => model.latentToLabels(ctx.mu.slice(1, 0, m)).toFloat32Array()),
  );

  const rows: BinaryEditRow[] = [];
  for (const cf of cfs) {
    const i = cf.attribute;
    if (!binary[i]) continue;
    const desc = descendants(A, i);
    const nonDesc = names.map((_, j) => j).filter((j) => j !== i && !desc.includes(j));
    const others = names.map((_, j) => j).filter((j) => j !== i);
    for (const target of [1, 0] as const) {
      const faces = Array.from({ length: n }, (_, r) => r).filter((r) => cf.targets[r] === target);
      const per = (kind: 'causal' | 'nonCausal', f: (p: Float32Array, r: number) => number) =>
        Float64Array.from(faces, (r) => f(cf[kind].values, r));
      const hit = (p: Float32Array, r: number) => (read(p, r, i) === target ? 1 : 0);
      const success = { causal: per('causal', hit), nonCausal: per('nonCausal', hit) };
      const effects: Record<string, AttributeEffect> = {};
      const intended: Record<string, number | null> = {};
      for (const j of others) {
        const shift = (p: Float32Array, r: number) => p[r * m + j] - recon[r * m + j];
        const kept = (p: Float32Array, r: number) => (read(p, r, j) === read(real, r, j) ? 1 : 0);
        const unchanged = (p: Float32Array, r: number) => (read(p, r, j) === read(recon, r, j) ? 1 : 0);
        const c = per('causal', shift);
        const nc = per('nonCausal', shift);
        effects[names[j]] = {
          causal: boot.mean(c),
          nonCausal: boot.mean(nc),
          difference: boot.pairedDifference(c, nc),
          keptCausal: mean(per('causal', kept)),
          keptNonCausal: mean(per('nonCausal', kept)),
          unchangedCausal: mean(per('causal', unchanged)),
          unchangedNonCausal: mean(per('nonCausal', unchanged)),
        };
        intended[names[j]] = mean(faces.map((r) => cf.modelValues[r * m + j] - factual[r * m + j]));
      }
      const identity = (kind: 'causal' | 'nonCausal') => {
        const id = cf[kind].identity!;
        const agree: number[] = [];
        for (const r of faces)
          for (const j of nonDesc) agree.push(read(cf[kind].values, r, j) === read(real, r, j) ? 1 : 0);
        return {
          pixelL1: boot.mean(Float64Array.from(faces, (r) => id.pixelL1[r])),
          ssim: boot.mean(Float64Array.from(faces, (r) => id.ssim[r])),
          nonDescendantAgreement: mean(agree),
        };
      };
      rows.push({
        attribute: names[i],
        target,
        n: faces.length,
        descendants: desc.map((j) => names[j]),
        nonDescendants: nonDesc.map((j) => names[j]),
        success: {
          causal: boot.mean(success.causal),
          nonCausal: boot.mean(success.nonCausal),
          difference: boot.pairedDifference(success.causal, success.nonCausal),
        },
        effects,
        intended,
        identity: { causal: identity('causal'), nonCausal: identity('nonCausal') },
      });
    }
  }

  const keptCount = new Array<number>(m).fill(0);
  let allKept = 0;
  for (let r = 0; r < n; r++) {
    let all = 1;
    for (let j = 0; j < m; j++) {
      const same = read(real, r, j) === read(recon, r, j) ? 1 : 0;
      keptCount[j] += same;
      all &= same;
    }
    allKept += all;
  }
  return {
    n,
    edgeThreshold: EDGE_THRESHOLD,
    rows,
    reconstruction: {
      kept: Object.fromEntries(names.map((a, j) => [a, keptCount[j] / Math.max(1, n)])),
      allKept: allKept / Math.max(1, n),
    },
  };
}

/** The figures `ccig eval` prints and docs/results/celeba.md reads, from a section's result. */
export function binaryEditSummary(e: BinaryEditsResult): Record<string, number | null> {
  const avg = (xs: (number | null | undefined)[]) =>
    mean(xs.filter((v): v is number => typeof v === 'number'));
  const out: Record<string, number | null> = {};
  for (const kind of ['causal', 'nonCausal'] as const) {
    out[`${kind}.success`] = avg(e.rows.map((r) => r.success[kind]?.mean));
    out[`${kind}.ssim`] = avg(e.rows.map((r) => r.identity[kind].ssim?.mean));
    out[`${kind}.pixelL1`] = avg(e.rows.map((r) => r.identity[kind].pixelL1?.mean));
    out[`${kind}.nonDescendantAgreement`] = avg(e.rows.map((r) => r.identity[kind].nonDescendantAgreement));
  }
  out['reconstruction.allKept'] = e.reconstruction.allKept;
  return out;
}
