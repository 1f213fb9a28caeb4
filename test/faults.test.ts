// What a long run meets when the machine misbehaves: full disks, folders it may not write,
// read-only file systems, signals, kill -9. Faults are injected through the file layer
// (src/files.ts) so these run anywhere; where the test runs as root, real tmpfs mounts and an
// unprivileged user check the same paths end to end (skipped otherwise).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { describeFailure, EXIT } from '../src/cli/util.ts';
import { openFolder } from '../src/data/folder.ts';
import {
  generateWorldDataset,
  splitWorldDataset,
  worldByName,
  writeWorldToDisk,
} from '../src/data/world-dataset.ts';
import { FileSystemError } from '../src/errors.ts';
import {
  errnoError,
  type FileOp,
  removeStaleTemps,
  setFileFaultInjector,
  toFileSystemError,
  writeFileAtomic,
} from '../src/files.ts';
import { Ccig } from '../src/model/ccig.ts';
import { resolveConfig } from '../src/model/config.ts';
import { loadCheckpoint } from '../src/train/checkpoint.ts';
import { checkFreeSpace, spaceNeeded } from '../src/train/run-folder.ts';
import { train } from '../src/train/train.ts';

const world = generateWorldDataset(worldByName('pendulum'), { count: 64, imageSize: 64, seed: 3 });
const data = splitWorldDataset(world, { testFraction: 0.25, seed: 0 });
const tmp = () => mkdtempSync(join(tmpdir(), 'ccig-faults-'));
const temps = (dir: string) => readdirSync(dir).filter((n) => /\.tmp(-|$)/.test(n));
const noStack = /\n\s+at /;

after(() => setFileFaultInjector(undefined));

/** Fails `op` on paths containing `match` with `code`, from its `from`-th call on; counts calls. */
function inject(op: FileOp, match: string, code: string, from = 1) {
  const calls = { n: 0 };
  setFileFaultInjector((o, path) => {
    if (o !== op || !path.includes(match)) return;
    if (++calls.n >= from) throw errnoError(code, op, path);
  });
  return calls;
}

test('an atomic write that fails leaves the old file and no temp file, and names path and fix', () => {
  const dir = tmp();
  const file = join(dir, 'report.json');
  writeFileSync(file, 'old');
  for (const [op, code] of [
    ['write', 'ENOSPC'],
    ['open', 'EACCES'],
    ['fsync', 'EIO'],
    ['rename', 'EROFS'],
  ] as const) {
    inject(op, dir, code);
    assert.throws(
      () => writeFileAtomic(file, 'new', 'write the report'),
      (e: unknown) =>
        e instanceof FileSystemError &&
        e.code === code &&
        e.message.startsWith(`cannot write the report ${file}: `) &&
        e.message.includes(`(${code}); `),
    );
    setFileFaultInjector(undefined);
    assert.equal(readFileSync(file, 'utf8'), 'old', `${op} ${code} changed the file`);
    assert.deepEqual(temps(dir), [], `${op} ${code} left a temp file`);
  }
});

test('messages and exit codes: one line, 4 for the environment, 2 for a path that cannot be used', () => {
  const cases: [string, number, RegExp][] = [
    ['ENOSPC', EXIT.environment, /no space left on device \(ENOSPC\); free some space/],
    ['EACCES', EXIT.environment, /permission denied \(EACCES\); make it writable/],
    ['EROFS', EXIT.environment, /read-only file system \(EROFS\); use a folder on a writable disk/],
    ['EMFILE', EXIT.environment, /too many open files in this process \(EMFILE\); raise the open-file limit/],
    ['ENOTDIR', EXIT.user, /a part of the path is a file, not a folder \(ENOTDIR\); rename or remove/],
    ['EEXIST', EXIT.user, /a file is in the way \(EEXIST\)/],
  ];
  for (const [code, exit, pattern] of cases) {
    // a raw node:fs error, as any fs call throws it, reaching the CLI
    const raw = errnoError(code, 'mkdir', '/data/run/samples');
    const f = describeFailure(raw);
    assert.equal(f.code, exit, code);
    assert.match(f.message, /^ccig: error: cannot create the folder \/data\/run\/samples: /);
    assert.match(f.message, pattern);
    assert.doesNotMatch(f.message, /internal error|\n/);
  }
  // a real one: a folder under a file
  const dir = tmp();
  writeFileSync(join(dir, 'file'), 'x');
  let real: unknown;
  try {
    mkdirSync(join(dir, 'file', 'run'), { recursive: true });
  } catch (e) {
    real = e;
  }
  const f = describeFailure(real);
  assert.equal(f.code, EXIT.user);
  assert.match(f.message, /cannot create the folder .*file\/run: .*\((ENOTDIR|EEXIST)\)/);
  // not a file problem: left alone
  assert.equal(toFileSystemError(new Error('x')) instanceof FileSystemError, false);
});

for (const code of ['ENOSPC', 'EACCES']) {
  test(`${code} while writing a checkpoint: previous checkpoint intact, no temp file, stops with its step`, async () => {
    const out = tmp();
    const cfg = resolveConfig('tiny', {
      train: { steps: 6, checkpointEvery: 2, logEvery: 2, sampleEvery: 100 },
    });
    const warnings: string[] = [];
    // the second checkpoint (step 4) and every retry fail: a full disk while writing, a
    // permission when creating the file
    const calls = inject(code === 'EACCES' ? 'open' : 'write', 'checkpoint.safetensors', code, 2);
    await assert.rejects(
      train({
        config: cfg,
        data,
        outDir: out,
        grids: false,
        checkpointRetryMs: 1,
        onWarning: (m) => warnings.push(m),
      }),
      (e: unknown) => {
        assert.ok(e instanceof FileSystemError, String(e));
        assert.equal(e.code, code);
        const tries = code === 'ENOSPC' ? 3 : 1; // a full disk may clear up; a permission will not
        assert.match(
          e.message,
          new RegExp(
            `^training stopped at step 4: cannot write the checkpoint ${out}/checkpoint.safetensors: .*\\(${code}\\), tried ${tries} times?; the previous checkpoint \\(step 2\\) is intact; .*ccig resume --out ${out}$`,
          ),
        );
        assert.doesNotMatch(e.message, /\n/);
        assert.equal(calls.n, 1 + tries);
        return true;
      },
    );
    setFileFaultInjector(undefined);
    assert.equal(warnings.filter((w) => /trying again/.test(w)).length, code === 'ENOSPC' ? 2 : 0);
    assert.equal(loadCheckpoint(join(out, 'checkpoint.safetensors')).step, 2);
    assert.deepEqual(temps(out), []);
    // and the run goes on from there once the disk is fixed
    const r = await train({ config: cfg, data, outDir: out, grids: false, resume: true });
    assert.equal(r.step, 6);
  });

  test(`${code} while writing grids and log lines: warned once each, training goes on`, async () => {
    const out = tmp();
    const cfg = resolveConfig('tiny', {
      train: { steps: 4, checkpointEvery: 2, logEvery: 1, sampleEvery: 1 },
    });
    const warnings: string[] = [];
    setFileFaultInjector((op, path) => {
      if (op === 'write' && path.includes(join(out, 'samples'))) throw errnoError(code, 'write', path);
      if (op === 'append' && path.endsWith('log.jsonl')) {
        // half a line reached the disk before it filled up
        appendFileSync(path, '{"step": 9, "loss');
        throw errnoError(code, 'write', path);
      }
    });
    const r = await train({ config: cfg, data, outDir: out, onWarning: (m) => warnings.push(m) });
    setFileFaultInjector(undefined);
    assert.equal(r.step, 4);
    assert.equal(r.stopped, 'done');
    assert.equal(loadCheckpoint(join(out, 'checkpoint.safetensors')).step, 4);
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(
      warnings[0],
      new RegExp(`^cannot write to the log ${out}/log.jsonl: .*\\(${code}\\); .*training goes on`),
    );
    assert.match(
      warnings[1],
      new RegExp(
        `^cannot write a sample grid ${out}/samples/samples-000001.png: .*\\(${code}\\); .*training goes on`,
      ),
    );
    assert.deepEqual(temps(join(out, 'samples')), []);
    assert.deepEqual(readdirSync(join(out, 'samples')), []);
    // the half-written line was rolled back: the log is whole (and empty)
    assert.equal(readFileSync(join(out, 'log.jsonl'), 'utf8'), '');
  });
}

test('preflight: refuses a run whose disk cannot hold two checkpoints and an interval of grids', async () => {
  const out = tmp();
  const cfg = resolveConfig('tiny', { train: { steps: 2, checkpointEvery: 2, sampleEvery: 1 } });
  await train({ config: cfg, data, outDir: out });
  const model = new Ccig(cfg, data.train.attributes);
  rmSync(join(out, 'checkpoint.safetensors'));
  const estimate = spaceNeeded(cfg, model, out, true);
  model.dispose();
  // a fresh run's estimate covers the checkpoint it then writes, without being far off
  await train({ config: cfg, data, outDir: out });
  const actual = readFileSync(join(out, 'checkpoint.safetensors')).length;
  assert.ok(
    estimate.checkpointBytes >= actual && estimate.checkpointBytes < 1.5 * actual,
    `${estimate.checkpointBytes} vs ${actual}`,
  );
  const png = readFileSync(join(out, 'samples', 'samples-000002.png')).length;
  assert.ok(estimate.gridBytes >= 2 * png, 'two grids per interval');
  assert.throws(
    () => checkFreeSpace(out, { ...estimate, total: Number.MAX_SAFE_INTEGER }),
    (e: unknown) =>
      e instanceof FileSystemError &&
      e.code === 'ENOSPC' &&
      new RegExp(
        `^cannot start training in ${out}: only .* free on its disk, and a run needs at least .*; free some space or use --out on another disk$`,
      ).test(e.message),
  );
});

test('building a data cache: too many open files stops the build instead of skipping images', async () => {
  const dir = tmp();
  const small = generateWorldDataset(worldByName('pendulum'), { count: 6, imageSize: 16, seed: 1 });
  await writeWorldToDisk(dir, small);
  // an image the decoder cannot open: bad bytes are skipped, as before...
  writeFileSync(join(dir, 'images', '000003.png'), 'not a png');
  const skipped = await openFolder({ dir, imageSize: 16, cacheDir: join(dir, 'cache-a') });
  assert.equal(skipped.skipped.length, 1);
  // ...but when the machine is out of file handles, the build stops and says so
  inject('open', '000003.png', 'EMFILE');
  await assert.rejects(openFolder({ dir, imageSize: 16, cacheDir: join(dir, 'cache-b') }), (e: unknown) => {
    assert.ok(e instanceof FileSystemError, String(e));
    assert.match(
      e.message,
      /^cannot read the image .*000003\.png: too many open files in this process \(EMFILE\); raise the open-file limit/,
    );
    return true;
  });
  setFileFaultInjector(undefined);
  assert.deepEqual(existsSync(join(dir, 'cache-b')) ? temps(join(dir, 'cache-b')) : [], []);
});

test('temp files of dead processes are removed, live ones kept', () => {
  const dir = tmp();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  }).stdout;
  writeFileSync(join(dir, `checkpoint.safetensors.tmp-${dead}-abc123`), 'half');
  writeFileSync(join(dir, `checkpoint.safetensors.tmp-${process.pid}-def456`), 'mine');
  writeFileSync(join(dir, 'checkpoint.safetensors'), 'whole');
  assert.deepEqual(removeStaleTemps(dir), [`checkpoint.safetensors.tmp-${dead}-abc123`]);
  assert.deepEqual(readdirSync(dir).sort(), [
    'checkpoint.safetensors',
    `checkpoint.safetensors.tmp-${process.pid}-def456`,
  ]);
});

// ---- the command line, in child processes

const env = { ...process.env, OMP_NUM_THREADS: '1' };

function ccig(args: string[], options: { uid?: number } = {}) {
  const command = options.uid === undefined ? process.execPath : 'setpriv';
  const prefix =
    options.uid === undefined
      ? []
      : [`--reuid=${options.uid}`, `--regid=${options.uid}`, '--clear-groups', process.execPath];
  const r = spawnSync(command, [...prefix, 'bin/ccig.js', ...args], {
    encoding: 'utf8',
    env: { ...env, HOME: tmpdir() },
    timeout: 300_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function start(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; err: string }> } {
  const child = spawn(process.execPath, ['bin/ccig.js', ...args], { env });
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  const done = new Promise<{ code: number | null; err: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, err })),
  );
  return { child, done };
}

async function until(what: string, ok: () => boolean, seconds = 180): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > seconds * 1000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('SIGTERM mid-run: checkpoint written, exit 0 with where it is; resume continues', async () => {
  const out = join(tmp(), 'run');
  const { child, done } = start([
    'train',
    '--preset',
    'tiny',
    '--steps',
    '100000',
    '--out',
    out,
    '--threads',
    '1',
  ]);
  const log = join(out, 'log.jsonl');
  await until('the first log line', () => existsSync(log) && readFileSync(log, 'utf8').length > 0);
  child.kill('SIGTERM');
  const r = await done;
  assert.equal(r.code, 0, r.err);
  const m = /stopped at step (\d+); checkpoint written to (\S+); continue with: ccig resume --out (\S+)/.exec(
    r.err,
  );
  assert.ok(m, r.err);
  const step = Number(m[1]);
  assert.equal(m[2], join(out, 'checkpoint.safetensors'));
  assert.equal(loadCheckpoint(m[2]).step, step);
  const again = ccig(['resume', '--out', out, '--steps', String(step + 2), '--threads', '1', '--json']);
  assert.equal(again.code, 0, again.err);
  assert.equal(JSON.parse(again.out).step, step + 2);
});

test('the same signal twice at once (coreutils timeout -s INT) is one request: a checkpoint, exit 0', async () => {
  const out = join(tmp(), 'run');
  // slow steps (a big batch), so the echo lands while the step that ends the run is still going
  const { child, done } = start([
    'train',
    '--preset',
    'tiny',
    '--batch-size',
    '192',
    '--steps',
    '100000',
    '--out',
    out,
    '--threads',
    '1',
  ]);
  const log = join(out, 'log.jsonl');
  await until('the first log line', () => existsSync(log) && readFileSync(log, 'utf8').length > 0);
  // (two kills back to back would merge into one pending signal; timeout's second one lands after)
  child.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /stopped at step \d+; checkpoint written to/);
});

test('a second signal quits at once, leaving the last checkpoint whole', async () => {
  const dir = tmp();
  const out = join(dir, 'run');
  const config = join(dir, 'slow.json');
  // slow steps (a big batch), so both signals land within one
  writeFileSync(config, JSON.stringify({ train: { checkpointEvery: 1, logEvery: 1, sampleEvery: 1000 } }));
  const { child, done } = start([
    'train',
    '--preset',
    'tiny',
    '--config',
    config,
    '--batch-size',
    '192',
    '--steps',
    '1000',
    '--out',
    out,
    '--threads',
    '1',
  ]);
  await until('the first checkpoint', () => existsSync(join(out, 'checkpoint.safetensors')));
  child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 130, r.err);
  assert.match(r.err, /SIGINT again: quitting now; the last checkpoint written \(.*\) is intact/);
  assert.ok(loadCheckpoint(join(out, 'checkpoint.safetensors')).step >= 1);
  assert.deepEqual(temps(out), []);
});

test('kill -9 during a checkpoint write: the previous checkpoint stays readable, resume cleans up', async () => {
  const out = join(tmp(), 'run');
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/hang-in-checkpoint.ts', out], {
    env,
  });
  let said = '';
  child.stdout.on('data', (d) => {
    said += d;
  });
  const closed = new Promise((resolve) => child.on('close', resolve));
  await until('the second checkpoint write', () => said.includes('in-checkpoint-write'));
  child.kill('SIGKILL');
  await closed;
  assert.equal(temps(out).length, 1, 'the killed write left its temp file');
  assert.equal(loadCheckpoint(join(out, 'checkpoint.safetensors')).step, 2);
  const r = ccig(['resume', '--out', out, '--steps', '6', '--threads', '1', '--json']);
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).step, 6);
  assert.deepEqual(temps(out), []);
});

// ---- real file systems: needs root (mount, setpriv); CI runs as root

const isRoot = process.getuid?.() === 0;
function mountTmpfs(dir: string, options: string): boolean {
  mkdirSync(dir, { recursive: true });
  return spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]).status === 0;
}
const canMount = (() => {
  if (!isRoot) return false;
  const probe = tmp();
  const ok = mountTmpfs(probe, 'size=64k');
  if (ok) spawnSync('umount', [probe]);
  return ok;
})();
const skipMount = canMount ? false : 'needs root and permission to mount tmpfs';

test('a real full disk (tmpfs): grids warned once, checkpoint stops the run, resume after freeing space', {
  skip: skipMount,
}, async () => {
  const dir = tmp();
  const mnt = join(dir, 'disk');
  // enough for the preflight (2 checkpoints + the grids of one interval), not for the whole run
  assert.ok(mountTmpfs(mnt, 'size=3300k'));
  try {
    const out = join(mnt, 'run');
    const config = join(dir, 'c.json');
    writeFileSync(config, JSON.stringify({ train: { checkpointEvery: 2, logEvery: 2, sampleEvery: 2 } }));
    const r = ccig([
      'train',
      '--preset',
      'tiny',
      '--config',
      config,
      '--steps',
      '400',
      '--out',
      out,
      '--threads',
      '1',
    ]);
    assert.equal(r.code, EXIT.environment, r.err);
    assert.doesNotMatch(r.err, noStack);
    assert.doesNotMatch(r.err, /internal error/);
    assert.ok(
      (r.err.match(/warning: cannot write a (sample|reconstruction) grid/g) ?? []).length <= 1,
      r.err,
    );
    const m = new RegExp(
      `training stopped at step (\\d+): cannot write the checkpoint ${out}/checkpoint.safetensors: no space left on device \\(ENOSPC\\), tried 3 times; the previous checkpoint \\(step (\\d+)\\) is intact; free some space .*, then continue with: ccig resume --out ${out}\\n$`,
    ).exec(r.err);
    assert.ok(m, r.err);
    const kept = Number(m[2]);
    // the run said the disk was filling up while the last checkpoint could still be written
    assert.match(r.err, new RegExp(`warning: the disk of ${out} is nearly full: .* free`));
    assert.equal(loadCheckpoint(join(out, 'checkpoint.safetensors')).step, kept);
    assert.deepEqual(temps(out), []);
    assert.deepEqual(temps(join(out, 'samples')), []);
    for (const line of readFileSync(join(out, 'log.jsonl'), 'utf8').split('\n').filter(Boolean))
      JSON.parse(line);
    // give the disk room (the grids alone would not make room for the preflight); the run goes on
    // from its last checkpoint
    assert.equal(spawnSync('mount', ['-o', 'remount,size=8m', mnt]).status, 0);
    const again = ccig(['resume', '--out', out, '--steps', String(kept + 2), '--threads', '1', '--json']);
    assert.equal(again.code, 0, again.err);
    assert.equal(JSON.parse(again.out).step, kept + 2);
  } finally {
    spawnSync('umount', [mnt]);
  }
});

test('a real read-only disk and a folder the user may not write: one line, exit 4, before any work', {
  skip: skipMount,
}, () => {
  const dir = tmp();
  const ro = join(dir, 'ro');
  assert.ok(mountTmpfs(ro, 'ro,size=64k'));
  try {
    const r = ccig(['train', '--preset', 'tiny', '--out', join(ro, 'run'), '--threads', '1']);
    assert.equal(r.code, EXIT.environment, r.err);
    assert.equal(
      r.err,
      `ccig: error: cannot create the run folder ${ro}/run: read-only file system (EROFS); use a folder on a writable disk\n`,
    );
  } finally {
    spawnSync('umount', [ro]);
  }
  // as an unprivileged user, in a folder only root may write
  const r = ccig(['train', '--preset', 'tiny', '--out', join(dir, 'run'), '--threads', '1'], { uid: 65534 });
  assert.equal(r.code, EXIT.environment, r.err);
  assert.equal(
    r.err,
    `ccig: error: cannot create the run folder ${dir}/run: permission denied (EACCES); make it writable for this user (chmod/chown) or use another folder\n`,
  );
  // --debug adds the stack trace
  const d = ccig(['train', '--preset', 'tiny', '--out', join(dir, 'run'), '--threads', '1', '--debug'], {
    uid: 65534,
  });
  assert.equal(d.code, EXIT.environment);
  assert.match(d.err, noStack);
});
