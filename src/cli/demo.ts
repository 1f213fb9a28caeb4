/**
 * `ccig demo`: the Pendulum world end to end, no download. Renders the world, loads the
 * pretrained pendulum-small checkpoint shipped in models/ (or trains one with --train), runs
 * interventions and counterfactuals, evaluates them against the world's exact ground truth, and
 * writes an HTML report.
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
import { resolveConfig } from '../model/config.ts';
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

export async function demoCommand(raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(
    z.strictObject({ out: z.string(), train: z.boolean().default(false), json: z.boolean().default(false) }),
    raw,
    'demo',
  );
  const say = (s: string) => o.json || process.stderr.write(`${s}\n`);
  const t0 = performance.now();
  makeFolder(o.out, 'create the demo folder');
  checkWritable(o.out, 'write into the demo folder');

  // 1. the world
  await writeContactSheet(pendulum, join(o.out, 'world.png'), { rows: 6, cols: 8, tile: 64 });
  say(
    `1/4 rendered the Pendulum world: ${join(o.out, 'world.png')} (pendulum angle down, light angle across)`,
  );

  // 2. the model
  let checkpoint = SHIPPED_MODEL;
  if (o.train) {
    const cfg = resolveConfig('pendulum-small');
    say(
      `2/4 training pendulum-small from scratch: ${cfg.train.steps} steps of ${cfg.train.batchSize} images; about 30 minutes on 2 free cores (measured ~240 images/s), longer on a busy machine`,
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
    if (!existsSync(SHIPPED_MODEL))
      throw new OptionError(`the shipped model ${SHIPPED_MODEL} is missing; run ccig demo --train`);
    const copy = join(o.out, 'pendulum-small.safetensors');
    describingFaults('copy the shipped model to', copy, () => copyFileSync(SHIPPED_MODEL, copy));
    say(`2/4 loaded the pretrained pendulum-small model (${SHIPPED_MODEL})`);
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
    command: `ccig demo${o.train ? ' --train' : ''} --out ${o.out}`,
  });
  const s = run.result.interventions.summary;
  const secs = (performance.now() - t0) / 1000;
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify({ report: run.htmlPath, seconds: secs, summary: s, graph: run.result.graph.comparison })}\n`,
    );
    return;
  }
  say(
    `4/4 evaluated against the world's exact counterfactuals: descendant error ${s['causal.descendants']?.toFixed(3)} (causal) vs ${s['nonCausal.descendants']?.toFixed(3)} (non-causal edit), non-descendant drift ${s['causal.nonDescendants']?.toFixed(3)} vs ${s['nonCausal.nonDescendants']?.toFixed(3)}`,
  );
  say(
    `\ndone in ${formatSeconds(secs)}. Open the report:\n  file://${resolve(run.htmlPath)}\nor edit images yourself:\n  npx ccig serve --checkpoint ${checkpoint}`,
  );
}
