/** `ccig info CHECKPOINT`: what a checkpoint holds. */
import { z } from 'zod';
import { acyclicity } from '../causal/graph.ts';
import { loadModel } from '../train/checkpoint.ts';
import { parseOptions } from './util.ts';

export async function infoCommand(path: string, raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(z.strictObject({ json: z.boolean().default(false) }), raw, 'info');
  const { model, meta } = loadModel(path);
  const A = model.prior.adjacencyArray();
  const info = {
    checkpoint: path,
    preset: meta.config.preset,
    step: meta.step,
    steps: meta.config.train.steps,
    imageSize: meta.config.imageSize,
    structure: meta.config.scm.structure,
    mechanism: meta.config.scm.mechanism,
    attributes: meta.attributes,
    zFree: meta.config.zFree,
    parameters: model.numParameters(),
    givenGraph: meta.config.scm.edges,
    adjacency: A,
    edges: model.prior.edges(0.3),
    acyclicity: acyclicity(A),
    metrics: meta.metrics,
    createdAt: meta.createdAt,
  };
  if (o.json) {
    process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    return;
  }
  const lines = [
    `checkpoint   ${path}`,
    `preset       ${info.preset}, step ${info.step} of ${info.steps}, ${info.imageSize}px, ${info.parameters.toLocaleString('en')} parameters`,
    `structure    ${info.structure} (${info.mechanism} mechanisms), h(A) = ${info.acyclicity.toExponential(2)}`,
    `attributes   ${meta.attributes.map((a) => `${a.name} (${a.kind}${a.kind === 'continuous' ? ` ${a.min.toFixed(2)}..${a.max.toFixed(2)}` : ''})`).join(', ')}`,
    `free dims    ${info.zFree}`,
    `edges |A|>0.3 ${info.edges.length ? info.edges.map((e) => `${e.from} -> ${e.to} (${e.weight.toFixed(2)})`).join(', ') : 'none'}`,
    `graph given  ${info.givenGraph.map(([a, b]) => `${a} -> ${b}`).join(', ') || 'none'}`,
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
