/**
 * Write a PNG contact sheet of a synthetic world: a grid over two factors (default: its two
 * roots), for a person to look at.
 *
 *   node --import tsx scripts/contact-sheet.ts pendulum out.png [--rows 8] [--cols 8] [--tile 64]
 *     [--factors a,b]
 */
import { parseArgs } from 'node:util';
import { writeContactSheet } from '../src/data/contact-sheet.ts';
import { WORLDS, worldByName } from '../src/data/world-dataset.ts';
import { isUserError } from '../src/errors.ts';

const usage = `usage: node --import tsx scripts/contact-sheet.ts WORLD OUT.png [--rows N] [--cols N] [--tile PX] [--factors A,B]
worlds: ${Object.keys(WORLDS).join(', ')}`;

try {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      rows: { type: 'string' },
      cols: { type: 'string' },
      tile: { type: 'string' },
      factors: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length !== 2) {
    console.log(usage);
    process.exit(values.help ? 0 : 2);
  }
  const [name, out] = positionals;
  const world = worldByName(name);
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const factors = values.factors?.split(',');
  if (factors && factors.length !== 2) throw new Error(`--factors needs two names, got '${values.factors}'`);
  const sheet = await writeContactSheet(world, out, {
    rows: num(values.rows),
    cols: num(values.cols),
    tile: num(values.tile),
    factors: factors as [string, string] | undefined,
  });
  const list = (v: number[]) => v.map((x) => x.toFixed(2)).join(' ');
  console.log(`wrote ${out} (${sheet.width}x${sheet.height})`);
  console.log(`rows: ${sheet.factors[0]} = ${list(sheet.rowValues)}`);
  console.log(`cols: ${sheet.factors[1]} = ${list(sheet.colValues)}`);
} catch (e) {
  if (isUserError(e) || (e instanceof Error && e.name === 'TypeError' && 'code' in e)) {
    console.error(`error: ${(e as Error).message}`);
    process.exit(2);
  }
  throw e;
}
