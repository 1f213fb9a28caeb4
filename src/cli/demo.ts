/**
 * `ccig demo`: the Pendulum world end to end, no download. Renders the world, loads the
 * pretrained pendulum-small checkpoint shipped in models/ (or trains one with --train), runs
 * interventions and counterfactuals, evaluates them against the world's exact ground truth, and
 * writes an HTML report. `--structure learned` does the same with the model whose graph was
 * learned (MLP parents, 20% interventional training images): its report shows the learned graph
 * beside the true one, with each edge's bootstrap stability.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { writeContactSheet } from '../data/contact-sheet.ts';
import { tileGrid, toRgbTiles, writePng } from '../data/grid.ts';
import { pendulum } from '../data/pendulum.ts';
import { OptionError } from '../errors.ts';
import { checkWritable, describingFaults, makeFolder } from '../files.ts';
import { type CcigConfig, resolveConfig } from '../model/config.ts';
import { counterfactual, intervene } from '../model/edit.ts';
import * as torch from '../torch/index.ts';
import { loadModel } from '../train/checkpoint.ts';
import { openTrainingData } from '../train/data.ts';
import { train } from '../train/train.ts';
import { runEvaluation } from './eval.ts';
import { editGrid } from './ops.ts';
import { formatSeconds, parseOptions, progressBar } from './util.ts';

const MODELS = join(dirname(fileURLToPath(import.meta.url)), '../../models');
export const SHIPPED_MODEL = join(MODELS, 'pendulum-small.safetensors');
export const SHIPPED_ORACLE = join(MODELS, 'oracle-pendulum-64.safetensors');
export const SHIPPED_LEARNED_MODEL = join(MODELS, 'pendulum-learned.safetensors');

/**
 * What `--train` trains: the recipe of the shipped model it stands in for, on top of the
 * pendulum-small preset (test/demo-recipe.test.ts checks them against the shipped checkpoints).
 * The given graph's model has MLP parents, which the preset (linear parents) does not.
 */
const GIVEN_RECIPE = { scm: { parents: 'mlp' } };
/** The shipped learned model's: graph by exact search, MLP parents, 20% interventional images. */
const LEARNED_RECIPE = {
  scm: { structure: 'learned', parents: 'mlp' },
  data: { interventional: 0.2 },
};

/** The config `ccig demo --train` trains with. */
export function demoTrainingConfig(structure: 'given' | 'learned'): CcigConfig {
  return resolveConfig('pendulum-small', structure === 'learned' ? LEARNED_RECIPE : GIVEN_RECIPE);
}
const LEARNED_COMMAND =
  'ccig train --preset pendulum-small --structure learned --parents mlp --interventional 0.2';

export async function demoCommand(raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(
    z.strictObject({
      out: z.string(),
      train: z.boolean().default(false),
      structure: z.enum(['given', 'learned']).default('given'),
      json: z.boolean().default(false),
    }),
    raw,
    'demo',
  );
  const say = (s: string) => o.json || process.stderr.write(`${s}\n`);
  const t0 = performance.now();
  const learned = o.structure === 'learned';
  const shipped = learned ? SHIPPED_LEARNED_MODEL : SHIPPED_MODEL;
  if (!o.train && !existsSync(shipped))
    throw new OptionError(
      learned
        ? `the learned-structure model ${shipped} is not shipped with this copy; train one with \`ccig demo --structure learned --train\` (or ${LEARNED_COMMAND})`
        : `the shipped model ${shipped} is missing; run ccig demo --train`,
    );
  makeFolder(o.out, 'create the demo folder');
  checkWritable(o.out, 'write into the demo folder');

  // 1. the world
  await writeContactSheet(pendulum, join(o.out, 'world.png'), { rows: 6, cols: 8, tile: 64 });
  say(
    `1/4 rendered the Pendulum world: ${join(o.out, 'world.png')} (pendulum angle down, light angle across)`,
  );

  // 2. the model
  let checkpoint = shipped;
  if (o.train) {
    const cfg = demoTrainingConfig(o.structure);
    say(
      `2/4 training pendulum-small${learned ? ' (graph learned by exact search, MLP parents, 20% interventional images)' : ' (given graph, MLP parents, as the shipped model)'} from scratch: ${cfg.train.steps} steps of ${cfg.train.batchSize} images; about 30 minutes on 2 free cores (measured ~240 images/s), longer on a busy machine`,
    );
    const data = await openTrainingData(cfg);
    const runDir = join(o.out, 'run');
    const bar = progressBar('training', cfg.train.steps, { quiet: o.json });
    await train({
      config: cfg,
      data,
      outDir: runDir,
      onProgress: (p) =>
        bar.update(p.step, `| ${p.imagesPerSecond.toFixed(0)} img/s | eta ${formatSeconds(p.etaSeconds)}`),
    });
    bar.stop();
    checkpoint = join(runDir, 'checkpoint.safetensors');
  } else {
    const copy = join(o.out, learned ? 'pendulum-learned.safetensors' : 'pendulum-small.safetensors');
    describingFaults('copy the shipped model to', copy, () => copyFileSync(shipped, copy));
    say(
      `2/4 loaded the pretrained pendulum-small model${learned ? ' whose causal graph was learned (exact search, MLP parents, 20% interventional training images)' : ''} (${shipped})`,
    );
  }

  // 3. interventions and counterfactuals
  const { model } = loadModel(checkpoint);
  const S = model.config.imageSize;
  const data = await openTrainingData(model.config);
  const n = 6;
  const b = data.test.batch(Array.from({ length: n }, (_, i) => i));
  torch.manualSeed(0);
  const grids = torch.scope(() => {
    const x = torch.tensor(b.images, { shape: [n, 3, S, S] });
    return {
      light: editGrid(counterfactual(model, x, { light_angle: 120 }), S),
      pend: editGrid(counterfactual(model, x, { pendulum_angle: 30 }), S),
      sample: editGrid(intervene(model, { pendulum_angle: -30 }, n), S),
      real: tileGrid(toRgbTiles(x.toFloat32Array(), n, S), S, n),
    };
  });
  await writePng(join(o.out, 'counterfactual-light.png'), grids.light, 2);
  await writePng(join(o.out, 'counterfactual-pendulum.png'), grids.pend, 2);
  await writePng(join(o.out, 'intervene-samples.png'), grids.sample, 2);
  say(
    `3/4 counterfactuals do(light_angle = 120) and do(pendulum_angle = 30) of test images, and do(pendulum_angle = -30) on samples: ${o.out}/counterfactual-*.png, intervene-samples.png (columns: factual | causal | non-causal)`,
  );

  // 4. evaluation against the exact ground truth, and the report
  const run = await runEvaluation({
    checkpoint,
    out: o.out,
    n: 200,
    oracle: existsSync(SHIPPED_ORACLE) ? SHIPPED_ORACLE : undefined,
    quiet: o.json,
    // the edge stability costs a minute on a CPU: measured where the graph was learned
    resamples: learned ? 10 : 0,
    // the world rendered once: step 3 opened it already
    opened: data,
    command: `ccig demo${learned ? ' --structure learned' : ''}${o.train ? ' --train' : ''} --out ${o.out}`,
  });
  const s = run.result.interventions.summary;
  const secs = (performance.now() - t0) / 1000;
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify({ report: run.htmlPath, seconds: secs, summary: s, graph: { ...run.result.graph.comparison, caveat: run.result.graph.caveat } })}\n`,
    );
    return;
  }
  if (learned) {
    const g = run.result.graph;
    const list = (es: { from: string; to: string }[]) =>
      es.map((e) => `${e.from} -> ${e.to}`).join(', ') || 'none';
    say(
      `    learned graph: ${list(g.learnedEdges)}\n    true graph:    ${list(g.referenceEdges.map(([from, to]) => ({ from, to })))}\n    SHD ${g.comparison.shd} (TPR ${g.comparison.tpr.toFixed(2)}, FDR ${g.comparison.fdr.toFixed(2)}); both are drawn side by side in the report`,
    );
  }
  say(
    `4/4 evaluated against the world's exact counterfactuals: descendant error ${s['causal.descendants']?.toFixed(3)} (causal) vs ${s['nonCausal.descendants']?.toFixed(3)} (non-causal edit), non-descendant drift ${s['causal.nonDescendants']?.toFixed(3)} vs ${s['nonCausal.nonDescendants']?.toFixed(3)}`,
  );
  say(
    `\ndone in ${formatSeconds(secs)}. Open the report:\n  file://${resolve(run.htmlPath)}\nor edit images yourself:\n  npx ccig serve --checkpoint ${checkpoint}`,
  );
}
