/** `ccig data world | sheet | cache`: synthetic worlds to disk, contact sheets, dataset caches. */
import { z } from 'zod';
import { openCelebA } from '../data/celeba.ts';
import { writeContactSheet, writeFactorSheet } from '../data/contact-sheet.ts';
import { openFolder } from '../data/folder.ts';
import { GRAPH_FAMILIES } from '../data/random-scm.ts';
import { randomWorld } from '../data/random-world.ts';
import type { World } from '../data/world.ts';
import { generateWorldDataset, WORLDS, worldByName, writeWorldToDisk } from '../data/world-dataset.ts';
import { OptionError } from '../errors.ts';
import { expectOneOf } from '../options.ts';
import { int, num, parseOptions, posInt, progressBar } from './util.ts';

const DATA_ACTIONS = ['world', 'sheet', 'cache'] as const;

const Flags = z.strictObject({
  world: z.string(),
  graphSeed: int.min(0).optional(),
  nodes: int.optional(),
  graph: z.enum(GRAPH_FAMILIES).optional(),
  degree: num.optional(),
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
    const world = openWorld(o);
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
    const world = openWorld(o);
    if (world.name === 'random') {
      // a random world's nodes have no two roots worth crossing: show each node's property alone
      const sheet = await writeFactorSheet(world, out, { tile: o.size });
      say(
        { out, rows: sheet.rows, edges: world.edges() },
        `wrote a sheet of the random world to ${out}: one row per node (${sheet.rows.join(', ')}, top to bottom), each swept from 0 (left) to 1 (right) with the others at 0.5; ${world.description}`,
      );
    } else {
      await writeContactSheet(world, out, { tile: o.size });
      say({ out }, `wrote a contact sheet of ${o.world} to ${out}`);
    }
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

/** The named world; `random` is built from --graph-seed, --nodes, --graph and --degree. */
function openWorld(o: z.infer<typeof Flags>): World {
  const name = expectOneOf(o.world, [...Object.keys(WORLDS), 'random'], 'world');
  if (name === 'random')
    return randomWorld({ graphSeed: o.graphSeed, nodes: o.nodes, graph: o.graph, degree: o.degree });
  const given = (['graphSeed', 'nodes', 'graph', 'degree'] as const).filter((k) => o[k] !== undefined);
  if (given.length)
    throw new OptionError(
      `${given.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} ${given.length > 1 ? 'apply' : 'applies'} only to --world random, not ${name}`,
    );
  return worldByName(name);
}
