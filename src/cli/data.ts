/** `ccig data world | sheet | cache`: synthetic worlds to disk, contact sheets, dataset caches. */
import { z } from 'zod';
import { openCelebA } from '../data/celeba.ts';
import { writeContactSheet } from '../data/contact-sheet.ts';
import { openFolder } from '../data/folder.ts';
import { generateWorldDataset, worldByName, writeWorldToDisk } from '../data/world-dataset.ts';
import { OptionError } from '../errors.ts';
import { expectOneOf } from '../options.ts';
import { num, parseOptions, posInt, progressBar } from './util.ts';

const DATA_ACTIONS = ['world', 'sheet', 'cache'] as const;

const Flags = z.strictObject({
  world: z.string(),
  out: z.string().optional(),
  count: posInt.max(1_000_000),
  size: posInt.min(8).max(1024),
  seed: z.coerce.number().int().min(0),
  interventional: num.min(0).max(1).default(0),
  celeba: z.string().optional(),
  folder: z.string().optional(),
  attributes: z.string().optional(),
  strict: z.boolean().default(false),
  json: z.boolean().default(false),
});

export async function dataCommand(actionName: string, raw: Record<string, unknown>): Promise<void> {
  const action = expectOneOf(actionName, DATA_ACTIONS, 'data action');
  const o = parseOptions(Flags, raw, `data ${action}`);
  const say = (obj: Record<string, unknown>, text: string) =>
    o.json ? process.stdout.write(`${JSON.stringify(obj)}\n`) : process.stderr.write(`${text}\n`);
  if (action === 'world') {
    if (!o.out) throw new OptionError('data world: give --out DIR');
    const world = worldByName(o.world);
    const ds = generateWorldDataset(world, {
      count: o.count,
      imageSize: o.size,
      seed: o.seed,
      interventional: o.interventional,
    });
    const written = await writeWorldToDisk(o.out, ds);
    const nDo = ds.size - ds.observationalRows();
    say(
      { ...written, interventionalRows: nDo },
      `wrote ${written.count} ${world.name} images and labels.csv to ${o.out}${o.interventional > 0 ? ` (${nDo} drawn under an intervention, named in the intervened column)` : ''}`,
    );
  } else if (action === 'sheet') {
    const out = o.out ?? `${o.world}-sheet.png`;
    await writeContactSheet(worldByName(o.world), out, { tile: o.size });
    say({ out }, `wrote a contact sheet of ${o.world} to ${out}`);
  } else {
    if (!o.celeba === !o.folder)
      throw new OptionError('data cache: give exactly one of --celeba DIR or --folder DIR');
    const attributes = o.attributes?.split(',').map((s) => s.trim());
    const bar = progressBar('decoding images', 1, { quiet: o.json });
    const common = {
      imageSize: o.size,
      attributes,
      onProgress: (d: number, t: number) => bar.update(d, '', t),
      onWarning: (m: string) => process.stderr.write(`ccig: warning: ${m}\n`),
      strict: o.strict,
      strictName: '--strict',
    };
    const opened = o.celeba
      ? await openCelebA({ root: o.celeba, ...common })
      : await openFolder({ dir: o.folder, ...common });
    bar.stop();
    say(
      {
        cache: opened.cachePath,
        built: opened.built,
        size: opened.dataset.size,
        skipped: opened.skipped.length,
      },
      `${opened.built ? 'built' : 'reused'} cache ${opened.cachePath}: ${opened.dataset.size} images (${opened.skipped.length} skipped), ${opened.train.size} train / ${opened.test.size} test`,
    );
  }
}
