// The package as a user gets it: `npm pack`, install the tarball into an empty project, import
// the library, build the native addon on first use, run one intervention with the shipped model,
// run the command, and type-check a consumer against the shipped declarations. Slow (a pack, an
// install and a native build): it is the only test that sees what the tarball really holds.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const repo = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'ccig-package-'));
const project = join(dir, 'project');
const npm = (args: string[], cwd: string) =>
  spawnSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });

test('the packed package installs, imports, builds its addon and runs in an empty project', {
  timeout: 1_200_000,
}, () => {
  // pack: prepack compiles dist/ from src/. bin/ccig.js prefers dist/ over src/, so a dist/ left
  // behind in a checkout would run stale code after the next edit: remove it unless it was there.
  const hadDist = existsSync(join(repo, 'dist'));
  const packed = npm(['pack', '--json', '--pack-destination', dir], repo);
  if (!hadDist) rmSync(join(repo, 'dist'), { recursive: true, force: true });
  assert.equal(packed.status, 0, `npm pack failed: ${packed.stderr}`);
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  const files = new Set(info.files.map((f) => f.path));
  for (const needed of [
    'bin/ccig.js',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/torch/index.js',
    'dist/torch/index.d.ts',
    'dist/cli/main.js',
    'native/ccig.cc',
    'binding.gyp',
    'scripts/build-native.mjs',
    'scripts/find-libtorch.mjs',
    'web/index.html',
    'models/pendulum-small.safetensors',
    'models/oracle-pendulum-64.safetensors',
  ])
    assert.ok(files.has(needed), `the tarball misses ${needed}`);
  for (const f of files)
    assert.ok(!/^(src|test|bench|build|docs)\//.test(f), `the tarball should not ship ${f}`);

  // install with install scripts off, as npm does for a dependency whose script nobody approved
  mkdirSync(project);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'user-project', private: true, type: 'module' }),
  );
  const installed = npm(
    ['install', '--prefer-offline', '--ignore-scripts', join(dir, info.filename)],
    project,
  );
  assert.equal(installed.status, 0, `npm install failed: ${installed.stderr}`);
  const pkg = join(project, 'node_modules/ccig');
  assert.ok(!existsSync(join(pkg, 'build')), 'with scripts off, nothing should have been built yet');
  assert.ok(
    !readdirSync(join(project, 'node_modules')).some((d) => ['tsx', 'typescript', '@biomejs'].includes(d)),
    'dev dependencies must not be installed for users',
  );

  // first use: the addon builds, a tensor op runs, the shipped model edits by intervention
  writeFileSync(
    join(project, 'use.mjs'),
    `import { intervene, loadModel, torch } from 'ccig';
import { tensor } from 'ccig/torch';
const sum = tensor([1, 2, 3]).add(torch.ones([3])).toNumbers();
const { model } = loadModel(new URL('./node_modules/ccig/models/pendulum-small.safetensors', import.meta.url).pathname);
const edit = intervene(model, { light_angle: 120 }, 2);
console.log(JSON.stringify({ sum, shape: edit.causal.shape, attributes: model.config.attributes }));
`,
  );
  const used = spawnSync(process.execPath, ['use.mjs'], {
    cwd: project,
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  assert.equal(used.status, 0, `importing ccig failed: ${used.stderr}`);
  assert.match(used.stderr, /building it now/, 'the first use should say that it builds the addon');
  const out = JSON.parse(used.stdout.trim().split('\n').at(-1) ?? '');
  assert.deepEqual(out.sum, [2, 3, 4]);
  assert.deepEqual(out.shape, [2, 3, 64, 64]);
  assert.ok(out.attributes.includes('light_angle'));
  assert.ok(existsSync(join(pkg, 'build/Release/ccig.node')));

  // the command, through npx as a user runs it
  const help = spawnSync('npx', ['--no-install', 'ccig', '--help'], { cwd: project, encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /Usage: ccig/);
  const infoRun = spawnSync(
    'npx',
    ['--no-install', 'ccig', 'info', join(pkg, 'models/pendulum-small.safetensors')],
    {
      cwd: project,
      encoding: 'utf8',
    },
  );
  assert.equal(infoRun.status, 0, infoRun.stderr);
  assert.match(infoRun.stdout, /light_angle/);

  // the declarations resolve for 'ccig' and 'ccig/torch' in a strict TypeScript project
  writeFileSync(
    join(project, 'typed.ts'),
    `import { type CcigConfig, loadModel, torch } from 'ccig';
import { tensor } from 'ccig/torch';
const t: torch.Tensor = tensor([1, 2]);
const values: number[] = t.toNumbers();
const config: CcigConfig = loadModel('model.safetensors').model.config;
console.log(values, config.preset);
`,
  );
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
      },
      files: ['typed.ts'],
    }),
  );
  try {
    execFileSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', project], {
      encoding: 'utf8',
    });
  } catch (e) {
    assert.fail(`the declarations do not type-check in a user project:\n${(e as { stdout: string }).stdout}`);
  }
});
