/**
 * `ccig eval`: evaluates a checkpoint, writes report.json and a self-contained report.html with
 * graphs, grids, curves and tables.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import type { Dataset } from '../data/dataset.ts';
import { pngBytes, tileGrid, toRgbTiles, writePng } from '../data/grid.ts';
import { generateWorldDataset, type WorldDataset, worldByName } from '../data/world-dataset.ts';
import { FileSystemError, OptionError } from '../errors.ts';
import { binaryEditSummary } from '../eval/binary-edits.ts';
import { formatEdgeStability } from '../eval/edge-stability.ts';
import { type EvalResult, evaluate } from '../eval/evaluate.ts';
import { loadOracle, ORACLE_RECIPE, type Oracle, saveOracle, trainOracle } from '../eval/oracle.ts';
import { type ReportData, type ReportImage, renderReport } from '../eval/report.ts';
import { checkWritable, makeFolder, writeFileAtomic } from '../files.ts';
import type { Ccig } from '../model/ccig.ts';
import { attributeRange, counterfactual, intervene, type RealEditOptions, traverse } from '../model/edit.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { type CheckpointMeta, loadModel } from '../train/checkpoint.ts';
import { type OpenedData, openTrainingData } from '../train/data.ts';
import { editGrid } from './ops.ts';
import { deviceFlag, int, parseOptions, posInt, progressBar, useDevice } from './util.ts';

const Flags = z.strictObject({
  checkpoint: z.string(),
  data: z.string().optional(),
  out: z.string(),
  n: posInt.max(10000),
  oracle: z.string().optional(),
  oracleSteps: posInt.max(100000),
  threads: posInt.optional(),
  strict: z.boolean().default(false),
  device: deviceFlag,
  resamples: int.min(0).max(1000),
  refine: int.min(0).max(10000).default(0),
  residual: z.boolean().default(false),
  split: z.enum(['test', 'valid']).default('test'),
  json: z.boolean().default(false),
});

/** Seed of the fresh world renders the oracle of a world model learns from. */
const ORACLE_WORLD_SEED = 777;
const ORACLE_WORLD_COUNT = 8000;

/**
 * The cached oracle's file: named by what it reads and keyed by a hash of its recipe (version,
 * steps, seed) and of the first images and labels it trains on, so that a changed renderer or
 * dataset trains a new oracle instead of reusing one that reads another picture.
 */
export function oracleCachePath(model: Ccig, train: Dataset, steps: number): string {
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  const cfg = model.config;
  const what =
    cfg.data.kind === 'world' ? `world-${cfg.data.world}` : `${cfg.data.kind}-${cfg.attributes.join('+')}`;
  const source = oracleSource(model, train, 4);
  const hash = createHash('sha256').update(
    JSON.stringify({
      recipe: ORACLE_RECIPE,
      steps,
      seed: source.seed,
      flip: source.flip,
      attributes: source.data.attributes,
    }),
  );
  const b = source.data.batch(Array.from({ length: Math.min(4, source.data.size) }, (_, i) => i));
  hash.update(new Uint8Array(b.images.buffer, b.images.byteOffset, b.images.byteLength));
  hash.update(new Uint8Array(b.labels.buffer, b.labels.byteOffset, b.labels.byteLength));
  const key = hash.digest('hex').slice(0, 12);
  return join(base, 'ccig', 'oracles', `oracle-${what}-${cfg.imageSize}-${steps}-${key}.safetensors`);
}

/** What the oracle learns from: fresh renders of a world (disjoint by seed), else the training set. */
function oracleSource(model: Ccig, train: Dataset, count = ORACLE_WORLD_COUNT) {
  const cfg = model.config;
  if (cfg.data.kind !== 'world')
    return {
      data: train,
      seed: undefined,
      // faces are flipped like the model's training images; worlds are not symmetric
      flip: cfg.train.flip,
      source: `the ${train.size.toLocaleString('en')} ${cfg.data.kind} training images (class-balanced loss${cfg.train.flip ? ', flips' : ''})`,
    };
  // example k depends only on (seed, k), so the first examples of a small set equal the big one's
  const data = generateWorldDataset(worldByName(cfg.data.world ?? 'pendulum'), {
    count,
    imageSize: cfg.imageSize,
    seed: ORACLE_WORLD_SEED,
  });
  return {
    data,
    seed: ORACLE_WORLD_SEED,
    flip: false,
    source: `${count.toLocaleString('en')} exact renders of the ${cfg.data.world} world`,
  };
}

/** The oracle for a model's data: given, cached, or trained now (and cached). */
export function getOracle(
  model: Ccig,
  train: Dataset,
  test: Dataset,
  { path, quiet = false, steps = 1500 }: { path?: string; quiet?: boolean; steps?: number } = {},
): Oracle {
  const file = path ?? oracleCachePath(model, train, steps);
  if (existsSync(file)) return loadOracle(file);
  const { data: oracleTrain, source, flip } = oracleSource(model, train);
  const bar = progressBar('training the evaluation oracle', steps, { quiet });
  const oracle = trainOracle(oracleTrain, test, {
    source,
    steps,
    flip,
    onProgress: (s) => bar.update(s),
  });
  bar.stop();
  // the oracle is a cache: failing to keep it costs time next run, not this evaluation
  try {
    makeFolder(dirname(file), 'create the oracle cache folder');
    saveOracle(file, oracle);
  } catch (e) {
    if (!(e instanceof FileSystemError)) throw e;
    process.stderr.write(`ccig: warning: ${e.message}; the oracle will be trained again next time\n`);
  }
  return oracle;
}

function grid(t: Tensor, size: number, cols: number) {
  return tileGrid(toRgbTiles(t.toFloat32Array(), t.shape[0], size), size, cols);
}

/** Intervention, counterfactual and traversal grids for the report. */
async function reportImages(model: Ccig, test: Dataset, edit: RealEditOptions = {}): Promise<ReportImage[]> {
  const S = model.config.imageSize;
  const names = model.config.attributes;
  const out: ReportImage[] = [];
  const roots = names.filter((_, j) => !model.config.scm.edges.some(([, to]) => to === names[j]));
  const nx = Math.min(6, test.size);
  const b = test.batch(Array.from({ length: nx }, (_, i) => i));
  for (const name of roots.length ? roots : names.slice(0, 1)) {
    const i = names.indexOf(name);
    const a = model.attributes[i];
    const target = a.kind === 'binary' ? 1 : a.min + 0.8 * (a.max - a.min);
    torch.manualSeed(1);
    const imgs = torch.scope(() => {
      const x = torch.tensor(b.images, { shape: [nx, 3, S, S] });
      const cf = counterfactual(model, x, { [name]: target }, edit);
      const inter = intervene(model, { [name]: target }, 6);
      const values = attributeRange(model, name, 8);
      const tr = traverse(model, name, values, 2);
      return {
        cf: editGrid(cf, S),
        inter: editGrid(inter, S),
        trc: grid(tr.causal, S, 8),
        trn: grid(tr.nonCausal, S, 8),
        values,
      };
    });
    out.push(
      {
        title: `counterfactual: do(${name} = ${target.toFixed(2)})`,
        caption: 'test images: reconstruction | causal counterfactual | non-causal edit',
        png: await pngBytes(imgs.cf, 2),
      },
      {
        title: `intervention on samples: do(${name} = ${target.toFixed(2)})`,
        caption: 'sample | do() with propagation | non-causal edit',
        png: await pngBytes(imgs.inter, 2),
      },
      {
        title: `traversal of ${name} (causal)`,
        caption: `${name} = ${imgs.values.map((v) => v.toFixed(1)).join(', ')}; descendants follow the learned SCM`,
        png: await pngBytes(imgs.trc, 2),
      },
      {
        title: `traversal of ${name} (non-causal)`,
        caption: 'same values, only the latent itself changed',
        png: await pngBytes(imgs.trn, 2),
      },
    );
  }
  torch.manualSeed(2);
  const samples = torch.scope(() => torch.noGrad(() => grid(model.decode(model.sampleLatent(32)), S, 8)));
  out.push({
    title: 'random samples',
    caption: 'G(z), z from the learned SCM prior',
    png: await pngBytes(samples, 2),
  });
  return out;
}

/**
 * Counterfactual rows for every binary attribute a, written as PNGs into `dir` (never into the
 * report's JSON): per face, face | reconstruction | do(a = 1) | do(a = 0) | the non-causal edit
 * to the other value than the face's label. Four faces labelled 0, then four labelled 1.
 */
async function writeEditGrids(
  model: Ccig,
  test: Dataset,
  dir: string,
  inversion: RealEditOptions,
): Promise<string[]> {
  const S = model.config.imageSize;
  const names = model.config.attributes;
  const m = names.length;
  const N = Math.min(test.size, 1000);
  const labels = test.batch(Array.from({ length: N }, (_, i) => i)).labels;
  const written: string[] = [];
  makeFolder(dir, 'create the grid folder');
  for (let i = 0; i < m; i++) {
    if (model.attributes[i].kind !== 'binary') continue;
    const pick = (v: number) =>
      Array.from({ length: N }, (_, r) => r)
        .filter((r) => labels[r * m + i] === v)
        .slice(0, 4);
    const idx = [...pick(0), ...pick(1)];
    if (idx.length === 0) continue;
    const b = test.batch(idx);
    const tiles = torch.scope(() => {
      const x = torch.tensor(b.images, { shape: [idx.length, 3, S, S] });
      const up = counterfactual(model, x, { [names[i]]: 1 }, inversion);
      const down = counterfactual(model, x, { [names[i]]: 0 }, inversion);
      const t = (imgs: Tensor) => toRgbTiles(imgs.toFloat32Array(), idx.length, S);
      const [face, recon, one, zero, ncUp, ncDown] = [
        x,
        up.factual,
        up.causal,
        down.causal,
        up.nonCausal,
        down.nonCausal,
      ].map(t);
      return idx.flatMap((_, r) => [
        face[r],
        recon[r],
        one[r],
        zero[r],
        b.labels[r * m + i] > 0.5 ? ncDown[r] : ncUp[r],
      ]);
    });
    const file = join(dir, `counterfactual-${names[i]}.png`);
    await writePng(file, tileGrid(tiles, S, 5), 2, 'write the counterfactual grid');
    written.push(file);
  }
  return written;
}

export interface EvalRun {
  result: EvalResult;
  /** PNG grids of counterfactual rows written next to the report (labelled real data) */
  grids: string[];
  html: string;
  jsonPath: string;
  htmlPath: string;
}

/** Library entry used by `ccig eval` and `ccig demo`. */
export async function runEvaluation(o: {
  checkpoint: string;
  out: string;
  n: number;
  data?: string;
  oracle?: string;
  oracleSteps?: number;
  /** stop on the first unreadable image (CelebA, folders) instead of skipping it */
  strict?: boolean;
  /** bootstrap resamples of the edge stability (default 20; 0 skips it) */
  resamples?: number;
  /** steps refining each test image's free latents (`invert`; default 0) */
  refine?: number;
  /** edit real images as x + G(z_do) - G(z) (default false) */
  residual?: boolean;
  /** the held-out split evaluated (CelebA, folders; default 'test') */
  split?: 'valid' | 'test';
  quiet?: boolean;
  command?: string;
  /** the checkpoint's data, already opened by the caller (the demo): not opened (rendered) again */
  opened?: OpenedData;
}): Promise<EvalRun> {
  // an unwritable report folder is found before minutes of evaluation, not after
  makeFolder(o.out, 'create the report folder');
  checkWritable(o.out, 'write the report into');
  const { model, meta } = loadModel(o.checkpoint);
  const data =
    o.opened ??
    (await openTrainingData(meta.config, {
      path: o.data,
      heldOutSplit: o.split,
      strict: o.strict,
      strictName: '--strict',
      onWarning: (m) => process.stderr.write(`ccig: warning: ${m}\n`),
    }));
  if (data.test.size === 0) {
    model.dispose();
    throw new OptionError(
      `${o.data ?? meta.config.data.path} has no ${o.split === 'valid' ? 'validation' : 'test'} images to evaluate on`,
    );
  }
  const world = data.world ? (data.test as WorldDataset) : undefined;
  const oracle = getOracle(model, data.train, data.test, {
    path: o.oracle,
    quiet: o.quiet,
    steps: o.oracleSteps,
  });
  const residual = !world && (o.residual ?? false);
  const inversion: RealEditOptions = { refine: o.refine ?? 0, residual };
  const result = evaluate(model, data.test, oracle, {
    n: o.n,
    world,
    heldOut: data.heldOut,
    resamples: o.resamples ?? 20,
    inversion: { refine: inversion.refine },
    residual,
  });
  const grids = result.binaryEdits
    ? await writeEditGrids(model, data.test, join(o.out, 'grids'), inversion)
    : [];
  const images = await reportImages(model, data.test, inversion);
  const logPath = join(dirname(o.checkpoint), 'log.jsonl');
  const log = existsSync(logPath) ? readLog(logPath) : [];
  const html = renderReport({
    title: `CCIG evaluation — ${meta.config.preset} (${meta.config.scm.structure})`,
    checkpoint: o.checkpoint,
    command:
      o.command ??
      `ccig eval --checkpoint ${o.checkpoint} --out ${o.out} --n ${o.n}${o.refine ? ` --refine ${o.refine}` : ''}${residual ? ' --residual' : ''}${o.split === 'valid' ? ' --split valid' : ''}`,
    step: meta.step,
    preset: meta.config.preset,
    structure: meta.config.scm.structure,
    result,
    images,
    log,
    grids,
  });
  const jsonPath = join(o.out, 'report.json');
  const htmlPath = join(o.out, 'report.html');
  writeFileAtomic(
    jsonPath,
    `${JSON.stringify(
      {
        checkpoint: o.checkpoint,
        step: meta.step,
        config: meta.config,
        data: data.description,
        split: o.split ?? 'test',
        refine: o.refine ?? 0,
        residual,
        classLatents: model.classLatents() !== null,
        ...result,
        grids,
      },
      null,
      2,
    )}\n`,
    'write the report',
  );
  writeFileAtomic(htmlPath, html, 'write the report');
  return { result, grids, html, jsonPath, htmlPath };
}

/**
 * The training log's lines, skipping any that do not parse (a line cut short by a disk that
 * filled up before ccig learned to roll such lines back): the curves lose a point, not the report.
 */
function readLog(path: string): ReportData['log'] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const out: ReportData['log'] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const row = JSON.parse(line);
      if (typeof row?.step === 'number' && typeof row.losses === 'object') out.push(row);
    } catch {
      // a partial line: skip it
    }
  }
  return out;
}

export async function evalCommand(raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(Flags, raw, 'eval');
  if (o.threads) torch.setNumThreads(o.threads);
  useDevice(o.device);
  const run = await runEvaluation({ ...o, quiet: o.json });
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ ...run.result, grids: run.grids })}\n`);
    return;
  }
  const r = run.result;
  const s = r.interventions.summary;
  const e = r.binaryEdits ? binaryEditSummary(r.binaryEdits) : null;
  const f3 = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(3));
  process.stderr.write(
    `${[
      r.graph.caveat
        ? `graph: ${r.graph.caveat}; h(A) ${r.graph.h.toExponential(2)}`
        : `graph: SHD ${r.graph.comparison.shd} vs ${r.graph.reference} (TPR ${r.graph.comparison.tpr.toFixed(2)}, FDR ${r.graph.comparison.fdr.toFixed(2)}), h(A) ${r.graph.h.toExponential(2)}`,
      `edges (weight, stability on ${r.edgeStability?.n ?? 0} held-out latents):`,
      ...formatEdgeStability(r.edgeStability, '  '),
      `alignment: Spearman(latent_i, factor_i) ${r.attributes.map((a, i) => `${a} ${r.alignment.spearman.latents[i][i].toFixed(3)}`).join(', ')}`,
      s['causal.descendants'] !== undefined
        ? `interventions (normalized error, causal vs non-causal): effectiveness ${s['causal.effectiveness']?.toFixed(3)} vs ${s['nonCausal.effectiveness']?.toFixed(3)}, descendants ${s['causal.descendants']?.toFixed(3)} vs ${s['nonCausal.descendants']?.toFixed(3)}, non-descendants ${s['causal.nonDescendants']?.toFixed(3)} vs ${s['nonCausal.nonDescendants']?.toFixed(3)}`
        : `interventions (causal vs non-causal): target reached (binary) ${s['causal.targetHit']?.toFixed(3) ?? '–'} vs ${s['nonCausal.targetHit']?.toFixed(3) ?? '–'}, target error (continuous) ${s['causal.targetError']?.toFixed(3) ?? '–'} vs ${s['nonCausal.targetError']?.toFixed(3) ?? '–'}, non-descendant shift ${s['causal.nonDescendantShift']?.toFixed(3) ?? '–'} vs ${s['nonCausal.nonDescendantShift']?.toFixed(3) ?? '–'}`,
      `axioms: composition pixel L1 ${r.axioms.composition.pixel.map((v, k) => `${r.axioms.composition.cycles[k]}x ${v?.mean.toFixed(2)}`).join(', ')}; reversibility pixel L1 ${r.axioms.reversibility.pixel.map((v, k) => `${r.axioms.reversibility.cycles[k]}x ${v?.mean.toFixed(2)}`).join(', ')}; minimality CLD (causal) ${r.axioms.minimality.map((m) => `${m.attribute} ${m.causal.cld?.mean.toFixed(3)}`).join(', ')}`,
      ...(e
        ? [
            `edits of held-out faces (causal vs non-causal${r.binaryEdits?.residual ? ', residual' : ''}): success ${f3(e['causal.success'])} vs ${f3(e['nonCausal.success'])}, non-descendants kept ${f3(e['causal.nonDescendantAgreement'])} vs ${f3(e['nonCausal.nonDescendantAgreement'])}, SSIM to the face ${f3(e['causal.ssim'])} vs ${f3(e['nonCausal.ssim'])} (outside the edit ${f3(e['causal.ssimOutside'])} vs ${f3(e['nonCausal.ssimOutside'])}), pixel L1 ${f3(e['causal.pixelL1'])} vs ${f3(e['nonCausal.pixelL1'])}; reconstructions keep every attribute in ${f3(e['reconstruction.allKept'])}`,
            `per edit (success, Frechet ratio to reconstructions on oracle features / colour layout, threshold ${r.binaryEdits?.realismRatio}): ${r.binaryEdits?.rows.map((x) => `${x.attribute}=${x.target} ${f3(x.success.causal?.mean)} ${x.realism.ratio?.toFixed(2) ?? '–'}/${x.realism.layout?.ratio?.toFixed(2) ?? '–'}${x.works ? '' : ' FAIL'}`).join(', ')}`,
            `editable: ${Object.entries(r.binaryEdits?.editable ?? {})
              .map(([a, ok]) => `${a} ${ok ? 'yes' : 'no'}`)
              .join(', ')}`,
            `counterfactual grids: ${run.grids.join(', ')}`,
          ]
        : []),
      `quality: reconstruction L1 ${r.quality.reconstructionL1.toFixed(4)}, oracle Frechet ${r.quality.oracleFrechet.toFixed(3)}, KID ${r.quality.oracleKid.toFixed(4)}`,
      `wrote ${run.jsonPath} and ${run.htmlPath} (open it in a browser: file://${resolve(run.htmlPath)})`,
    ].join('\n')}\n`,
  );
}

export type { CheckpointMeta };
