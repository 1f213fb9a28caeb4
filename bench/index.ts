/**
 * `npm run bench -- NAME [NAME ...] [--option value ...]`: runs the named benchmarks (files
 * bench/NAME.ts, each exporting a default async function, which reads its own --options from
 * process.argv). With no name, lists them.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
  .map((f) => f.slice(0, -3))
  .sort();
// names are the words before the first --option (options and their values follow them)
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('--'));
const names = firstOption < 0 ? args : args.slice(0, firstOption);
if (names.length === 0) {
  console.log(
    `usage: npm run bench -- NAME [NAME ...] [--option value ...]\navailable: ${available.join(', ')}`,
  );
  process.exit(0);
}
for (const name of names) {
  if (!available.includes(name)) {
    console.error(`unknown benchmark '${name}'; available: ${available.join(', ')}`);
    process.exit(2);
  }
  const mod = await import(join(here, `${name}.ts`));
  await mod.default();
}
