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
 *   - identity: pixel L1 ([0, 1] units) and SSIM between the face and its counterfactual, over
 *     the whole image and outside the region the edit changes (context.ts, CHANGE_THRESHOLD),
 *     and the share of (face, non-descendant) pairs whose oracle reading is unchanged;
 *   - realism: the oracle-feature Frechet distance of do(a = t)'s edits to the real held-out
 *     faces labelled t, beside that of the reconstructions of faces labelled t (k of each, k the
 *     smaller count, so the small-sample bias is alike), and their ratio; an edit passes at
 *     ratio <= REALISM_RATIO; the same on the colour layout (mean colour of 8 x 8 blocks), which
 *     a saturated blob that the oracle's features take for a face fails.
 * Once per face: reconstructions keep each attribute (the oracle reads the same on x and
 * G(E(x))). Composition (the null intervention returns the input) is the axioms section's
 * (axioms.ts), for every kind of data.
 */
import { descendants, EDGE_THRESHOLD, threshold } from '../causal/graph.ts';
import * as torch from '../torch/index.ts';
import type { Interval, PairedInterval } from './bootstrap.ts';
import { type AttributeCounterfactuals, type EvalContext, LAYOUT } from './context.ts';
import { frechetDistance } from './feature-distances.ts';

/** Standardized effect above which an edge counts as learned (causal/graph.ts; as the editor draws it). */
export { EDGE_THRESHOLD };

/** An edit is realistic when its Frechet distance is within this factor of the reconstructions' (issue 25). */
export const REALISM_RATIO = 1.25;

/** An edit works when the oracle reads the target on at least this share of faces (issue 14's target). */
export const SUCCESS_TARGET = 0.85;

/** Fewer faces (edited, or of the target class) than this: no Frechet distance (too few rows). */
export const REALISM_MIN_FACES = 10;

/** One Frechet reading of an edit's realism. */
export interface FrechetRealism {
  /** Frechet distance of the causal edits to the real held-out faces of the target class */
  causal: number | null;
  nonCausal: number | null;
  /** the same of reconstructions G(z) of faces of the target class (also for residual edits) */
  reconstruction: number | null;
  /** causal / reconstruction; the edit passes at <= REALISM_RATIO */
  ratio: number | null;
  nonCausalRatio: number | null;
  pass: boolean | null;
}

/**
 * An edit's realism on the oracle's features (what the faces show) and on the colour layout
 * (context.ts `colourLayout`: the mean colour of 8 x 8 blocks, which the oracle's features can
 * miss: a saturated blob of the right shape reads as a face to them). It passes when neither fails.
 */
export interface Realism extends FrechetRealism {
  layout: FrechetRealism | null;
}

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
      /** the same outside the region the edit changes, and that region's complement's share of pixels */
      outside: { pixelL1: Interval | null; ssim: Interval | null; share: number | null };
      /** share of (face, non-descendant) pairs read the same on face and edit; null if none */
      nonDescendantAgreement: number | null;
    }
  >;
  realism: Realism;
  /** success of the causal edit >= SUCCESS_TARGET and realism not failed (no faces: not judged, true) */
  works: boolean;
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
  /** edits made as x + G(z_do) - G(z) */
  residual: boolean;
  realismRatio: number;
  successTarget: number;
  /** per attribute: both of its edits work (success and realism); what an editor should offer */
  editable: Record<string, boolean>;
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
  const d = ctx.oracle.featureDim;
  const binary = names.map((_, i) => ctx.test.attributes[i].kind === 'binary');
  if (ctx.world || !binary.some(Boolean)) return null;
  const real = ctx.real.values;
  const recon = ctx.reconstruction.values;
  const read = (p: ArrayLike<number>, r: number, j: number) => (p[r * m + j] > 0.5 ? 1 : 0);
  // the learned graph: edges by their standardized effect (the one meaning of EDGE_THRESHOLD)
  const A = threshold(model.prior.standardizedEffects(), EDGE_THRESHOLD);
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
        const defined = (v: Float64Array) => Float64Array.from(faces, (r) => v[r]).filter(Number.isFinite);
        return {
          pixelL1: boot.mean(Float64Array.from(faces, (r) => id.pixelL1[r])),
          ssim: boot.mean(Float64Array.from(faces, (r) => id.ssim[r])),
          outside: {
            pixelL1: boot.mean(defined(id.outside.pixelL1)),
            ssim: boot.mean(defined(id.outside.ssim)),
            share: mean(Float64Array.from(faces, (r) => id.outside.share[r])),
          },
          nonDescendantAgreement: mean(agree),
        };
      };
      // realism against the real faces of the target class: k edits beside k reconstructions of
      // faces of that class (k the smaller count, so the small-sample bias is alike)
      const targetFaces = Array.from({ length: n }, (_, r) => r).filter((r) => cf.targets[r] === 1 - target);
      const k = Math.min(faces.length, targetFaces.length);
      const judge = (
        pick: (r: { features: Float32Array; layout?: Float32Array }) => Float32Array | undefined,
        dim: number,
      ): FrechetRealism | null => {
        const [real, causal, nonCausal, decoded] = [ctx.real, cf.causal, cf.nonCausal, ctx.decoded].map(pick);
        if (!real || !causal || !nonCausal || !decoded) return null;
        const rowsOf = (f: Float32Array, rows: number[]) =>
          rows.map((r) => f.subarray(r * dim, (r + 1) * dim));
        const reference = rowsOf(real, targetFaces);
        const frechet = (f: Float32Array, rows: number[]) =>
          k >= REALISM_MIN_FACES ? frechetDistance(reference, rowsOf(f, rows.slice(0, k))) : null;
        const fd = {
          causal: frechet(causal, faces),
          nonCausal: frechet(nonCausal, faces),
          // the plain reconstructions G(z) also for residual edits (whose null edit is the face)
          reconstruction: frechet(decoded, targetFaces),
        };
        const ratio = (v: number | null) =>
          v !== null && fd.reconstruction !== null && fd.reconstruction > 0 ? v / fd.reconstruction : null;
        const r = ratio(fd.causal);
        return {
          ...fd,
          ratio: r,
          nonCausalRatio: ratio(fd.nonCausal),
          pass: r === null ? null : r <= REALISM_RATIO,
        };
      };
      const onFeatures = judge((r) => r.features, d)!;
      const layout = judge((r) => r.layout, 3 * LAYOUT * LAYOUT);
      const realism: Realism = {
        ...onFeatures,
        pass:
          onFeatures.pass === false || layout?.pass === false
            ? false
            : onFeatures.pass === null && (layout?.pass ?? null) === null
              ? null
              : true,
        layout,
      };
      const successCausal = boot.mean(success.causal);
      rows.push({
        attribute: names[i],
        target,
        n: faces.length,
        descendants: desc.map((j) => names[j]),
        nonDescendants: nonDesc.map((j) => names[j]),
        success: {
          causal: successCausal,
          nonCausal: boot.mean(success.nonCausal),
          difference: boot.pairedDifference(success.causal, success.nonCausal),
        },
        effects,
        intended,
        identity: { causal: identity('causal'), nonCausal: identity('nonCausal') },
        realism,
        // a direction with no faces to edit is not judged
        works: (successCausal === null || successCausal.mean >= SUCCESS_TARGET) && realism.pass !== false,
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
  const editable: Record<string, boolean> = {};
  for (const r of rows) editable[r.attribute] = (editable[r.attribute] ?? true) && r.works;
  return {
    n,
    edgeThreshold: EDGE_THRESHOLD,
    rows,
    reconstruction: {
      kept: Object.fromEntries(names.map((a, j) => [a, keptCount[j] / Math.max(1, n)])),
      allKept: allKept / Math.max(1, n),
    },
    residual: ctx.residual,
    realismRatio: REALISM_RATIO,
    successTarget: SUCCESS_TARGET,
    editable,
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
    out[`${kind}.ssimOutside`] = avg(e.rows.map((r) => r.identity[kind].outside.ssim?.mean));
    out[`${kind}.pixelL1Outside`] = avg(e.rows.map((r) => r.identity[kind].outside.pixelL1?.mean));
    out[`${kind}.pixelL1`] = avg(e.rows.map((r) => r.identity[kind].pixelL1?.mean));
    out[`${kind}.nonDescendantAgreement`] = avg(e.rows.map((r) => r.identity[kind].nonDescendantAgreement));
  }
  out['reconstruction.allKept'] = e.reconstruction.allKept;
  out['realism.pass'] = e.rows.filter((r) => r.realism.pass === true).length;
  out['realism.judged'] = e.rows.filter((r) => r.realism.pass !== null).length;
  return out;
}
