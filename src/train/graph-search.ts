/**
 * The structure search during training (scm.search 'exact'): every train.searchEvery steps the
 * graph is searched on the encoder's latents (searchStructure, the code path of `ccig structure`),
 * and the prior trains on the graph chosen. An edge whose direction the data leave undetermined
 * is trained as the search drew it.
 */
import { namedEdges } from '../causal/graph.ts';
import { searchStructure } from '../causal/search.ts';
import type { Dataset } from '../data/dataset.ts';
import type { Ccig } from '../model/ccig.ts';
import type { CcigConfig } from '../model/config.ts';

/**
 * Whether a search runs after `step` (of a run whose config has `train.steps`): every
 * searchEvery steps (absent: 250), none at the run's last step (nothing would train the edges it
 * adds), and none with fewer than 10 training images (the graph stays empty).
 */
export function searchDue(step: number, t: CcigConfig['train'], trainImages: number): boolean {
  return step % (t.searchEvery ?? 250) === 0 && step < t.steps && trainImages >= 10;
}

/**
 * Structure search on the encoder's causal latents of `rows` training images (spread over
 * the set, with their regimes), and the graph found becomes the prior's structure. Every rank of a
 * data-parallel run holds the same weights and encodes the same images, so finds the same graph.
 */
export function searchGraph(model: Ccig, data: Dataset, rows: number): SearchOutcome {
  const n = Math.min(rows, data.size);
  const indices = Array.from({ length: n }, (_, i) => Math.floor((i * data.size) / n));
  const { values, intervened } = model.causalLatents(data, indices);
  const nodes = model.attributes.map((a) => a.name);
  const found = searchStructure(values, n, model.m, {
    nodes,
    intervened,
    required: model.config.scm.required,
    forbidden: model.config.scm.forbidden,
  });
  const next = chooseGraph(found, found.dag, model.prior.maskArray());
  if (next.switched) model.prior.setStructure(next.adjacency);
  return { edges: namedEdges(next.adjacency, nodes), gain: next.gain, switched: next.switched };
}

/** A search as the log records it: the graph trained on after it, and how it was chosen (chooseGraph). */
export interface SearchOutcome {
  edges: [string, string][];
  gain: number;
  switched: boolean;
}

/** How much better (in the search's score, nats summed over nodes) a new graph must be to replace the current one. */
export const SEARCH_SWITCH_MARGIN = 0.05;

/**
 * The graph to train on after a search: the one found when it beats the best score within the
 * current graph by more than SEARCH_SWITCH_MARGIN (`gain`: by how much it does), else the current
 * one. Where two graphs score alike (Flow's weak ball -> water edge), switching at every search
 * would throw away the weights of the edges it drops and restart the ones it adds, to no end.
 */
export function chooseGraph(
  found: { score: number; scoreWithin(adjacency: number[][]): number },
  foundDag: number[][],
  current: number[][],
): { adjacency: number[][]; gain: number; switched: boolean } {
  const gain = found.scoreWithin(current) - found.score;
  return gain > SEARCH_SWITCH_MARGIN
    ? { adjacency: foundDag, gain, switched: true }
    : { adjacency: current, gain, switched: false };
}
