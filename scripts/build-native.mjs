#!/usr/bin/env node
/**
 * Builds the native addon (build/Release/ccig.node) against the libtorch that
 * find-libtorch.mjs locates. Incremental: configures once, then `make` rebuilds what changed.
 * --force reconfigures from scratch (after switching libtorch).
 * --if-possible (the package's install script): a failure prints why and exits 0, so installing
 * ccig never fails for want of libtorch; ccig builds the addon on first use instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibtorch } from './find-libtorch.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ifPossible = process.argv.includes('--if-possible');
const giveUp = (status) => {
  if (ifPossible) console.error('ccig: the native addon was not built now; ccig will build it on first use.');
  process.exit(ifPossible ? 0 : status);
};
const found = findLibtorch();
if (!found) {
  spawnSync(process.execPath, [join(root, 'scripts/find-libtorch.mjs')], { stdio: 'inherit' });
  giveUp(1);
}
console.log(
  `ccig: building the native addon against libtorch ${found.version}${found.cuda ? ' with CUDA' : ' (CPU)'} from ${found.source} (${found.root})`,
);

const gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
const force = process.argv.includes('--force');
if (force) rmSync(join(root, 'build'), { recursive: true, force: true });
// Build against the headers of the running Node when they are installed beside it (Debian's
// nodejs, official tarballs), so no header download is needed: this machine may be offline.
const prefix = join(dirname(process.execPath), '..');
const nodedir =
  process.env.npm_config_nodedir ?? (existsSync(join(prefix, 'include/node/node.h')) ? prefix : undefined);
const run = (args) => {
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  const r = spawnSync(process.execPath, [gyp, ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('ccig: the native build failed; see the compiler output above.');
    giveUp(r.status ?? 1);
  }
};
if (!existsSync(join(root, 'build/Makefile'))) run(['configure']);
run(['build', '-j', 'max']);
