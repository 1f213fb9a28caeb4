/**
 * `ccig calibrate`: adds to a checkpoint what do() and the editor need beyond the weights.
 * - `--data`: the class latents (per binary attribute, the median of the encoder's mu_c over the
 *   training images labelled 0 and over those labelled 1), stored as the buffer `class_latents`,
 *   so do(a = 1) sets a latent where real images of that class lie instead of logit(0.999) = 6.9;
 * - `--report`: which attributes an editor should offer (`editable`, in the checkpoint's
 *   metadata), from a `ccig eval` report.json: both edits of the attribute succeed and look real.
 * Every other tensor and the rest of the metadata are copied byte for byte; the file is written
 * atomically (it may be the checkpoint itself).
 */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { CheckpointError, OptionError } from '../errors.ts';
import type { BinaryEditsResult } from '../eval/binary-edits.ts';
import { CLASS_LATENTS, type ClassLatents } from '../model/ccig.ts';
import * as torch from '../torch/index.ts';
import { CHECKPOINT_FORMAT, type EditableRecord, loadModel } from '../train/checkpoint.ts';
import { openTrainingData } from '../train/data.ts';
import { parseOptions, posInt } from './util.ts';

const Flags = z.strictObject({
  checkpoint: z.string(),
  out: z.string(),
  data: z.string().optional(),
  report: z.string().optional(),
  n: posInt.max(1_000_000).optional(),
  threads: posInt.optional(),
  strict: z.boolean().default(false),
  json: z.boolean().default(false),
});

/** The `editable` record from a report.json's binary-edits section; an OptionError if it has none. */
export function editableFromReport(path: string, attributes: readonly string[]): EditableRecord {
  if (!existsSync(path)) throw new OptionError(`--report ${path}: no such file`);
  let report: {
    checkpoint?: string;
    n?: number;
    refine?: number;
    binaryEdits?: BinaryEditsResult | null;
  };
  try {
    report = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new OptionError(`--report ${path}: not a JSON report of ccig eval`);
  }
  const e = report.binaryEdits;
  if (!e?.editable)
    throw new OptionError(
      `--report ${path}: has no per-attribute edit checks (run ccig eval on labelled faces with this version)`,
    );
  const unknown = Object.keys(e.editable).filter((a) => !attributes.includes(a));
  if (unknown.length)
    throw new OptionError(`--report ${path}: attributes ${unknown.join(', ')} are not the model's`);
  const why: Record<string, string> = {};
  for (const r of e.rows) {
    const fails: string[] = [];
    if (r.success.causal && r.success.causal.mean < e.successTarget)
      fails.push(`do(=${r.target}) succeeds on ${r.success.causal.mean.toFixed(2)} of faces`);
    if (r.realism.pass === false)
      fails.push(
        `do(=${r.target}) Frechet ${r.realism.ratio?.toFixed(2)}x the reconstructions' (colour layout ${r.realism.layout?.ratio?.toFixed(2) ?? '–'}x)`,
      );
    if (fails.length) why[r.attribute] = [why[r.attribute], ...fails].filter(Boolean).join('; ');
  }
  return {
    attributes: { ...e.editable },
    why,
    residual: e.residual,
    refine: report.refine ?? 0,
    successTarget: e.successTarget,
    realismRatio: e.realismRatio,
    n: e.n,
    source: path,
  };
}

export async function calibrateCommand(raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(Flags, raw, 'calibrate');
  if (!o.data && !o.report)
    throw new OptionError('give --data (class latents) or --report (editable attributes), or both');
  if (o.threads) torch.setNumThreads(o.threads);
  const { model, meta } = loadModel(o.checkpoint);
  let latents: ClassLatents | null = null;
  let editable: EditableRecord | null = null;
  try {
    if (o.report) editable = editableFromReport(o.report, model.config.attributes);
    if (o.data) {
      if (!model.attributes.some((a) => a.kind === 'binary'))
        throw new OptionError(`${o.checkpoint} has no binary attribute: class latents are for binary ones`);
      const data = await openTrainingData(meta.config, {
        path: o.data,
        strict: o.strict,
        strictName: '--strict',
        onWarning: (m) => process.stderr.write(`ccig: warning: ${m}\n`),
      });
      const count = Math.min(o.n ?? data.train.size, data.train.size);
      if (count === 0) throw new OptionError(`${o.data} has no training images`);
      latents = model.computeClassLatents(
        data.train,
        Array.from({ length: count }, (_, i) => i),
      );
    }
  } finally {
    model.dispose();
  }
  const file = torch.loadSafetensors(o.checkpoint);
  try {
    if (file.metadata.format !== CHECKPOINT_FORMAT)
      throw new CheckpointError(`${o.checkpoint}: not a ccig checkpoint`);
    const m = meta.config.attributes.length;
    if (latents) {
      file.tensors[`model.${CLASS_LATENTS}`]?.dispose();
      file.tensors[`model.${CLASS_LATENTS}`] = torch.tensor([...latents.zero, ...latents.one], {
        shape: [2, m],
      });
    }
    if (editable) {
      const stored = JSON.parse(file.metadata.meta);
      file.metadata.meta = JSON.stringify({ ...stored, editable });
    }
    torch.saveSafetensors(o.out, file.tensors, file.metadata, 'write the calibrated checkpoint');
  } finally {
    for (const t of Object.values(file.tensors)) t.dispose();
  }
  const summary = {
    out: o.out,
    classLatents: latents
      ? Object.fromEntries(
          meta.config.attributes
            .map((a, i) => [a, i] as const)
            .filter(([, i]) => Number.isFinite(latents.zero[i]))
            .map(([a, i]) => [
              a,
              {
                zero: round(latents.zero[i]),
                one: round(latents.one[i]),
                images: { zero: latents.counts.zero[i], one: latents.counts.one[i] },
              },
            ]),
        )
      : null,
    editable: editable?.attributes ?? null,
  };
  if (o.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const lines = [`wrote ${o.out}`];
  if (summary.classLatents)
    for (const [a, c] of Object.entries(summary.classLatents))
      lines.push(
        `  ${a}: do(=0) sets ${c.zero} (median of ${c.images.zero} images labelled 0), do(=1) sets ${c.one} (of ${c.images.one} labelled 1)`,
      );
  if (editable)
    lines.push(
      `  editable: ${Object.entries(editable.attributes)
        .map(([a, ok]) => `${a} ${ok ? 'yes' : `no (${editable.why[a] ?? ''})`}`)
        .join(', ')}`,
    );
  process.stderr.write(`${lines.join('\n')}\n`);
}

const round = (v: number) => Math.round(v * 1000) / 1000;
