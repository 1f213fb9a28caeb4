/**
 * The one table of `ccig train` / `ccig resume` flags (src/cli/train-flags.ts): the commander
 * options, the validation and the config overrides read from it agree with each other and with
 * the config.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/main.ts';
import { configFromFlags } from '../src/cli/train.ts';
import { configOverrides, TRAIN_FLAGS, trainFlagSchema } from '../src/cli/train-flags.ts';
import { parseOptions } from '../src/cli/util.ts';
import { OptionError } from '../src/errors.ts';

function subcommand(name: string): Command {
  const cmd = buildProgram().commands.find((c) => c.name() === name);
  assert.ok(cmd, name);
  return cmd;
}

/** The command's options as commander parses them from argv (no action run). */
function parsed(name: 'train' | 'resume', argv: string[]): Record<string, unknown> {
  const cmd = subcommand(name);
  cmd.exitOverride();
  cmd.action(() => {});
  cmd.parse(argv, { from: 'user' });
  return cmd.opts();
}

test('each row: the commander option of every command that takes it, with its help and name', () => {
  for (const command of ['train', 'resume'] as const) {
    const options = subcommand(command).options;
    const rows = Object.entries(TRAIN_FLAGS).filter(([, row]) =>
      (row.commands as readonly string[]).includes(command),
    );
    assert.deepEqual(
      options.map((o) => o.attributeName()),
      rows.map(([name]) => name),
      command,
    );
    for (const [name, row] of rows) {
      const option = options.find((o) => o.attributeName() === name)!;
      assert.equal(option.flags, row.flag);
      const help = typeof row.help === 'string' ? row.help : row.help[command];
      assert.equal(option.description, help);
      const required = 'required' in row && (row.required as readonly string[]).includes(command);
      assert.equal(option.mandatory, required, `${command} ${row.flag} required`);
    }
  }
});

test('train: flags land in the config where the table says, over the preset', () => {
  const f = parseOptions(
    trainFlagSchema('train'),
    parsed('train', [
      '--preset',
      'tiny',
      '--steps',
      '7',
      '--batch-size',
      '4',
      '--lambda-scm',
      '0',
      '--structure',
      'learned',
      '--interventional',
      '0.25',
      '--data',
      '/somewhere',
      '--json',
    ]),
    'train',
  );
  assert.equal(f.json, true);
  assert.equal(f.strict, false);
  const cfg = configFromFlags(f);
  assert.equal(cfg.preset, 'tiny');
  assert.equal(cfg.train.steps, 7);
  assert.equal(cfg.train.batchSize, 4);
  assert.equal(cfg.train.lambdaScm, 0);
  assert.equal(cfg.scm.structure, 'learned');
  assert.equal(cfg.scm.parents, 'mlp'); // the learned graph's default parents still apply
  assert.equal(cfg.data.interventional, 0.25);
  assert.equal(cfg.data.path, '/somewhere');
  // not given: the preset's
  assert.equal(cfg.train.seed, 0);
  assert.equal(cfg.train.lambdaCyc, 1);
});

test('train: the preset defaults to pendulum-small; wrong values name the flag', () => {
  const f = parseOptions(trainFlagSchema('train'), parsed('train', []), 'train');
  assert.equal(f.preset, 'pendulum-small');
  assert.throws(
    () => parseOptions(trainFlagSchema('train'), { steps: '0' }, 'train'),
    (e: unknown) => e instanceof OptionError && /--steps: must be a positive integer/.test(e.message),
  );
  assert.throws(
    () => parseOptions(trainFlagSchema('train'), { supProp: '2' }, 'train'),
    (e: unknown) => e instanceof OptionError && /--sup-prop/.test(e.message),
  );
});

test('resume: --out is required, train-only flags are refused, overrides are the resume rows only', () => {
  assert.throws(() => parseOptions(trainFlagSchema('resume'), {}, 'resume'), /--out/);
  assert.throws(
    () => parseOptions(trainFlagSchema('resume'), { out: 'runs/x', structure: 'learned' }, 'resume'),
    OptionError,
  );
  const f = parseOptions(
    trainFlagSchema('resume'),
    parsed('resume', ['--out', 'runs/x', '--steps', '80', '--lambda-rec', '4', '--snapshot-every', '10']),
    'resume',
  );
  assert.equal(f.out, 'runs/x');
  assert.deepEqual(configOverrides(f, 'resume'), {
    train: { steps: 80, lambdaRec: 4, snapshotEvery: 10 },
  });
  // a train-only row is no override on resume, even when present
  assert.deepEqual(configOverrides({ structure: 'learned', seed: 3 }, 'resume'), {});
  assert.deepEqual(configOverrides({ structure: 'learned', seed: 3, data: '' }, 'train'), {
    scm: { structure: 'learned' },
    train: { seed: 3 },
  });
});
