/**
 * How much to trust each edge of a learned graph: its stability under resampling (Friedman,
 * Goldszmidt & Wyner 1999, "Data analysis with Bayesian networks: a bootstrap approach";
 * Meinshausen & Buhlmann 2010, "Stability selection"). The encoder reads the causal latents mu_c
 * of held-out images (with each image's regime); each resample (half of the rows without
 * replacement for the exact search, a bootstrap for NOTEARS) runs a label-level structure search: the exact search of
 * src/causal/exact-search.ts (within the super-graph in `given` mode), or, for a graph NOTEARS
 * learned, NOTEARS itself (src/causal/structure.ts: the SCM prior's parent model, standardized
 * and regime-masked score). An edge's stability is the fraction of resamples whose graph has it,
 * in the same direction (for NOTEARS: above its threshold).
 *
 * It measures whether the data, as the encoder sees them, support the edge, independently of the
 * GAN's training path: an edge the model has but few resamples find is one to doubt.
 *
 * @example
 *   const s = edgeStability(model, data.heldOut, { resamples: 20 });
 *   s.edges; // [{ from: 'light_angle', to: 'shadow_position', weight: 1.32, stability: 0.95 }, ...]
 */
import { essentialGraph, targetsOfRegimes } from '../causal/essential-graph.ts';
import { EDGE_THRESHOLD, isDag, namedEdges, threshold as thresholded } from '../causal/graph.ts';
import { searchStructure } from '../causal/search.ts';
import { learnStructure } from '../causal/structure.ts';
import type { Dataset } from '../data/dataset.ts';
import { Rng } from '../data/rng.ts';
import type { Ccig } from '../model/ccig.ts';
import { structureLimits } from '../model/config.ts';

export interface EdgeStabilityOptions {
  /** held-out images encoded (default 500) */
  n?: number;
  /** resamples (default 20) */
  resamples?: number;
  /** Adam steps of each structure search (default 1000) */
  steps?: number;
  seed?: number;
  /** edge threshold on the standardized effect (default EDGE_THRESHOLD, 0.3) */
  threshold?: number;
}

export interface EdgeStabilityRow {
  from: string;
  to: string;
  /** the model's A[from][to] (0 for an edge only the resamples found) */
  weight: number;
  /** fraction of resamples whose graph has from -> to */
  stability: number;
  /**
   * false: the held-out data's regimes do not determine this edge's direction (it is undirected
   * in the model graph's essential graph, causal/essential-graph.ts); the prior keeps from -> to
   */
  directed?: boolean;
}

export interface EdgeStability {
  /** how each resample was drawn and searched, in words (absent in files from before it was kept) */
  method?: string;
  resamples: number;
  /** held-out images encoded (a resample of the exact search takes half of them) */
  n: number;
  /** of them drawn under an intervention */
  interventionalRows: number;
  threshold: number;
  /** every edge of the model (standardized effect > threshold), strongest first */
  edges: EdgeStabilityRow[];
  /** pairs the model leaves out but at least a fifth of the resamples find */
  others: EdgeStabilityRow[];
  /** why no resample was searched (a graph too large for the exact search); edges and others are then empty */
  skipped?: string;
}

/** Bootstrap stability of every edge of `model`'s graph on held-out data; null for structure `none`. */
export function edgeStability(
  model: Ccig,
  heldOut: Dataset,
  o: EdgeStabilityOptions = {},
): EdgeStability | null {
  if (model.prior.mode === 'none' || heldOut.size < 2) return null;
  const threshold = o.threshold ?? EDGE_THRESHOLD;
  const skipped = structureLimits(model.config).edgeStability;
  if (skipped)
    return { resamples: 0, n: 0, interventionalRows: 0, threshold, edges: [], others: [], skipped };
  const resamples = o.resamples ?? 20;
  const names = model.config.attributes;
  const m = names.length;
  const N = Math.min(o.n ?? 500, heldOut.size);

  // causal latents of the held-out images, with each row's regime
  const { values: latents, intervened } = model.causalLatents(
    heldOut,
    Array.from({ length: N }, (_, k) => k),
  );

  const allowed = model.prior.mode === 'given' ? model.config.scm.edges : undefined;
  // the exact search, which finds the score's optimum; a graph NOTEARS learned is judged by NOTEARS
  const searched = !(model.prior.mode === 'learned' && (model.config.scm.search ?? 'notears') === 'notears');
  const counts = names.map(() => new Array<number>(m).fill(0));
  const rng = new Rng(o.seed ?? 0, 0x5eed);
  // The exact search fits by nearest neighbours, for which a bootstrap's repeated rows are
  // their own perfect neighbours (every parent set looks better than none): it gets half-size
  // subsamples without replacement instead (stability selection, Meinshausen & Buhlmann 2010).
  const size = searched ? Math.max(2, Math.floor(N / 2)) : N;
  const rows = new Float32Array(size * m);
  const regimes = new Uint8Array(size * m);
  const order = Array.from({ length: N }, (_, k) => k);
  for (let r = 0; r < resamples; r++) {
    for (let k = 0; k < size; k++) {
      let src: number;
      if (searched) {
        // a partial Fisher-Yates shuffle: the first `size` of a random permutation
        const pick = k + rng.int(N - k);
        [order[k], order[pick]] = [order[pick], order[k]];
        src = order[k];
      } else src = rng.int(N);
      rows.set(latents.subarray(src * m, (src + 1) * m), k * m);
      regimes.set(intervened.subarray(src * m, (src + 1) * m), k * m);
    }
    const found: [string, string][] = searched
      ? namedEdges(
          searchStructure(rows, size, m, {
            nodes: names,
            intervened: regimes,
            allowed,
            required: model.config.scm.required,
            forbidden: model.config.scm.forbidden,
          }).dag,
          names,
        )
      : learnStructure(rows, N, m, {
          nodes: names,
          intervened: regimes,
          parents: model.prior.parentModel,
          allowed,
          steps: o.steps ?? 1000,
          threshold,
          seed: r,
          refitSteps: 0,
        }).edges.map((e) => [e.from, e.to]);
    for (const [from, to] of found) counts[names.indexOf(from)][names.indexOf(to)]++;
  }

  const A = model.prior.adjacencyArray();
  // an edge of the model: standardized effect above the threshold (causal/graph.ts EDGE_THRESHOLD)
  const effect = model.prior.standardizedEffects();
  // (a NOTEARS graph may keep a cycle above the threshold: no equivalence class to draw then)
  const drawn = thresholded(effect, threshold);
  const essential = isDag(drawn) ? essentialGraph(drawn, targetsOfRegimes(intervened, N, m)) : undefined;
  const row = (i: number, j: number): EdgeStabilityRow => ({
    from: names[i],
    to: names[j],
    weight: A[i][j],
    stability: counts[i][j] / resamples,
    ...(essential && drawn[i][j] === 1 && { directed: essential.directed[i][j] === 1 }),
  });
  const edges: EdgeStabilityRow[] = [];
  const others: EdgeStabilityRow[] = [];
  for (let i = 0; i < m; i++)
    for (let j = 0; j < m; j++) {
      if (i === j) continue;
      if (effect[i][j] > threshold) edges.push(row(i, j));
      else if (counts[i][j] / resamples >= 0.2) others.push(row(i, j));
    }
  edges.sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight));
  others.sort((a, b) => b.stability - a.stability);
  let interventionalRows = 0;
  for (let k = 0; k < N; k++) if (intervened.subarray(k * m, (k + 1) * m).includes(1)) interventionalRows++;
  const method = searched
    ? `the exact search (regime-masked likelihood${allowed ? ', within the given graph' : ''}) on half-size subsamples without replacement`
    : "NOTEARS (the prior's parent model, regime-masked likelihood) on bootstrap resamples";
  return { method, resamples, n: N, interventionalRows, threshold, edges, others };
}

/**
 * One line per edge: "from -> to  weight 1.32  stable in 95% of 20 resamples", or "from -- to
 * (direction not determined by these data) ..." for an edge the regimes leave undirected.
 */
export function formatEdgeStability(s: EdgeStability | null, indent = ''): string[] {
  if (!s) return [`${indent}no learnable structure`];
  if (s.skipped) return [`${indent}stability not measured: ${s.skipped}`];
  const pct = (v: number) => `${Math.round(v * 100)}%`;
  const lines = s.edges.map(
    (e) =>
      `${indent}${e.from} ${e.directed === false ? '--' : '->'} ${e.to}  weight ${e.weight.toFixed(2)}  stable in ${pct(e.stability)} of ${s.resamples} resamples${e.directed === false ? '  (direction not determined by these data: trained as drawn)' : ''}`,
  );
  if (s.edges.length === 0) lines.push(`${indent}no edge with a standardized effect > ${s.threshold}`);
  for (const e of s.others)
    lines.push(`${indent}(not in A) ${e.from} -> ${e.to}  found in ${pct(e.stability)} of resamples`);
  return lines;
}
