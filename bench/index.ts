/**
 * `npm run bench -- NAME [NAME ...]`: runs the named benchmarks (files bench/NAME.ts, each
 * exporting a default async function). With no name, lists them.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
  .map((f) => f.slice(0, -3))
  .sort();
const names = process.argv.slice(2);
if (names.length === 0) {
  console.log(`usage: npm run bench -- NAME [NAME ...]\navailable: ${available.join(', ')}`);
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
