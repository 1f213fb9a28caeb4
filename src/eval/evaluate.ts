/**
 * The evaluation suite (SPEC.md section 6) for a trained model:
 * - graph: the learned A against the true graph (worlds) or the given super-graph (CelebA);
 * - alignment: m x m matrices (Spearman, MIC, TIC, R^2) of encoder latents against the
 *   factors, read against the same statistic among the labels themselves;
 * - interventions: counterfactuals of test images under do(factor = value), read by the oracle;
 *   on a world, against the world's exact counterfactual (factors and re-rendered image); on
 *   labelled data, as rates and shifts; always beside the non-causal edit;
 * - image quality: reconstruction L1, and Frechet distance / KID on oracle features.
 */

import {
  acyclicity,
  compareGraphs,
  type GraphComparison,
  descendants as graphDescendants,
} from '../causal/graph.ts';
import { superGraphMask } from '../causal/scm.ts';
import type { Dataset } from '../data/dataset.ts';
import type { WorldDataset } from '../data/world-dataset.ts';
import type { Ccig } from '../model/ccig.ts';
import { counterfactual } from '../model/edit.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { frechetDistance, kid, pixelL1, ssim } from './image-metrics.ts';
import { mine } from './mic.ts';
import { batched, type Oracle } from './oracle.ts';
import { linearProbeR2, spearman } from './stats.ts';

export interface EditScores {
  /** |oracle(x_cf)_i - v| / range_i: did the intervened factor move to v? */
  effectiveness: number;
  /** descendants: |oracle(x_cf)_j - truth_j| / range_j against the world's counterfactual */
  descendants: number | null;
  /** non-descendants: drift |oracle(x_cf)_j - truth_j| / range_j (they should not move) */
  nonDescendants: number | null;
  /** pixel L1 in [0, 1] units and SSIM against the exactly re-rendered counterfactual */
  pixelL1: number;
  ssim: number;
}

export interface WorldInterventionRow {
  attribute: string;
  descendants: string[];
  causal: EditScores;
  nonCausal: EditScores;
}

export interface LabelInterventionRow {
  attribute: string;
  target: number;
  descendants: string[];
  /** rate of oracle(x_cf)_i > 0.5 (binary) or mean |oracle - target| / range (continuous) */
  causal: { rate: number; descendantShift: number | null; nonDescendantShift: number | null };
  nonCausal: { rate: number; descendantShift: number | null; nonDescendantShift: number | null };
}

export interface EvalResult {
  attributes: string[];
  n: number;
  graph: {
    reference: 'true graph' | 'given super-graph';
    referenceEdges: [string, string][];
    learnedEdges: { from: string; to: string; weight: number }[];
    adjacency: number[][];
    h: number;
    comparison: GraphComparison;
  };
  alignment: Record<'spearman' | 'mic' | 'tic' | 'r2', { latents: number[][]; labels: number[][] }>;
  interventions: {
    world: WorldInterventionRow[] | null;
    labels: LabelInterventionRow[] | null;
    summary: Record<string, number | null>;
  };
  quality: { reconstructionL1: number; oracleFrechet: number; oracleKid: number };
  oracle: { heldOutError: Record<string, number>; source: string };
}

function mean(xs: number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

function column(v: Float32Array | number[], n: number, m: number, j: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => v[i * m + j]);
}

/** Images [B, 3, S, S] in [-1, 1] -> HWC float [0, 1] for SSIM / L1. */
function hwc01(t: Tensor): { data: Float32Array; n: number; size: number } {
  const [n, , size] = t.shape;
  const data = torch.scope(() => t.add(1).div(2).permute([0, 2, 3, 1]).contiguous().toFloat32Array());
  return { data, n, size };
}

export function evaluate(
  model: Ccig,
  test: Dataset,
  oracle: Oracle,
  { n = 1000, world, seed = 0 }: { n?: number; world?: WorldDataset; seed?: number } = {},
): EvalResult {
  model.eval();
  torch.manualSeed(seed);
  const names = model.config.attributes;
  const m = names.length;
  const S = model.config.imageSize;
  const N = Math.min(n, test.size);
  const batch = test.batch(Array.from({ length: N }, (_, i) => i));
  const ranges = test.attributes.map((a) => (a.kind === 'binary' ? 1 : a.max - a.min));

  return torch.scope(() => {
    const x = torch.tensor(batch.images, { shape: [N, 3, S, S] });
    const y = batch.labels;

    // ---- graph
    const A = model.prior.adjacencyArray();
    const refEdges = model.config.scm.edges as [string, string][];
    const refMask = superGraphMask(names, refEdges);
    const graph = {
      reference: world ? ('true graph' as const) : ('given super-graph' as const),
      referenceEdges: refEdges,
      learnedEdges: model.prior.edges(0.3),
      adjacency: A,
      h: acyclicity(A),
      comparison: compareGraphs(refMask, A, { threshold: 0.3 }),
    };

    // ---- alignment
    const mu = batched(x, 128, (xb) => model.encode(xb).mu.slice(1, 0, m)).toFloat32Array();
    const lat = names.map((_, j) => column(mu, N, m, j));
    const lab = names.map((_, j) => column(y, N, m, j));
    const stats = {
      spearman: { latents: [] as number[][], labels: [] as number[][] },
      mic: { latents: [] as number[][], labels: [] as number[][] },
      tic: { latents: [] as number[][], labels: [] as number[][] },
      r2: { latents: [] as number[][], labels: [] as number[][] },
    };
    for (const [key, rows] of [
      ['latents', lat],
      ['labels', lab],
    ] as const) {
      for (let i = 0; i < m; i++) {
        const sp: number[] = [];
        const mi: number[] = [];
        const ti: number[] = [];
        const r2: number[] = [];
        for (let j = 0; j < m; j++) {
          sp.push(spearman(rows[i], lab[j]));
          const s = mine(rows[i], lab[j]);
          mi.push(s.mic);
          ti.push(s.ticNormalized);
          r2.push(linearProbeR2(rows[i], lab[j]));
        }
        stats.spearman[key].push(sp);
        stats.mic[key].push(mi);
        stats.tic[key].push(ti);
        stats.r2[key].push(r2);
      }
    }

    // ---- interventions
    const trueA = world ? world.world.adjacency() : refMask;
    const descOf = (i: number) => graphDescendants(trueA, i);
    const nInt = Math.min(N, 200);
    const chunk = 25;
    let worldRows: WorldInterventionRow[] | null = null;
    let labelRows: LabelInterventionRow[] | null = null;
    if (world) {
      worldRows = names.map((name, i) => {
        const desc = descOf(i);
        const nonDesc = names.map((_, j) => j).filter((j) => j !== i && !desc.includes(j));
        const acc = {
          causal: {
            eff: [] as number[],
            desc: [] as number[],
            non: [] as number[],
            l1: [] as number[],
            ssim: [] as number[],
          },
          nonCausal: {
            eff: [] as number[],
            desc: [] as number[],
            non: [] as number[],
            l1: [] as number[],
            ssim: [] as number[],
          },
        };
        for (let start = 0; start < nInt; start += chunk) {
          const idx = Array.from({ length: Math.min(chunk, nInt - start) }, (_, k) => start + k);
          // a target from another test example keeps values inside the data's distribution
          const v = y[((start * 7919 + 13) % N) * m + i];
          const truth = idx.map((k) => world.counterfactual(k, { [name]: v }));
          torch.scope(() => {
            const e = counterfactual(model, x.slice(0, start, start + idx.length), { [name]: v });
            for (const [kind, imgs] of [
              ['causal', e.causal],
              ['nonCausal', e.nonCausal],
            ] as const) {
              const p = oracle.predict(imgs).toFloat32Array();
              const h = hwc01(imgs);
              idx.forEach((_, r) => {
                const tv = truth[r].values;
                const a = acc[kind];
                a.eff.push(Math.abs(p[r * m + i] - v) / ranges[i]);
                for (const j of desc) a.desc.push(Math.abs(p[r * m + j] - tv[j]) / ranges[j]);
                for (const j of nonDesc) a.non.push(Math.abs(p[r * m + j] - tv[j]) / ranges[j]);
                const mine01 = h.data.subarray(r * S * S * 3, (r + 1) * S * S * 3);
                const ref01 = Float32Array.from(truth[r].image, (b) => b / 255);
                a.l1.push(pixelL1(mine01, ref01));
                a.ssim.push(
                  ssim(
                    { data: mine01, height: S, width: S, channels: 3 },
                    { data: ref01, height: S, width: S, channels: 3 },
                    { dataRange: 1 },
                  ),
                );
              });
            }
          });
        }
        const scores = (a: typeof acc.causal): EditScores => ({
          effectiveness: mean(a.eff)!,
          descendants: mean(a.desc),
          nonDescendants: mean(a.non),
          pixelL1: mean(a.l1)!,
          ssim: mean(a.ssim)!,
        });
        return {
          attribute: name,
          descendants: desc.map((j) => names[j]),
          causal: scores(acc.causal),
          nonCausal: scores(acc.nonCausal),
        };
      });
    } else {
      const recon = batched(x.slice(0, 0, nInt), 64, (xb) =>
        oracle.predict(model.decode(model.encode(xb).mu)),
      ).toFloat32Array();
      labelRows = names.map((name, i) => {
        const desc = descOf(i);
        const nonDesc = names.map((_, j) => j).filter((j) => j !== i && !desc.includes(j));
        const binary = test.attributes[i].kind === 'binary';
        const target = binary ? 1 : test.attributes[i].max;
        const out = {
          causal: { rate: [] as number[], d: [] as number[], nd: [] as number[] },
          nonCausal: { rate: [] as number[], d: [] as number[], nd: [] as number[] },
        };
        for (let start = 0; start < nInt; start += chunk) {
          const len = Math.min(chunk, nInt - start);
          torch.scope(() => {
            const e = counterfactual(model, x.slice(0, start, start + len), { [name]: target });
            for (const [kind, imgs] of [
              ['causal', e.causal],
              ['nonCausal', e.nonCausal],
            ] as const) {
              const p = oracle.predict(imgs).toFloat32Array();
              for (let r = 0; r < len; r++) {
                const row = start + r;
                out[kind].rate.push(
                  binary ? (p[r * m + i] > 0.5 ? 1 : 0) : Math.abs(p[r * m + i] - target) / ranges[i],
                );
                for (const j of desc)
                  out[kind].d.push(Math.abs(p[r * m + j] - recon[row * m + j]) / ranges[j]);
                for (const j of nonDesc)
                  out[kind].nd.push(Math.abs(p[r * m + j] - recon[row * m + j]) / ranges[j]);
              }
            }
          });
        }
        const pack = (a: typeof out.causal) => ({
          rate: mean(a.rate)!,
          descendantShift: mean(a.d),
          nonDescendantShift: mean(a.nd),
        });
        return {
          attribute: name,
          target,
          descendants: desc.map((j) => names[j]),
          causal: pack(out.causal),
          nonCausal: pack(out.nonCausal),
        };
      });
    }
    const summary: Record<string, number | null> = {};
    if (worldRows) {
      for (const kind of ['causal', 'nonCausal'] as const)
        for (const key of ['effectiveness', 'descendants', 'nonDescendants', 'pixelL1', 'ssim'] as const)
          summary[`${kind}.${key}`] = mean(
            worldRows.map((r) => r[kind][key]).filter((v): v is number => v !== null),
          );
    }
    if (labelRows) {
      for (const kind of ['causal', 'nonCausal'] as const)
        for (const key of ['rate', 'descendantShift', 'nonDescendantShift'] as const)
          summary[`${kind}.${key}`] = mean(
            labelRows.map((r) => r[kind][key]).filter((v): v is number => v !== null),
          );
    }

    // ---- image quality
    const nq = Math.min(N, 500);
    const xq = x.slice(0, 0, nq);
    const reconstructionL1 = batched(xq, 64, (xb) =>
      model.decode(model.encode(xb).mu).sub(xb).abs().mean([1, 2, 3]).div(2),
    )
      .mean()
      .item();
    const realFeat = batched(xq, 64, (xb) => oracle.forward(xb).features).toFloat32Array();
    const fakeFeat = torch.noGrad(() => {
      const parts: Tensor[] = [];
      for (let s = 0; s < nq; s += 64)
        parts.push(oracle.forward(model.decode(model.sampleLatent(Math.min(64, nq - s)))).features);
      return torch.cat(parts, 0).toFloat32Array();
    });
    const d = oracle.featureDim;
    const rows = (f: Float32Array) => Array.from({ length: nq }, (_, i) => f.subarray(i * d, (i + 1) * d));
    const quality = {
      reconstructionL1,
      oracleFrechet: frechetDistance(rows(realFeat), rows(fakeFeat)),
      oracleKid: kid(rows(realFeat), rows(fakeFeat), { subsets: 20, subsetSize: Math.min(nq, 200) }).mean,
    };

    return {
      attributes: [...names],
      n: N,
      graph,
      alignment: stats,
      interventions: { world: worldRows, labels: labelRows, summary },
      quality,
      oracle: { heldOutError: oracle.meta.heldOutError, source: oracle.meta.source },
    };
  });
}
