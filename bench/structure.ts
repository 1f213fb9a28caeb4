/**
 * `npm run bench -- structure [--quick] [--graphs N] [--nodes 4,8,12] [--families er,sf]
 *   [--regimes obs,do] [--errors 0,0.05,0.1,0.2] [--samples N] [--methods a,b] [--degree D]
 *   [--exact-max-parents K] [--notears-steps N] [--threads N]`:
 * structure learning on the labels of random SCMs (src/data/random-scm.ts), a benchmark no single
 * world can game. A cell is a graph family x a node count x a regime (observational, or 20% of
 * rows under do(one node = value)) x a reading error (labels plus Gaussian noise at that share of
 * each column's sd, as an imperfect encoder reads them). In each cell every method searches the
 * same `--graphs` SCMs (graph seeds 0, 1, ...; each with an expected degree uniform on [1, 2]
 * unless --degree is given; the same SCMs in every regime and error of a family and node count).
 *
 * Per method and cell, over the graphs, with bootstrap 95% intervals (src/eval/bootstrap.ts,
 * graphs resampled):
 * - SHD: missing + extra + wrongly oriented adjacencies; a true edge found undirected counts 1;
 * - orientation precision: of the edges found directed on a true adjacency, the share pointing
 *   the right way (pooled over the graphs; an undirected edge counts neither right nor wrong);
 * - skeleton F1 of the adjacencies (1 when the true and the found skeleton are both empty);
 * - seconds per search (on a busy machine these are only rough; compare methods in one run).
 *
 * Methods are entries of METHODS: a new one is one line there.
 */
import { parseArgs } from 'node:util';
import { exactSearch } from '../src/causal/exact-search.ts';
import { searchStructure } from '../src/causal/search.ts';
import { learnStructure } from '../src/causal/structure.ts';
import {
  GRAPH_FAMILIES,
  type GraphFamily,
  NODE_RANGE,
  type RandomScm,
  randomScm,
} from '../src/data/random-scm.ts';
import { deriveSeed, Rng } from '../src/data/rng.ts';
import { Bootstrap, type Interval } from '../src/eval/bootstrap.ts';
import * as torch from '../src/torch/index.ts';

/** An edge a method found; `directed: false` when it leaves the direction open. */
export interface FoundEdge {
  from: number;
  to: number;
  directed: boolean;
}

/** What a method is given besides the table. */
export interface SearchInput {
  /** [n, m] 1 where the row's node was set by do() */
  intervened: Uint8Array;
  /** node names, x0 ... */
  nodes: string[];
  /** settings of this run */
  settings: Settings;
  /** the reading error added to this table (sd as a share of each column's sd) */
  readingError: number;
}

/** A structure learner under test: its name and a search over an [n, m] table. */
export interface StructureMethod {
  name: string;
  search(values: Float64Array, n: number, m: number, input: SearchInput): FoundEdge[];
}

/** Named edges (a method's own output) as FoundEdge; `directed` defaults to true. */
export function fromNamedEdges(
  edges: readonly { from: string; to: string; directed?: boolean }[],
  nodes: readonly string[],
): FoundEdge[] {
  return edges.map((e) => ({
    from: nodes.indexOf(e.from),
    to: nodes.indexOf(e.to),
    directed: e.directed ?? true,
  }));
}

export const METHODS: StructureMethod[] = [
  {
    name: 'notears-mlp',
    search: (values, n, m, { intervened, nodes, settings }) =>
      fromNamedEdges(
        learnStructure(values, n, m, {
          nodes,
          intervened,
          parents: 'mlp',
          steps: settings.notearsSteps,
          seed: 0,
        }).edges,
        nodes,
      ),
  },
  {
    // the exact search as it was before searchStructure: k-NN score, the constant edge cost 0.02
    // tuned on Garden, every edge reported as oriented
    name: 'exact-0.02',
    search: (values, n, m, { intervened, nodes, settings }) =>
      fromNamedEdges(
        exactSearch(values, n, m, {
          nodes,
          intervened,
          edgeCost: 0.02,
          maxParents: exactMaxParents(m, settings),
        }).edges.map(([from, to]) => ({ from, to })),
        nodes,
      ),
  },
  {
    // searchStructure as training uses it: k-NN score, sample-size cost, the essential graph
    name: 'search',
    search: (values, n, m, { intervened, nodes, settings }) =>
      fromNamedEdges(
        searchStructure(values, n, m, { nodes, intervened, maxParents: exactMaxParents(m, settings) }).edges,
        nodes,
      ),
  },
  {
    // the linear score with the reading error taken off (errors-in-variables), told the true level
    name: 'search-linear-re',
    search: (values, n, m, { intervened, nodes, settings, readingError }) =>
      fromNamedEdges(
        searchStructure(values, n, m, {
          nodes,
          intervened,
          score: 'linear',
          readingError,
          maxParents: exactMaxParents(m, settings),
        }).edges,
        nodes,
      ),
  },
];

/** Parent sets the exact search enumerates: all up to 8 nodes, at most 3 beyond (2^11 sets a node is too slow). */
export function exactMaxParents(m: number, settings: Pick<Settings, 'exactMaxParents'>): number {
  return settings.exactMaxParents ?? (m <= 8 ? m - 1 : 3);
}

/** Scores of one search against the true graph. */
export interface GraphScore {
  shd: number;
  skeletonF1: number;
  /** directed edges found on true adjacencies, and how many of them point the right way */
  oriented: number;
  orientedRight: number;
}

/**
 * Compare found edges with the true adjacency A (A[i][j] = 1 for i -> j). A pair found in both
 * directions counts as one undirected edge.
 */
export function scoreGraph(A: readonly (readonly number[])[], found: readonly FoundEdge[]): GraphScore {
  const m = A.length;
  // mark[i][j]: 1 when i -> j was reported directed, 2 when {i, j} was reported undirected
  const mark = Array.from({ length: m }, () => new Array<number>(m).fill(0));
  for (const e of found) {
    if (!(e.from >= 0 && e.to >= 0 && e.from < m && e.to < m && e.from !== e.to))
      throw new Error(`scoreGraph: bad edge ${e.from} -> ${e.to} for ${m} nodes`);
    if (!e.directed || mark[e.to][e.from] === 1) {
      mark[e.from][e.to] = 2;
      mark[e.to][e.from] = 2;
    } else if (mark[e.from][e.to] !== 2) mark[e.from][e.to] = 1;
  }
  let shd = 0;
  let truePairs = 0;
  let foundPairs = 0;
  let bothPairs = 0;
  let oriented = 0;
  let orientedRight = 0;
  for (let i = 0; i < m; i++)
    for (let j = i + 1; j < m; j++) {
      const inTrue = A[i][j] || A[j][i];
      const inFound = mark[i][j] || mark[j][i];
      if (inTrue) truePairs++;
      if (inFound) foundPairs++;
      if (inTrue && inFound) {
        bothPairs++;
        const undirected = mark[i][j] === 2;
        const right = (A[i][j] && mark[i][j] === 1) || (A[j][i] && mark[j][i] === 1);
        if (!undirected) {
          oriented++;
          if (right) orientedRight++;
        }
        if (!right) shd++;
      } else if (inTrue || inFound) shd++;
    }
  const skeletonF1 = truePairs + foundPairs === 0 ? 1 : (2 * bothPairs) / (truePairs + foundPairs);
  return { shd, skeletonF1, oriented, orientedRight };
}

/** Labels plus Gaussian noise at `share` of each column's sd (the reading error). */
export function addReadingError(
  values: Float64Array,
  n: number,
  m: number,
  share: number,
  rng: Rng,
): Float64Array {
  const out = Float64Array.from(values);
  if (share === 0) return out;
  for (let j = 0; j < m; j++) {
    let s = 0;
    let s2 = 0;
    for (let r = 0; r < n; r++) {
      s += values[r * m + j];
      s2 += values[r * m + j] ** 2;
    }
    const sd = Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
    for (let r = 0; r < n; r++) out[r * m + j] += share * sd * rng.normal();
  }
  return out;
}

export interface Settings {
  graphs: number;
  nodes: number[];
  families: GraphFamily[];
  /** shares of rows under do(): 0 (observational) and 0.2 */
  regimes: number[];
  errors: number[];
  samples: number;
  methods: string[];
  /** fixed expected degree, or undefined: uniform on [1, 2] per graph */
  degree?: number;
  exactMaxParents?: number;
  notearsSteps: number;
}

const REGIMES: Record<string, number> = { obs: 0, do: 0.2 };
/** Seed family of the tables (apart from the graph seeds' own streams). */
const TABLE_SEEDS = 0x7ab1e;

/** Settings from the command line (`--quick`: 3 graphs of 4 nodes, errors 0 and 0.1, 300 rows). */
export function parseSettings(args: string[]): Settings & { threads: number } {
  const { values: f } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      graphs: { type: 'string' },
      nodes: { type: 'string' },
      families: { type: 'string', default: GRAPH_FAMILIES.join(',') },
      regimes: { type: 'string', default: 'obs,do' },
      errors: { type: 'string' },
      samples: { type: 'string' },
      methods: { type: 'string', default: METHODS.map((x) => x.name).join(',') },
      degree: { type: 'string' },
      'exact-max-parents': { type: 'string' },
      'notears-steps': { type: 'string' },
      threads: { type: 'string', default: '1' },
    },
    allowPositionals: true,
  });
  const list = (s: string) => s.split(',').map((x) => x.trim());
  const nums = (s: string, what: string) =>
    list(s).map((x) => {
      const v = Number(x);
      if (x === '' || !Number.isFinite(v)) throw new Error(`--${what}: '${x}' is not a number`);
      return v;
    });
  const q = f.quick;
  const s: Settings & { threads: number } = {
    graphs: Number(f.graphs ?? (q ? 3 : 20)),
    nodes: nums(f.nodes ?? (q ? '4' : '4,8,12'), 'nodes'),
    families: list(f.families).map((x) => {
      if (!(GRAPH_FAMILIES as readonly string[]).includes(x))
        throw new Error(`--families: '${x}' is not one of ${GRAPH_FAMILIES.join(', ')}`);
      return x as GraphFamily;
    }),
    regimes: list(f.regimes).map((x) => {
      if (!(x in REGIMES)) throw new Error(`--regimes: '${x}' is not one of obs, do`);
      return REGIMES[x];
    }),
    errors: nums(f.errors ?? (q ? '0,0.1' : '0,0.05,0.1,0.2'), 'errors'),
    samples: Number(f.samples ?? (q ? 300 : 1000)),
    methods: list(f.methods).map((x) => {
      if (!METHODS.some((mt) => mt.name === x))
        throw new Error(`--methods: '${x}' is not one of ${METHODS.map((mt) => mt.name).join(', ')}`);
      return x;
    }),
    degree: f.degree !== undefined ? Number(f.degree) : undefined,
    exactMaxParents: f['exact-max-parents'] !== undefined ? Number(f['exact-max-parents']) : undefined,
    notearsSteps: Number(f['notears-steps'] ?? (q ? 600 : 2000)),
    threads: Number(f.threads),
  };
  if (!(Number.isInteger(s.graphs) && s.graphs >= 2)) throw new Error('--graphs: at least 2 (bootstrap)');
  if (!(Number.isInteger(s.samples) && s.samples >= 20)) throw new Error('--samples: an integer >= 20');
  if (s.errors.some((e) => e < 0)) throw new Error('--errors: shares of the sd are >= 0');
  if (s.nodes.some((m) => !(Number.isInteger(m) && m >= NODE_RANGE[0] && m <= NODE_RANGE[1])))
    throw new Error(`--nodes: integers in [${NODE_RANGE[0]}, ${NODE_RANGE[1]}]`);
  if (s.degree !== undefined && !(s.degree > 0)) throw new Error('--degree: a number > 0');
  return s;
}

/** The SCM of graph g in a family and node count (degree uniform on [1, 2] unless fixed). */
export function benchScm(family: GraphFamily, nodes: number, g: number, degree?: number): RandomScm {
  const d = degree ?? 1 + new Rng(deriveSeed(g, nodes), family === 'er' ? 1 : 2).float();
  return randomScm({ graphSeed: g, nodes, graph: family, degree: Math.min(d, nodes - 1) });
}

interface CellResult {
  family: GraphFamily;
  nodes: number;
  regime: number;
  error: number;
  method: string;
  scores: GraphScore[];
  seconds: number[];
}

/** Run every cell; `onCell` hears of each finished cell. */
export function runStructureBench(
  s: Settings,
  onCell?: (r: CellResult, done: number, total: number) => void,
) {
  const methods = METHODS.filter((mt) => s.methods.includes(mt.name));
  const results: CellResult[] = [];
  const total = s.families.length * s.nodes.length * s.regimes.length * s.errors.length * methods.length;
  for (const family of s.families)
    for (const nodes of s.nodes) {
      const scms = Array.from({ length: s.graphs }, (_, g) => benchScm(family, nodes, g, s.degree));
      for (const regime of s.regimes)
        for (const error of s.errors)
          for (const method of methods) {
            const cell: CellResult = {
              family,
              nodes,
              regime,
              error,
              method: method.name,
              scores: [],
              seconds: [],
            };
            for (const [g, scm] of scms.entries()) {
              const table = scm.sampleTable({
                count: s.samples,
                seed: deriveSeed(TABLE_SEEDS, g),
                interventional: regime,
              });
              const values = addReadingError(
                table.values,
                s.samples,
                nodes,
                error,
                new Rng(deriveSeed(g, nodes, Math.round(error * 1000)), 0x5eed),
              );
              const t0 = performance.now();
              const found = method.search(values, s.samples, nodes, {
                intervened: table.intervened,
                nodes: [...scm.names],
                settings: s,
                readingError: error,
              });
              cell.seconds.push((performance.now() - t0) / 1000);
              cell.scores.push(scoreGraph(scm.adjacency, found));
            }
            results.push(cell);
            onCell?.(cell, results.length, total);
          }
    }
  return results;
}

function fmtInterval(iv: Interval | null, digits: number): string {
  if (!iv || !Number.isFinite(iv.mean)) return 'n/a';
  return `${iv.mean.toFixed(digits)} [${iv.lo.toFixed(digits)}, ${iv.hi.toFixed(digits)}]`;
}

/**
 * Pooled orientation precision with its interval, over the graphs that oriented any true
 * adjacency (the others say nothing of it; resampling them would give empty resamples).
 */
function orientationInterval(boot: Bootstrap, scores: readonly GraphScore[]): Interval | null {
  const some = scores.filter((x) => x.oriented > 0);
  return boot.statistic(some.length, (rows) => pooledPrecision(some, rows));
}

/** Pooled orientation precision over the graphs `rows` of `scores`. */
function pooledPrecision(scores: readonly GraphScore[], rows: ArrayLike<number>): number {
  let right = 0;
  let all = 0;
  for (let k = 0; k < rows.length; k++) {
    right += scores[rows[k]].orientedRight;
    all += scores[rows[k]].oriented;
  }
  return all === 0 ? Number.NaN : right / all;
}

/** Markdown rows of the results: one per cell and method, then one per method over every cell. */
export function structureTable(results: readonly CellResult[], s: Settings): string {
  const boot = new Bootstrap({ seed: 0 });
  const lines = [
    '| graph | nodes | data | reading error | method | graphs | SHD | orientation precision | skeleton F1 | s per search |',
    '| --- | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  const label = (r: CellResult) =>
    r.method !== 'notears-mlp' && exactMaxParents(r.nodes, s) < r.nodes - 1
      ? `${r.method} (<= ${exactMaxParents(r.nodes, s)} parents)`
      : r.method;
  const row = (cells: string[], scores: GraphScore[], seconds: number[]) =>
    `| ${[
      ...cells,
      String(scores.length),
      fmtInterval(boot.mean(scores.map((x) => x.shd)), 2),
      fmtInterval(orientationInterval(boot, scores), 2),
      fmtInterval(boot.mean(scores.map((x) => x.skeletonF1)), 2),
      fmtInterval(boot.mean(seconds), 2),
    ].join(' | ')} |`;
  for (const r of results)
    lines.push(
      row(
        [
          r.family,
          String(r.nodes),
          r.regime ? `${Math.round(r.regime * 100)}% do` : 'obs',
          String(r.error),
          label(r),
        ],
        r.scores,
        r.seconds,
      ),
    );
  // Over every cell, each SCM (family, nodes, graph) is one unit with its cells' results merged:
  // the same SCMs recur in every regime and error, so resampling cells would overstate certainty.
  for (const method of s.methods) {
    const mine = results.filter((r) => r.method === method);
    if (!mine.length) continue;
    const units = new Map<string, { scores: GraphScore[]; seconds: number[] }>();
    for (const r of mine)
      for (const [g, score] of r.scores.entries()) {
        const key = `${r.family}/${r.nodes}/${g}`;
        const u = units.get(key) ?? { scores: [], seconds: [] };
        u.scores.push(score);
        u.seconds.push(r.seconds[g]);
        units.set(key, u);
      }
    const mean = (v: number[]) => v.reduce((a, x) => a + x, 0) / v.length;
    const merged = [...units.values()].map((u) => ({
      shd: mean(u.scores.map((x) => x.shd)),
      skeletonF1: mean(u.scores.map((x) => x.skeletonF1)),
      oriented: u.scores.reduce((a, x) => a + x.oriented, 0),
      orientedRight: u.scores.reduce((a, x) => a + x.orientedRight, 0),
    }));
    const seconds = [...units.values()].map((u) => mean(u.seconds));
    lines.push(row(['all', 'all', 'all', 'all', `**${method}** (per SCM)`], merged, seconds));
  }
  return lines.join('\n');
}

export default async function bench(): Promise<void> {
  let s: ReturnType<typeof parseSettings>;
  try {
    s = parseSettings(process.argv.slice(2));
  } catch (e) {
    // a mistake in the flags: one line, no stack
    console.error(`structure: ${(e as Error).message}`);
    process.exitCode = 2;
    return;
  }
  torch.setNumThreads(s.threads);
  const started = performance.now();
  const results = runStructureBench(s, (r, done, total) => {
    const min = (performance.now() - started) / 60000;
    process.stderr.write(
      `  ${done}/${total} ${r.family} ${r.nodes} nodes ${r.regime ? 'do' : 'obs'} error ${r.error} ${r.method}: ` +
        `SHD ${(r.scores.reduce((a, x) => a + x.shd, 0) / r.scores.length).toFixed(2)} ` +
        `(${min.toFixed(1)} min so far, about ${((min / done) * (total - done)).toFixed(0)} to go)\n`,
    );
  });
  console.log(
    `Structure on random SCMs' labels: ${s.graphs} graphs per cell, ${s.samples} rows each, degree ${s.degree ?? 'uniform on [1, 2]'}, ` +
      `NOTEARS-MLP ${s.notearsSteps} steps; means with bootstrap 95% intervals over the graphs (orientation precision: pooled over the graphs that oriented a true edge).\n`,
  );
  console.log(structureTable(results, s));
}
