/**
 * The axiomatic evaluation of counterfactual image models (Monteiro et al., ICLR 2023, code
 * biomedia-mira/counterfactual_axiomatic_soundness), with the definitions of the benchmark that
 * uses it (Melistas et al., NeurIPS 2024, gulnazaki/counterfactual-benchmark) and of Rasal et al.
 * (ICML 2025, RajatRasal/Diffusion-Counterfactuals), and CDG-VAE's CDM (an-seunghwan/CDG-VAE):
 * - composition: the null intervention returns the input, after 1 and 10 repetitions;
 * - reversibility: intervening and then intervening back returns the input, after 1 and 10 cycles;
 * - effectiveness: the oracle reads the counterfactual's factors as the counterfactual says;
 * - minimality: counterfactual latent divergence (CLD) in the oracle's feature space;
 * - CDM: the change in each factor's reading between do(s = min) and do(s = max).
 * Distances: mean absolute difference of pixels in [0, 255], and of oracle features.
 */
import { descendants as graphDescendants } from '../causal/graph.ts';
import { editLatentsEach } from '../model/edit.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { f1Score, type Interval, type PairedInterval } from './bootstrap.ts';
import {
  type AttributeCounterfactuals,
  binOf,
  drawTargets,
  type EvalContext,
  forEachCounterfactualChunk,
} from './context.ts';

/** Repetitions at which composition and reversibility are read (as the benchmark's `cycles`). */
export const CYCLES = [1, 10] as const;

/** d(x, x') at each of CYCLES, in pixels ([0, 255]) and oracle features, over images. */
export interface CycleDistances {
  cycles: number[];
  pixel: (Interval | null)[];
  features: (Interval | null)[];
}

export interface CompositionResult extends CycleDistances {}

export interface ReversibilityResult extends CycleDistances {
  /** each image is intervened on one attribute (images split evenly); per attribute, the same */
  perAttribute: ({ attribute: string } & CycleDistances)[];
}

export interface EffectivenessFactor {
  name: string;
  role: 'intervened' | 'descendant' | 'other';
  /** mae: mean |oracle - truth| in label units (continuous); f1: F1 of oracle > 0.5 (binary) */
  metric: 'mae' | 'f1';
  causal: Interval | null;
  nonCausal: Interval | null;
  /** causal - non-causal on the same images */
  difference: PairedInterval | null;
}

export interface EffectivenessRow {
  attribute: string;
  factors: EffectivenessFactor[];
}

export interface EffectivenessResult {
  /** what the oracle's reading is compared with, beyond the target of the intervened factor */
  truth: "the world's exact counterfactual" | "the model's SCM under do()";
  rows: EffectivenessRow[];
}

export interface MinimalityScores {
  /** log(0.8 e^P1 + 0.2 e^P2) per counterfactual, averaged */
  cld: Interval | null;
  /** P(d(x_r, x) <= d(x_cf, x)) over real images x_r with the counterfactual's value */
  p1: Interval | null;
  /** P(d(x_r, x) >= d(x_cf, x)) over real images x_r with the factual value */
  p2: Interval | null;
}

export interface MinimalityRow {
  attribute: string;
  causal: MinimalityScores;
  nonCausal: MinimalityScores;
  /** CLD causal - non-causal */
  difference: PairedInterval | null;
}

export interface CdmResult {
  /** do(s = lo) and do(s = hi) per intervened attribute s, label units */
  values: [number, number][];
  /** [s][c]: |mean over images of score_c(do(s = lo)) - score_c(do(s = hi))| */
  lower: number[][];
  /** the same with bootstrap intervals */
  lowerIntervals: (Interval | null)[][];
  /** [s][c]: mean over images of |score_c(do(s = lo)) - score_c(do(s = hi))|, with intervals */
  upper: (Interval | null)[][];
}

export interface AxiomResult {
  composition: CompositionResult;
  reversibility: ReversibilityResult;
  effectiveness: EffectivenessResult;
  minimality: MinimalityRow[];
  cdm: CdmResult;
}

/** Per row: mean |a - b| over each row of `width` values. */
function rowL1(a: ArrayLike<number>, b: ArrayLike<number>, rows: number, width: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let k = r * width; k < (r + 1) * width; k++) s += Math.abs(a[k] - b[k]);
    out[r] = s / width;
  }
  return out;
}

/** Collects per-image distances of a chunk of images at each cycle. */
class CycleRecorder {
  readonly pixel: Float64Array[];
  readonly features: Float64Array[];
  constructor(
    private readonly ctx: EvalContext,
    n: number,
  ) {
    this.pixel = CYCLES.map(() => new Float64Array(n));
    this.features = CYCLES.map(() => new Float64Array(n));
  }

  /** Records d(x_rows, images) if `cycle` is one of CYCLES; rows [start, start + len) of ctx.x; at = offset in the output. */
  record(cycle: number, images: Tensor, start: number, at: number): void {
    const c = (CYCLES as readonly number[]).indexOf(cycle);
    if (c < 0) return;
    const { ctx } = this;
    const len = images.shape[0];
    const d = ctx.oracle.featureDim;
    torch.scope(() => {
      // in torch: per-image means only cross into JS (whole images would be garbage for V8)
      const real = ctx.x.slice(0, start, start + len);
      this.pixel[c].set(images.sub(real).abs().mean([1, 2, 3]).mul(127.5).toFloat32Array(), at);
      const f = ctx.oracle.read(images).features.toFloat32Array();
      this.features[c].set(rowL1(f, ctx.real.features.subarray(start * d, (start + len) * d), len, d), at);
    });
  }

  result(rows?: [number, number]): CycleDistances {
    const pick = (v: Float64Array) => (rows ? v.subarray(rows[0], rows[1]) : v);
    return {
      cycles: [...CYCLES],
      pixel: this.pixel.map((v) => this.ctx.boot.mean(pick(v))),
      features: this.features.map((v) => this.ctx.boot.mean(pick(v))),
    };
  }
}

/**
 * Composition: x_m = f^m(x) with the null intervention (abduct, no do(), decode), d(x, x_m) for
 * m in CYCLES. Follows counterfactual_benchmark/evaluation/metrics/composition.py (L1 over
 * pixels in [0, 255], or over embeddings) and Diffusion-Counterfactuals benchmarking/composition.py.
 */
export function compositionSection(ctx: EvalContext): CompositionResult {
  const { model, n, chunk } = ctx;
  const rec = new CycleRecorder(ctx, n);
  const last = Math.max(...CYCLES);
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    torch.scope(() =>
      torch.noGrad(() => {
        let mu = ctx.mu.slice(0, start, start + len);
        for (let cycle = 1; cycle <= last; cycle++) {
          const { zc, zr } = model.split(mu);
          const img = model.decode(model.join(model.prior.intervene(model.prior.abduct(zc), {}), zr));
          rec.record(cycle, img, start, start);
          if (cycle < last) mu = model.encode(img).mu;
        }
      }),
    );
  }
  return rec.result();
}

/**
 * Reversibility: x~ = f(f(x, do(a = target)), do(a = factual value)), repeated; d(x, x~) after
 * each of CYCLES cycles. Follows Diffusion-Counterfactuals benchmarking/reversibility.py (there
 * the way back intervenes on every parent with its factual value; here on the intervened
 * attribute, whose descendants the model's SCM then restores from the abducted noise, which is
 * the same when abduction is exact). The causal edit only. The images are split evenly between
 * the attributes (10 cycles on every attribute would cost 4x).
 */
export function reversibilitySection(ctx: EvalContext): ReversibilityResult {
  const { model, n, m, names, labels, chunk } = ctx;
  const rec = new CycleRecorder(ctx, n);
  const last = Math.max(...CYCLES);
  const blocks = names.map(
    (_, a) => [Math.floor((a * n) / m), Math.floor(((a + 1) * n) / m)] as [number, number],
  );
  names.forEach((name, a) => {
    const [b0, b1] = blocks[a];
    const { targets } = drawTargets(ctx, a);
    for (let start = b0; start < b1; start += chunk) {
      const len = Math.min(chunk, b1 - start);
      const forth = Array.from(targets.subarray(start, start + len));
      const back = Array.from({ length: len }, (_, k) => labels[(start + k) * m + a]);
      torch.scope(() =>
        torch.noGrad(() => {
          let mu = ctx.mu.slice(0, start, start + len);
          for (let cycle = 1; cycle <= last; cycle++) {
            const there = model.split(mu);
            const cf = model.decode(
              model.join(editLatentsEach(model, there.zc, name, forth).causal, there.zr),
            );
            const again = model.split(model.encode(cf).mu);
            const img = model.decode(
              model.join(editLatentsEach(model, again.zc, name, back).causal, again.zr),
            );
            rec.record(cycle, img, start, start);
            if (cycle < last) mu = model.encode(img).mu;
          }
        }),
      );
    }
  });
  return {
    ...rec.result(),
    perAttribute: names.map((attribute, a) => ({ attribute, ...rec.result(blocks[a]) })),
  };
}

/**
 * Effectiveness: the oracle's reading of each factor of the counterfactual against what the
 * counterfactual should show: the target for the intervened factor; for the others the world's
 * exact counterfactual, or on labelled data the model's own SCM under do(). MAE in label units
 * for continuous factors, F1 for binary ones (counterfactual_benchmark/evaluation/metrics/
 * effectiveness.py: MAE of unnormalized values, BinaryF1Score at 0.5; Diffusion-Counterfactuals
 * benchmarking/effectiveness.py compares oracle measurements with the counterfactual's parents).
 */
export function effectivenessSection(ctx: EvalContext, cfs: AttributeCounterfactuals[]): EffectivenessResult {
  const { n, m, names } = ctx;
  const rows = cfs.map((cf): EffectivenessRow => {
    const i = cf.attribute;
    const desc = graphDescendants(ctx.reference.adjacency, i);
    const truth = Float64Array.from({ length: n * m }, (_, k) =>
      cf.truth ? cf.truth[k] : cf.modelValues[k],
    );
    for (let r = 0; r < n; r++) truth[r * m + i] = cf.targets[r];
    const factors = names.map((name, j): EffectivenessFactor => {
      const role = j === i ? 'intervened' : desc.includes(j) ? 'descendant' : 'other';
      const col = (v: ArrayLike<number>) => Float64Array.from({ length: n }, (_, r) => v[r * m + j]);
      const t = col(truth);
      const pc = col(cf.causal.values);
      const pn = col(cf.nonCausal.values);
      if (ctx.test.attributes[j].kind === 'binary') {
        const diff = ctx.boot.statistic(n, (rows) => f1Score(pc, t, rows) - f1Score(pn, t, rows));
        return {
          name,
          role,
          metric: 'f1',
          causal: ctx.boot.statistic(n, (rows) => f1Score(pc, t, rows)),
          nonCausal: ctx.boot.statistic(n, (rows) => f1Score(pn, t, rows)),
          difference: diff && { ...diff, significant: diff.lo > 0 || diff.hi < 0 },
        };
      }
      const ec = Float64Array.from(pc, (p, r) => Math.abs(p - t[r]));
      const en = Float64Array.from(pn, (p, r) => Math.abs(p - t[r]));
      return {
        name,
        role,
        metric: 'mae',
        causal: ctx.boot.mean(ec),
        nonCausal: ctx.boot.mean(en),
        difference: ctx.boot.pairedDifference(ec, en),
      };
    });
    return { attribute: names[i], factors };
  });
  return {
    truth: ctx.world ? "the world's exact counterfactual" : "the model's SCM under do()",
    rows,
  };
}

/** The minimality weights of counterfactual_benchmark/evaluation/metrics/minimality.py. */
export const CLD_WEIGHTS = [0.8, 0.2] as const;

/**
 * Counterfactual latent divergence of one counterfactual. `div` = d(x_cf, x); `sameCf` = d(x_r, x)
 * for the real images x_r whose value is the counterfactual's; `sameFactual` the same for those
 * with the factual value. P1 = P(sameCf <= div), P2 = P(sameFactual >= div),
 * CLD = log(0.8 e^P1 + 0.2 e^P2); null when either set is empty (the benchmark skips those).
 */
export function cld(
  div: number,
  sameCf: ArrayLike<number>,
  sameFactual: ArrayLike<number>,
): { cld: number; p1: number; p2: number } | null {
  if (!sameCf.length || !sameFactual.length) return null;
  let a = 0;
  for (let k = 0; k < sameCf.length; k++) if (sameCf[k] <= div) a++;
  let b = 0;
  for (let k = 0; k < sameFactual.length; k++) if (sameFactual[k] >= div) b++;
  const p1 = a / sameCf.length;
  const p2 = b / sameFactual.length;
  return { cld: Math.log(CLD_WEIGHTS[0] * Math.exp(p1) + CLD_WEIGHTS[1] * Math.exp(p2)), p1, p2 };
}

/** Mean |a_r - a_s| between all rows of a [n, d]: symmetric n x n. */
export function pairwiseL1(a: Float32Array, n: number, d: number): Float32Array {
  const D = new Float32Array(n * n);
  for (let r = 0; r < n; r++) {
    const ar = r * d;
    for (let s = r + 1; s < n; s++) {
      const as = s * d;
      let sum = 0;
      for (let k = 0; k < d; k++) sum += Math.abs(a[ar + k] - a[as + k]);
      D[r * n + s] = D[s * n + r] = sum / d;
    }
  }
  return D;
}

/**
 * Minimality: CLD in the oracle's feature space (L1 distance, as the benchmark without a VAE
 * embedding), with the evaluated test images as the real set (the benchmark uses its test
 * factuals) and "same value" meaning the same bin (`binOf`), as its `same` does for continuous
 * parents. Follows counterfactual_benchmark/evaluation/metrics/minimality.py.
 */
export function minimalitySection(ctx: EvalContext, cfs: AttributeCounterfactuals[]): MinimalityRow[] {
  const { n, m, labels, names } = ctx;
  const d = ctx.oracle.featureDim;
  const f = ctx.real.features;
  const D = pairwiseL1(f, n, d);
  return cfs.map((cf) => {
    const i = cf.attribute;
    const binOfRow = Int32Array.from({ length: n }, (_, r) => binOf(ctx, i, labels[r * m + i]));
    const members = new Map<number, number[]>();
    binOfRow.forEach((bin, r) => {
      const list = members.get(bin);
      if (list) list.push(r);
      else members.set(bin, [r]);
    });
    const per = (kind: 'causal' | 'nonCausal') => {
      const div = rowL1(cf[kind].features, f, n, d);
      const out = { cld: [] as number[], p1: [] as number[], p2: [] as number[], rows: [] as number[] };
      for (let b = 0; b < n; b++) {
        const distTo = (rows: number[]) => Float32Array.from(rows, (r) => D[b * n + r]);
        const c = cld(
          div[b],
          distTo(members.get(binOf(ctx, i, cf.targets[b])) ?? []),
          distTo(members.get(binOfRow[b]) ?? []),
        );
        if (!c) continue;
        out.cld.push(c.cld);
        out.p1.push(c.p1);
        out.p2.push(c.p2);
        out.rows.push(b);
      }
      return out;
    };
    const pc = per('causal');
    const pn = per('nonCausal');
    const scores = (p: typeof pc): MinimalityScores => ({
      cld: ctx.boot.mean(p.cld),
      p1: ctx.boot.mean(p.p1),
      p2: ctx.boot.mean(p.p2),
    });
    // the two edits share images, but an image can be skipped in one only: pair the common ones
    const common = pc.rows.filter((r) => pn.rows.includes(r));
    const at = (p: typeof pc) => common.map((r) => p.cld[p.rows.indexOf(r)]);
    return {
      attribute: names[i],
      causal: scores(pc),
      nonCausal: scores(pn),
      difference: ctx.boot.pairedDifference(at(pc), at(pn)),
    };
  });
}

/**
 * CDM as an-seunghwan/CDG-VAE computes it (metric.py): for each intervened attribute s, do(s =
 * the minimum) and do(s = the maximum) of the encoder's latent for s over the images, through the
 * SCM with each image's abducted noise (a counterfactual), then the oracle's score of each factor c
 * on both images, in [0, 1] (continuous: (value - min) / range clamped to [0, 1], as their
 * classifier's sigmoid output on scaled labels; binary: the probability). lower[s][c] = |mean(score_lo - score_hi)|,
 * upper[s][c] = mean |score_lo - score_hi|. They average over the training set; here over the
 * evaluated test images.
 */
export function cdmSection(ctx: EvalContext): CdmResult {
  const { model, n, m, names } = ctx;
  const attrs = ctx.test.attributes;
  const labelsOfMu = torch.scope(() => model.latentToLabels(ctx.mu.slice(1, 0, m)).toFloat32Array());
  // in [0, 1] like CDG-VAE's sigmoid classifier: readings beyond the label range are clamped
  const score = (j: number, v: number) =>
    attrs[j].kind === 'binary' ? v : Math.min(1, Math.max(0, (v - attrs[j].min) / ctx.ranges[j]));
  const values: [number, number][] = [];
  const lower: number[][] = [];
  const lowerIntervals: (Interval | null)[][] = [];
  const upper: (Interval | null)[][] = [];
  names.forEach((_, s) => {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let r = 0; r < n; r++) {
      lo = Math.min(lo, labelsOfMu[r * m + s]);
      hi = Math.max(hi, labelsOfMu[r * m + s]);
    }
    values.push([lo, hi]);
    const read = (v: number) => {
      const out = new Float32Array(n * m);
      forEachCounterfactualChunk(
        ctx,
        s,
        new Float64Array(n).fill(v),
        (c) => out.set(ctx.oracle.read(c.causal).values.toFloat32Array(), c.start * m),
        { nonCausal: false },
      );
      return out;
    };
    const pLo = read(lo);
    const pHi = read(hi);
    const rowLower: number[] = [];
    const rowLowerIv: (Interval | null)[] = [];
    const rowUpper: (Interval | null)[] = [];
    names.forEach((__, c) => {
      const diff = Float64Array.from(
        { length: n },
        (_, r) => score(c, pLo[r * m + c]) - score(c, pHi[r * m + c]),
      );
      rowLower.push(Math.abs(diff.reduce((a, b) => a + b, 0) / n));
      rowLowerIv.push(
        ctx.boot.statistic(n, (rows) => Math.abs(rows.reduce((a, r) => a + diff[r], 0) / rows.length)),
      );
      rowUpper.push(ctx.boot.mean(diff.map(Math.abs)));
    });
    lower.push(rowLower);
    lowerIntervals.push(rowLowerIv);
    upper.push(rowUpper);
  });
  return { values, lower, lowerIntervals, upper };
}

/** Every axiom; `cfs` are the shared counterfactual readings of `readCounterfactuals`. */
export function axiomSection(ctx: EvalContext, cfs: AttributeCounterfactuals[]): AxiomResult {
  return {
    composition: compositionSection(ctx),
    reversibility: reversibilitySection(ctx),
    effectiveness: effectivenessSection(ctx, cfs),
    minimality: minimalitySection(ctx, cfs),
    cdm: cdmSection(ctx),
  };
}
