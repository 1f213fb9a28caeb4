/**
 * The interventions section: counterfactuals of every evaluated test image under do(factor =
 * its own target), read by the oracle, the causal edit beside the non-causal one. Every figure
 * carries a bootstrap 95% interval over images, and every causal - non-causal difference a paired
 * interval (significant when it excludes 0).
 * - worlds: errors against the world's exact counterfactual (factors, and the re-rendered image);
 * - labelled data: how often / how closely the intervened attribute reaches its target, and how
 *   far the other attributes move from the reconstruction's reading.
 */
import { descendants as graphDescendants } from '../causal/graph.ts';
import type { Interval, PairedInterval } from './bootstrap.ts';
import type { AttributeCounterfactuals, EvalContext } from './context.ts';

export interface EditScores {
  /** |oracle(x_cf)_i - target| / range_i: did the intervened factor move to its target? */
  effectiveness: Interval;
  /** descendants: mean over them of |oracle(x_cf)_j - truth_j| / range_j (world's counterfactual) */
  descendants: Interval | null;
  /** non-descendants: drift |oracle(x_cf)_j - truth_j| / range_j (they should not move) */
  nonDescendants: Interval | null;
  /** pixel L1 in [0, 1] units and SSIM against the exactly re-rendered counterfactual */
  pixelL1: Interval;
  ssim: Interval;
}

export const WORLD_SCORES = ['effectiveness', 'descendants', 'nonDescendants', 'pixelL1', 'ssim'] as const;
export type WorldScore = (typeof WORLD_SCORES)[number];

export interface WorldInterventionRow {
  attribute: string;
  descendants: string[];
  causal: EditScores;
  nonCausal: EditScores;
  /** causal - non-causal, paired by image */
  difference: Record<WorldScore, PairedInterval | null>;
}

export interface LabelEditScores {
  /** binary attributes: fraction of counterfactuals the oracle reads as the target value */
  targetHit: Interval | null;
  /** continuous attributes: |oracle(x_cf)_i - target| / range_i */
  targetError: Interval | null;
  /** |oracle(x_cf)_j - oracle(G(E(x)))_j| / range_j, mean over descendants j (given graph) */
  descendantShift: Interval | null;
  /** the same over the other attributes (they should not move) */
  nonDescendantShift: Interval | null;
}

export const LABEL_SCORES = ['targetHit', 'targetError', 'descendantShift', 'nonDescendantShift'] as const;
export type LabelScore = (typeof LABEL_SCORES)[number];

export interface LabelInterventionRow {
  attribute: string;
  /** how the per-image targets were chosen */
  targets: string;
  descendants: string[];
  causal: LabelEditScores;
  nonCausal: LabelEditScores;
  difference: Record<LabelScore, PairedInterval | null>;
}

export interface InterventionResult {
  world: WorldInterventionRow[] | null;
  labels: LabelInterventionRow[] | null;
  /** `${edit}.${score}`: mean over the rows that have the score (as in earlier reports) */
  summary: Record<string, number | null>;
  /** the same with an interval: per image, the mean over rows; resampled over images */
  summaryIntervals: Record<string, Interval | null>;
  /** `${score}`: causal - non-causal of the summary, paired by image */
  summaryDifferences: Record<string, PairedInterval | null>;
}

type PerImage = Record<'causal' | 'nonCausal', Record<string, Float64Array | null>>;

/** Mean of |a[k] - b[k]| / range over the listed columns, per image. */
function columnError(
  n: number,
  m: number,
  cols: number[],
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  ranges: number[],
): Float64Array | null {
  if (!cols.length) return null;
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (const j of cols) s += Math.abs(a[r * m + j] - b[r * m + j]) / ranges[j];
    out[r] = s / cols.length;
  }
  return out;
}

function split(ctx: EvalContext, i: number): { desc: number[]; nonDesc: number[] } {
  const desc = graphDescendants(ctx.reference.adjacency, i);
  const nonDesc = ctx.names.map((_, j) => j).filter((j) => j !== i && !desc.includes(j));
  return { desc, nonDesc };
}

function worldPerImage(ctx: EvalContext, cf: AttributeCounterfactuals): PerImage {
  const { n, m, ranges } = ctx;
  const i = cf.attribute;
  const { desc, nonDesc } = split(ctx, i);
  const truth = cf.truth!;
  const one = (kind: 'causal' | 'nonCausal') => {
    const p = cf[kind].values;
    return {
      effectiveness: Float64Array.from(
        { length: n },
        (_, r) => Math.abs(p[r * m + i] - cf.targets[r]) / ranges[i],
      ),
      descendants: columnError(n, m, desc, p, truth, ranges),
      nonDescendants: columnError(n, m, nonDesc, p, truth, ranges),
      pixelL1: cf[kind].pixelL1,
      ssim: cf[kind].ssim,
    };
  };
  return { causal: one('causal'), nonCausal: one('nonCausal') };
}

function labelPerImage(ctx: EvalContext, cf: AttributeCounterfactuals): PerImage {
  const { n, m, ranges } = ctx;
  const i = cf.attribute;
  const { desc, nonDesc } = split(ctx, i);
  const binary = ctx.test.attributes[i].kind === 'binary';
  const recon = ctx.reconstruction.values;
  const one = (kind: 'causal' | 'nonCausal') => {
    const p = cf[kind].values;
    return {
      targetHit: binary
        ? Float64Array.from({ length: n }, (_, r) => (p[r * m + i] > 0.5 === cf.targets[r] > 0.5 ? 1 : 0))
        : null,
      targetError: binary
        ? null
        : Float64Array.from({ length: n }, (_, r) => Math.abs(p[r * m + i] - cf.targets[r]) / ranges[i]),
      descendantShift: columnError(n, m, desc, p, recon, ranges),
      nonDescendantShift: columnError(n, m, nonDesc, p, recon, ranges),
    };
  };
  return { causal: one('causal'), nonCausal: one('nonCausal') };
}

function scores<K extends string>(
  ctx: EvalContext,
  keys: readonly K[],
  per: Record<string, Float64Array | null>,
) {
  return Object.fromEntries(keys.map((k) => [k, per[k] ? ctx.boot.mean(per[k]!) : null])) as Record<
    K,
    Interval | null
  >;
}

function differences<K extends string>(ctx: EvalContext, keys: readonly K[], per: PerImage) {
  return Object.fromEntries(
    keys.map((k) => {
      const a = per.causal[k];
      const b = per.nonCausal[k];
      return [k, a && b ? ctx.boot.pairedDifference(a, b) : null];
    }),
  ) as Record<K, PairedInterval | null>;
}

/** Per image, the mean of a score over the rows that have it. */
function rowMean(rows: (Float64Array | null)[], n: number): Float64Array | null {
  const have = rows.filter((r): r is Float64Array => r !== null);
  if (!have.length) return null;
  return Float64Array.from({ length: n }, (_, k) => have.reduce((s, r) => s + r[k], 0) / have.length);
}

function summarize(
  ctx: EvalContext,
  keys: readonly string[],
  perRows: PerImage[],
  means: (kind: 'causal' | 'nonCausal', key: string) => (number | null)[],
): Pick<InterventionResult, 'summary' | 'summaryIntervals' | 'summaryDifferences'> {
  const summary: Record<string, number | null> = {};
  const summaryIntervals: Record<string, Interval | null> = {};
  const summaryDifferences: Record<string, PairedInterval | null> = {};
  for (const key of keys) {
    const pooled = { causal: null as Float64Array | null, nonCausal: null as Float64Array | null };
    for (const kind of ['causal', 'nonCausal'] as const) {
      const ms = means(kind, key).filter((v): v is number => v !== null);
      summary[`${kind}.${key}`] = ms.length ? ms.reduce((a, b) => a + b, 0) / ms.length : null;
      pooled[kind] = rowMean(
        perRows.map((p) => p[kind][key]),
        ctx.n,
      );
      summaryIntervals[`${kind}.${key}`] = pooled[kind] ? ctx.boot.mean(pooled[kind]!) : null;
    }
    summaryDifferences[key] =
      pooled.causal && pooled.nonCausal ? ctx.boot.pairedDifference(pooled.causal, pooled.nonCausal) : null;
  }
  return { summary, summaryIntervals, summaryDifferences };
}

/** The interventions section from the shared counterfactual readings (one per attribute). */
export function interventionSection(ctx: EvalContext, cfs: AttributeCounterfactuals[]): InterventionResult {
  if (ctx.world) {
    const per = cfs.map((cf) => worldPerImage(ctx, cf));
    const rows: WorldInterventionRow[] = cfs.map((cf, k) => ({
      attribute: ctx.names[cf.attribute],
      descendants: split(ctx, cf.attribute).desc.map((j) => ctx.names[j]),
      causal: scores(ctx, WORLD_SCORES, per[k].causal) as unknown as EditScores,
      nonCausal: scores(ctx, WORLD_SCORES, per[k].nonCausal) as unknown as EditScores,
      difference: differences(ctx, WORLD_SCORES, per[k]),
    }));
    return {
      world: rows,
      labels: null,
      ...summarize(ctx, WORLD_SCORES, per, (kind, key) =>
        rows.map((r) => r[kind][key as WorldScore]?.mean ?? null),
      ),
    };
  }
  const per = cfs.map((cf) => labelPerImage(ctx, cf));
  const rows: LabelInterventionRow[] = cfs.map((cf, k) => {
    const i = cf.attribute;
    const a = ctx.test.attributes[i];
    return {
      attribute: ctx.names[i],
      targets:
        a.kind === 'binary'
          ? 'flipped (1 - factual)'
          : 'uniform in the inset range, in another bin than the factual value',
      descendants: split(ctx, i).desc.map((j) => ctx.names[j]),
      causal: scores(ctx, LABEL_SCORES, per[k].causal),
      nonCausal: scores(ctx, LABEL_SCORES, per[k].nonCausal),
      difference: differences(ctx, LABEL_SCORES, per[k]),
    };
  });
  return {
    world: null,
    labels: rows,
    ...summarize(ctx, LABEL_SCORES, per, (kind, key) =>
      rows.map((r) => r[kind][key as LabelScore]?.mean ?? null),
    ),
  };
}
