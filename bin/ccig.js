#!/usr/bin/env node
// The `ccig` command: runs the compiled CLI (npm run build), or the TypeScript sources through
// tsx in a checkout where dist/ is missing.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist/cli/main.js');
if (existsSync(built)) {
  const { main } = await import(pathToFileURL(built).href);
  await main();
} else {
  try {
    await import('tsx/esm');
  } catch {
    console.error('ccig: not built yet; run `npm run build` in the ccig folder');
    process.exit(1);
  }
  const { main } = await import(pathToFileURL(join(root, 'src/cli/main.ts')).href);
  await main();
}
