/**
 * `ccig info CHECKPOINT`: what a checkpoint holds, and how stable each edge of its graph is;
 * `ccig info --engine`: libtorch, CUDA, GPUs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { acyclicity } from '../causal/acyclicity.ts';
import { essentialGraph } from '../causal/essential-graph.ts';
import { EDGE_THRESHOLD, isDag, threshold } from '../causal/graph.ts';
import { OptionError } from '../errors.ts';
import { type EdgeStability, edgeStability, formatEdgeStability } from '../eval/edge-stability.ts';
import { structureLimits } from '../model/config.ts';
import { dist, engineInfo, getNumThreads } from '../torch/index.ts';
import { loadModel } from '../train/checkpoint.ts';
import { openTrainingData } from '../train/data.ts';
import { int, parseOptions } from './util.ts';

/** The file `ccig train` writes beside a checkpoint with its edges' bootstrap stability. */
export const EDGE_STABILITY_FILE = 'edge-stability.json';

/** The engine as `ccig info --engine` prints it. */
export function engineReport(): Record<string, unknown> & { lines: string[] } {
  const e = engineInfo();
  const blas = /BLAS_INFO=(\w+)/.exec(e.config)?.[1];
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
  const lines = [
    `libtorch     ${e.version}${blas ? ` (BLAS: ${blas})` : ''}`,
    `CUDA         ${e.cuda ? `built with CUDA ${e.cuda}` : 'none (a CPU build of libtorch)'}${e.driverCuda ? `; the driver supports CUDA ${e.driverCuda}` : ''}`,
    `devices      cpu (${getNumThreads()} threads)${e.devices.map((d) => `, cuda:${d.index} ${d.name} (${gib(d.totalBytes)})`).join('')}`,
    `default      ${e.devices.length ? 'cuda' : 'cpu'} (commands take --device cpu|cuda|cuda:N)`,
    `distributed  ${dist.availableBackends().join(', ') || 'none (built without c10d)'} (train --nproc, or WORLD_SIZE and RANK)`,
  ];
  const { config: _config, ...rest } = e;
  return {
    ...rest,
    cuda: rest.cuda ?? null,
    driverCuda: rest.driverCuda ?? null,
    threads: getNumThreads(),
    distributedBackends: dist.availableBackends(),
    lines,
  };
}

export async function infoCommand(path: string | undefined, raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(
    z.strictObject({
      engine: z.boolean().default(false),
      json: z.boolean().default(false),
      stability: z.boolean().default(false),
      data: z.string().optional(),
      resamples: int.min(1).max(1000).default(20),
    }),
    raw,
    'info',
  );
  if (o.engine) {
    const { lines, ...report } = engineReport();
    process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : `${lines.join('\n')}\n`);
    if (!path) return;
  }
  if (!path) throw new OptionError('info: give a checkpoint (ccig info FILE) or --engine');
  const { model, meta } = loadModel(path);
  const A = model.prior.adjacencyArray();
  const stabilityFile = join(dirname(path), EDGE_STABILITY_FILE);
  let stability: EdgeStability | null = null;
  let stabilitySource = '';
  const limit = structureLimits(meta.config).edgeStability;
  if (o.stability && !limit) {
    const data = await openTrainingData(meta.config, { path: o.data });
    stability = edgeStability(model, data.heldOut, { resamples: o.resamples });
    stabilitySource = `measured now on ${stability?.n ?? 0} held-out images`;
  } else if (existsSync(stabilityFile)) {
    stability = JSON.parse(readFileSync(stabilityFile, 'utf8')) as EdgeStability;
    stabilitySource = `from ${stabilityFile}`;
  }
  const info = {
    checkpoint: path,
    preset: meta.config.preset,
    step: meta.step,
    steps: meta.config.train.steps,
    imageSize: meta.config.imageSize,
    structure: meta.config.scm.structure,
    mechanism: meta.config.scm.mechanism,
    parents: meta.config.scm.parents,
    attributes: meta.attributes,
    zFree: meta.config.zFree,
    parameters: model.numParameters(),
    givenGraph: meta.config.scm.edges,
    adjacency: A,
    edges: model.prior.edges(EDGE_THRESHOLD),
    edgeStability: stability,
    acyclicity: acyclicity(A),
    metrics: meta.metrics,
    createdAt: meta.createdAt,
  };
  if (o.json) {
    process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    return;
  }
  // without measured stability (which knows the held-out regimes), the observational class
  const drawn = threshold(model.prior.standardizedEffects(), EDGE_THRESHOLD);
  const cpdag = isDag(drawn) ? essentialGraph(drawn) : undefined;
  const names = meta.attributes.map((a) => a.name);
  const undetermined = (e: { from: string; to: string }) =>
    cpdag !== undefined && cpdag.directed[names.indexOf(e.from)][names.indexOf(e.to)] === 0;
  const edgeList = `edges (effect>${EDGE_THRESHOLD}) ${info.edges.length ? info.edges.map((e) => `${e.from} ${undetermined(e) ? '--' : '->'} ${e.to} (${e.weight.toFixed(2)})`).join(', ') : 'none'}`;
  const undeterminedNote = info.edges.some(undetermined)
    ? '             --: a direction observational data alone do not determine (the CPDAG); trained as drawn'
    : '';
  const skipped = stability?.skipped ?? limit;
  const edgeLines = skipped
    ? [edgeList, undeterminedNote, `             stability not measured: ${skipped}`].filter(Boolean)
    : stability
      ? [
          `edges        weight and stability (${stabilitySource}, ${stability.resamples} resamples):`,
          ...formatEdgeStability(stability, '  '),
        ]
      : [
          edgeList,
          undeterminedNote,
          model.prior.mode === 'none'
            ? ''
            : '             stability not measured: ccig info --stability (or ccig eval) measures it',
        ].filter(Boolean);
  const lines = [
    `checkpoint   ${path}`,
    `preset       ${info.preset}, step ${info.step} of ${info.steps}, ${info.imageSize}px, ${info.parameters.toLocaleString('en')} parameters`,
    `structure    ${info.structure} (${info.mechanism} mechanisms, ${info.parents} parents), h(A) = ${info.acyclicity.toExponential(2)}`,
    `attributes   ${meta.attributes.map((a) => `${a.name} (${a.kind}${a.kind === 'continuous' ? ` ${a.min.toFixed(2)}..${a.max.toFixed(2)}` : ''})`).join(', ')}`,
    `free dims    ${info.zFree}`,
    ...edgeLines,
    `graph given  ${info.givenGraph.map(([a, b]) => `${a} -> ${b}`).join(', ') || 'none'}${info.structure === 'given' ? ' (A can only have these edges: they were given, not learned)' : ''}`,
    `saved        ${info.createdAt}`,
  ];
  const corr = (meta.metrics as { corr?: Record<string, number> }).corr;
  if (corr)
    lines.push(
      `held-out corr(mu_c, label) ${Object.entries(corr)
        .map(([k, v]) => `${k} ${v.toFixed(3)}`)
        .join(', ')}`,
    );
  process.stdout.write(`${lines.join('\n')}\n`);
}
