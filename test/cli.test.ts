// The real command line end to end on a tiny preset, and the messages of bad input.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { pendulum } from '../src/data/pendulum.ts';

const dir = mkdtempSync(join(tmpdir(), 'ccig-cli-'));
const env = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') };
const run = join(dir, 'run');
const ckpt = join(run, 'checkpoint.safetensors');

function ccig(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/ccig.js', ...args], {
    encoding: 'utf8',
    env,
    timeout: 300_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function ok(r: ReturnType<typeof ccig>, what: string) {
  assert.equal(r.code, 0, `${what} exited ${r.code}: ${r.err}`);
}

test('train -> sample -> intervene -> counterfactual -> traverse -> eval -> info -> resume', async () => {
  let r = ccig('train', '--preset', 'tiny', '--steps', '6', '--out', run, '--json');
  ok(r, 'train');
  assert.equal(JSON.parse(r.out).step, 6);
  assert.ok(existsSync(ckpt));

  r = ccig('sample', '--checkpoint', ckpt, '--n', '4', '--out', join(dir, 's.png'));
  ok(r, 'sample');
  assert.equal((await sharp(join(dir, 's.png')).metadata()).format, 'png');

  r = ccig(
    'intervene',
    '--checkpoint',
    ckpt,
    '--do',
    'light_angle=100',
    '--n',
    '2',
    '--out',
    join(dir, 'i.png'),
    '--json',
  );
  ok(r, 'intervene');
  const iv = JSON.parse(r.out);
  assert.deepEqual(iv.interventions, { light_angle: 100 });
  assert.equal(iv.labels.causal.length, 2);

  const img = pendulum.render(pendulum.solve(Float64Array.from([10, 70, 0, 0])), 64);
  await sharp(Buffer.from(img), { raw: { width: 64, height: 64, channels: 3 } })
    .png()
    .toFile(join(dir, 'in.png'));
  r = ccig(
    'counterfactual',
    '--checkpoint',
    ckpt,
    '--image',
    join(dir, 'in.png'),
    '--do',
    'pendulum_angle=-20',
    '--refine',
    '3',
    '--out',
    join(dir, 'cf.png'),
  );
  ok(r, 'counterfactual');
  assert.ok(existsSync(join(dir, 'cf.png')));

  r = ccig(
    'traverse',
    '--checkpoint',
    ckpt,
    '--attribute',
    'pendulum_angle',
    '--steps',
    '3',
    '--n',
    '1',
    '--out',
    join(dir, 't.png'),
  );
  ok(r, 'traverse');

  r = ccig(
    'eval',
    '--checkpoint',
    ckpt,
    '--out',
    join(dir, 'report'),
    '--n',
    '60',
    '--oracle-steps',
    '20',
    '--resamples',
    '2',
    '--refine',
    '2',
    '--json',
  );
  ok(r, 'eval');
  const ev = JSON.parse(r.out);
  assert.equal(ev.graph.reference, 'true graph');
  assert.equal(ev.edgeStability.resamples, 2);
  for (const e of ev.edgeStability.edges) assert.ok(e.stability >= 0 && e.stability <= 1);
  assert.equal(ev.interventions.world.length, 4);
  const html = readFileSync(join(dir, 'report', 'report.html'), 'utf8');
  assert.match(html, /<svg/);
  assert.match(html, /data:image\/png;base64,/);
  assert.ok(existsSync(join(dir, 'report', 'report.json')));

  // a world has no validation split: one clear message, exit 2
  r = ccig('eval', '--checkpoint', ckpt, '--out', join(dir, 'report-valid'), '--split', 'valid');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /split into train and test only/);

  r = ccig('info', ckpt, '--json');
  ok(r, 'info');
  const info = JSON.parse(r.out);
  assert.equal(info.step, 6);
  assert.equal(info.preset, 'tiny');
  assert.equal(info.edgeStability, null, 'tiny runs skip the stability at the end of training');
  r = ccig('info', ckpt, '--stability', '--resamples', '2');
  ok(r, 'info --stability');
  assert.match(r.out, /weight and stability \(measured now on \d+ held-out images, 2 resamples\)/);

  r = ccig('resume', '--out', run, '--steps', '8', '--json');
  ok(r, 'resume');
  assert.equal(JSON.parse(r.out).step, 8);
  assert.equal(JSON.parse(r.out).losses.rec, 0, 'the reconstruction loss is off unless asked for');

  // a fine-tuning stage: the reconstruction loss from here on, recorded for later resumes
  r = ccig('resume', '--out', run, '--steps', '9', '--lambda-rec', '2', '--json');
  ok(r, 'resume --lambda-rec');
  assert.ok(JSON.parse(r.out).losses.rec > 0);
  assert.equal(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).train.lambdaRec, 2);
  r = ccig('resume', '--out', run, '--steps', '10', '--lambda-cyc', '3', '--json');
  ok(r, 'resume --lambda-cyc');
  assert.equal(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).train.lambdaCyc, 3);
});

test('info --engine names libtorch, its CUDA and the devices', () => {
  const r = ccig('info', '--engine', '--json');
  ok(r, 'info --engine');
  const e = JSON.parse(r.out);
  assert.match(e.version, /^\d+\.\d+/);
  assert.ok(Array.isArray(e.devices));
  // GPUs are only usable through a CUDA build, which names its CUDA version
  if (e.devices.length > 0) assert.match(e.cuda, /^\d+\.\d+$/);
  if (e.devices.length === 0) {
    const cuda = ccig('sample', '--checkpoint', ckpt, '--device', 'cuda');
    assert.equal(cuda.code, 2, cuda.err);
    assert.match(cuda.err, /CUDA is not available .* use --device cpu/);
  }
});

test('user mistakes get one clear message and exit code 2', () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{ not json');
  const unknownKey = join(dir, 'unknown.json');
  writeFileSync(unknownKey, JSON.stringify({ train: { speed: 3 } }));
  const cases: [string[], RegExp][] = [
    [['train', '--preset', 'nope'], /Expected one of pendulum-small, .* for --preset but received 'nope'/],
    [
      ['train', '--preset', 'celeba-smile', '--data', join(dir, 'missing')],
      /missing: CelebA folder not found/,
    ],
    [['train', '--preset', 'tiny', '--config', bad], /is not valid JSON/],
    [['train', '--preset', 'tiny', '--config', unknownKey], /train: Unrecognized key.*speed/s],
    [['train', '--preset', 'tiny', '--steps', 'many'], /--steps: .*received "many"/],
    [
      ['intervene', '--checkpoint', ckpt, '--do', 'nope=1'],
      /unknown attribute 'nope' in intervention; known: pendulum_angle/,
    ],
    [
      ['intervene', '--checkpoint', ckpt, '--do', 'light_angle=abc'],
      /value for 'light_angle' must be a finite number/,
    ],
    [['info', join(dir, 'missing.safetensors')], /no such checkpoint/],
    [
      ['counterfactual', '--checkpoint', ckpt, '--image', bad, '--do', 'light_angle=90'],
      /cannot read as an image/,
    ],
    [['resume', '--out', join(dir, 'nowhere')], /nothing to resume/],
    [['sample', '--checkpoint', ckpt, '--device', 'gpu'], /Expected cpu, cuda or cuda:N for device/],
    [['info'], /give a checkpoint .* or --engine/],
  ];
  // until the coordinator ships it, the learned demo says where the model would come from
  if (!existsSync(join('models', 'pendulum-learned.safetensors')))
    cases.push([
      ['demo', '--structure', 'learned', '--out', join(dir, 'demo-learned')],
      /pendulum-learned\.safetensors is not shipped with this copy; train one with `ccig demo --structure learned --train`/,
    ]);
  for (const [args, pattern] of cases) {
    const r = ccig(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}, stderr: ${r.err}`);
    assert.match(r.err, pattern, args.join(' '));
    assert.doesNotMatch(r.err, /\n\s+at /, `${args.join(' ')} printed a stack trace`);
  }
});

test('unreadable images: the warning names --strict, and --strict stops with exit 2', async () => {
  const folder = join(dir, 'faces');
  mkdirSync(join(folder, 'images'), { recursive: true });
  const rows: string[] = [];
  for (let i = 0; i < 4; i++) {
    const file = `images/${i}.png`;
    if (i === 2) writeFileSync(join(folder, file), 'not a png');
    else
      await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 40 * i, g: 90, b: 10 } } })
        .png()
        .toFile(join(folder, file));
    rows.push(`${file},${i}`);
  }
  writeFileSync(join(folder, 'labels.csv'), `file,brightness\n${rows.join('\n')}\n`);
  let r = ccig('data', 'cache', '--folder', folder, '--attributes', 'brightness', '--size', '8', '--json');
  ok(r, 'data cache');
  assert.equal(JSON.parse(r.out).skipped, 1);
  assert.match(
    r.err,
    /Skipped 1 unreadable image of 4 .*images\/2\.png.*Pass --strict to stop on them instead/s,
  );
  assert.doesNotMatch(r.err, /strict: true/);
  r = ccig('data', 'cache', '--folder', folder, '--attributes', 'brightness', '--size', '8', '--strict');
  assert.equal(r.code, 2, `--strict exited ${r.code}: ${r.err}`);
  assert.match(r.err, /cannot decode image/);
});

test('more attributes than the structure search takes: learned is refused before training, naming --search; given trains, and edge stability is skipped with a note', async () => {
  const folder = join(dir, 'wide');
  mkdirSync(join(folder, 'images'), { recursive: true });
  const names = Array.from({ length: 65 }, (_, j) => `a${j}`);
  const rows: string[] = [];
  for (let i = 0; i < 24; i++) {
    const file = `images/${i}.png`;
    await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 10 * i, g: 90, b: 10 } } })
      .png()
      .toFile(join(folder, file));
    rows.push([file, ...names.map((_, j) => (i * (j + 3)) % 7)].join(','));
  }
  writeFileSync(join(folder, 'labels.csv'), `file,${names.join(',')}\n${rows.join('\n')}\n`);
  const config = join(dir, 'wide.json');
  writeFileSync(
    config,
    JSON.stringify({
      data: { kind: 'folder', path: folder },
      attributes: names,
      scm: { structure: 'given', edges: [['a0', 'a1']] },
      train: { stabilityResamples: 2, batchSize: 4 },
    }),
  );
  const wide = join(dir, 'wide-run');
  const base = ['train', '--preset', 'tiny', '--config', config, '--steps', '2', '--threads', '1'];
  // learned by exact search: one message at the config step, before any data or checkpoint
  let r = ccig(...base, '--structure', 'learned', '--out', join(dir, 'wide-learned'));
  assert.equal(r.code, 2, `learned exited ${r.code}: ${r.err}`);
  assert.match(r.err, /at most 64 attributes and this config has 65: use --search notears/);
  assert.doesNotMatch(r.err, /\n\s+at /, 'a stack trace');
  assert.ok(!existsSync(join(dir, 'wide-learned', 'checkpoint.safetensors')));
  // given: trains to the end, says once that stability is skipped, exits 0
  r = ccig(...base, '--out', wide);
  ok(r, 'train a given graph of 65 attributes');
  assert.equal(
    r.err.match(/edge stability skipped: .*at most 64 attributes, and this graph has 65/g)?.length,
    1,
    r.err,
  );
  r = ccig('info', join(wide, 'checkpoint.safetensors'), '--stability', '--resamples', '2');
  ok(r, 'info --stability');
  assert.match(r.out, /stability not measured: edge stability runs the structure search/);
});

test('resume of a weights-only checkpoint (a snapshot copied in) names warm-start and exits 2; warm-start then makes it resumable', () => {
  const source = join(dir, 'snap-run');
  let r = ccig(
    'train',
    '--preset',
    'tiny',
    '--steps',
    '4',
    '--snapshot-every',
    '2',
    '--out',
    source,
    '--threads',
    '1',
    '--json',
  );
  ok(r, 'train with snapshots');
  // what a user does to continue from a chosen step: the snapshot as the run's checkpoint
  const chosen = join(dir, 'from-snapshot');
  mkdirSync(chosen, { recursive: true });
  copyFileSync(join(source, 'snapshots', 'step-000002.safetensors'), join(chosen, 'checkpoint.safetensors'));
  copyFileSync(join(source, 'config.json'), join(chosen, 'config.json'));
  r = ccig('resume', '--out', chosen, '--steps', '4', '--threads', '1');
  assert.equal(r.code, 2, `resume exited ${r.code}: ${r.err}`);
  assert.match(r.err, /holds weights only .*scripts\/warm-start\.ts .*then ccig resume --out NEW_RUN/);
  assert.doesNotMatch(r.err, /\n\s+at /, 'a stack trace');
  // the way out it names works
  const warm = join(dir, 'warm');
  const w = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'scripts/warm-start.ts', join(chosen, 'checkpoint.safetensors'), warm],
    { encoding: 'utf8', env, timeout: 300_000 },
  );
  assert.equal(w.status, 0, `warm-start exited ${w.status}: ${w.stderr}`);
  r = ccig('resume', '--out', warm, '--steps', '4', '--threads', '1', '--json');
  ok(r, 'resume after warm-start');
  assert.equal(JSON.parse(r.out).step, 4);
});
