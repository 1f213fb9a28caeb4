/**
 * The flags of `ccig train` and `ccig resume`, listed once: each row gives the flag, its help,
 * how its value is checked, which commands take it and where in the config it lands. The
 * commander options (addTrainFlags), the validation (trainFlagSchema) and the config overrides
 * (configOverrides) are all read from this table.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { MECHANISMS, PARENT_MODELS, STRUCTURE_MODES } from '../causal/scm.ts';
import { type CcigConfig, PRESET_NAMES } from '../model/config.ts';
import { DEVICE_HELP, deviceFlag, num, posInt } from './util.ts';

export type TrainCommandName = 'train' | 'resume';

type Section = 'train' | 'scm' | 'data';
/** A place in the config: [section, key], e.g. ['train', 'batchSize']. */
type ConfigPath = { [S in Section]: readonly [S, keyof CcigConfig[S] & string] }[Section];

interface TrainFlag {
  /** the commander flag, e.g. '--batch-size <n>'; its camelCase name is the row's key */
  flag: string;
  /** help text, per command where the commands read it differently */
  help: string | Readonly<Record<TrainCommandName, string>>;
  /** checks the value (numbers arrive as strings); optional unless `default` or `required` */
  schema: z.ZodType;
  commands: readonly TrainCommandName[];
  /** where a given value overrides the config (absent: the flag is not part of the config) */
  config?: ConfigPath;
  /** the value when the flag is not given (shown by --help) */
  default?: string;
  /** commands on which the flag must be given */
  required?: readonly TrainCommandName[];
}

const both = ['train', 'resume'] as const;

/** The rows, in --help order. */
export const TRAIN_FLAGS = {
  preset: {
    flag: '--preset <name>',
    help: `one of ${PRESET_NAMES.join(', ')}`,
    schema: z.string(),
    commands: ['train'],
    default: 'pendulum-small',
  },
  config: {
    flag: '--config <file>',
    help: 'JSON file overriding parts of the preset',
    schema: z.string().optional(),
    commands: ['train'],
  },
  data: {
    flag: '--data <dir>',
    help: { train: 'dataset root (CelebA or labelled folder presets)', resume: 'dataset root, if it moved' },
    schema: z.string().optional(),
    commands: both,
    config: ['data', 'path'],
  },
  out: {
    flag: '--out <dir>',
    help: { train: 'run folder (default runs/<preset>-<structure>)', resume: 'the run folder' },
    schema: z.string().optional(),
    commands: both,
    required: ['resume'],
  },
  structure: {
    flag: '--structure <mode>',
    help: 'given | learned | none',
    schema: z.enum(STRUCTURE_MODES).optional(),
    commands: ['train'],
    config: ['scm', 'structure'],
  },
  mechanism: {
    flag: '--mechanism <kind>',
    help: 'linear | nonlinear',
    schema: z.enum(MECHANISMS).optional(),
    commands: ['train'],
    config: ['scm', 'mechanism'],
  },
  parents: {
    flag: '--parents <model>',
    help: 'how nodes depend on parents: linear | mlp',
    schema: z.enum(PARENT_MODELS).optional(),
    commands: ['train'],
    config: ['scm', 'parents'],
  },
  search: {
    flag: '--search <how>',
    help: 'learned: exact (best DAG of the likelihood score, searched on the latents) | notears (gradient, acyclicity constraint)',
    schema: z.enum(['notears', 'exact']).optional(),
    commands: ['train'],
    config: ['scm', 'search'],
  },
  steps: {
    flag: '--steps <n>',
    help: { train: 'training steps', resume: 'train until this step (default the config)' },
    schema: posInt.optional(),
    commands: both,
    config: ['train', 'steps'],
  },
  batchSize: {
    flag: '--batch-size <n>',
    help: 'batch size',
    schema: posInt.optional(),
    commands: ['train'],
    config: ['train', 'batchSize'],
  },
  seed: {
    flag: '--seed <n>',
    help: 'seed',
    schema: z.coerce.number().int().min(0).optional(),
    commands: ['train'],
    config: ['train', 'seed'],
  },
  interventional: {
    flag: '--interventional <fraction>',
    help: 'world presets: fraction of training images drawn under do() (0 = observational)',
    schema: num.min(0).max(1).optional(),
    commands: ['train'],
    config: ['data', 'interventional'],
  },
  lambdaScm: {
    flag: '--lambda-scm <x>',
    help: 'weight of the SCM-consistency loss (0 = off)',
    schema: num.min(0).optional(),
    commands: ['train'],
    config: ['train', 'lambdaScm'],
  },
  lambdaRec: {
    flag: '--lambda-rec <x>',
    help: {
      train: 'weight of the image reconstruction loss |G(E(x)) - x| (0 = off)',
      resume:
        'from here on, weight of the image reconstruction loss |G(E(x)) - x| (a fine-tuning stage; kept in config.json)',
    },
    schema: num.min(0).optional(),
    commands: both,
    config: ['train', 'lambdaRec'],
  },
  lambdaCyc: {
    flag: '--lambda-cyc <x>',
    help: {
      train: 'weight of the latent cycle loss |E(G(z))_c - z_c|^2 (0 = off)',
      resume:
        'from here on, weight of the latent cycle loss |E(G(z))_c - z_c|^2 (a fine-tuning stage; kept in config.json)',
    },
    schema: num.min(0).optional(),
    commands: both,
    config: ['train', 'lambdaCyc'],
  },
  snapshotEvery: {
    flag: '--snapshot-every <n>',
    help: 'also keep the weights every n steps in snapshots/step-N.safetensors (to choose a step later)',
    schema: posInt.optional(),
    commands: both,
    config: ['train', 'snapshotEvery'],
  },
  supProp: {
    flag: '--sup-prop <x>',
    help: 'fraction of labelled examples',
    schema: num.min(0).max(1).optional(),
    commands: ['train'],
    config: ['train', 'supProp'],
  },
  strict: {
    flag: '--strict',
    help: 'stop on the first unreadable image instead of skipping it (CelebA, folders)',
    schema: z.boolean().default(false),
    commands: both,
  },
  threads: {
    flag: '--threads <n>',
    help: { train: 'CPU threads (default all cores)', resume: 'CPU threads' },
    schema: posInt.optional(),
    commands: both,
  },
  nproc: {
    flag: '--nproc <n>',
    help: {
      train: 'data-parallel processes on this machine (threads divided among them)',
      resume: 'data-parallel processes on this machine (any number: checkpoints do not depend on it)',
    },
    schema: posInt.optional(),
    commands: both,
  },
  distTimeout: {
    flag: '--dist-timeout <seconds>',
    help: 'data-parallel: how long a rank waits for the others before failing (default 120)',
    schema: posInt.optional(),
    commands: both,
  },
  device: { flag: '--device <name>', help: DEVICE_HELP, schema: deviceFlag, commands: both },
  json: {
    flag: '--json',
    help: 'print the result as JSON',
    schema: z.boolean().default(false),
    commands: both,
  },
} as const satisfies Record<string, TrainFlag>;

type Flags = typeof TRAIN_FLAGS;
type FlagName = keyof Flags;
type TakenBy<C extends TrainCommandName> = {
  [K in FlagName]: C extends Flags[K]['commands'][number] ? K : never;
}[FlagName];
type ValueOf<K extends FlagName, C extends TrainCommandName> = Flags[K] extends {
  required: readonly (infer R)[];
}
  ? C extends R
    ? NonNullable<z.output<Flags[K]['schema']>>
    : z.output<Flags[K]['schema']>
  : z.output<Flags[K]['schema']>;

/** The checked flags of `ccig train` or `ccig resume`. */
export type TrainFlagValues<C extends TrainCommandName> = { [K in TakenBy<C>]: ValueOf<K, C> };

function rowsOf(command: TrainCommandName): [FlagName, TrainFlag][] {
  return (Object.entries(TRAIN_FLAGS) as [FlagName, TrainFlag][]).filter(([, row]) =>
    row.commands.includes(command),
  );
}

/** Adds the command's rows to a commander command, in table order. */
export function addTrainFlags(cmd: Command, command: TrainCommandName): Command {
  for (const [, row] of rowsOf(command)) {
    const help = typeof row.help === 'string' ? row.help : row.help[command];
    if (row.required?.includes(command)) cmd.requiredOption(row.flag, help);
    else cmd.option(row.flag, help, row.default);
  }
  return cmd;
}

/** The zod schema of the command's flags: unknown flags are refused, every row checked. */
export function trainFlagSchema<C extends TrainCommandName>(command: C): z.ZodType<TrainFlagValues<C>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, row] of rowsOf(command)) {
    let schema = row.schema;
    if (row.required?.includes(command)) schema = (schema as z.ZodOptional<z.ZodType>).unwrap();
    if (row.default !== undefined) schema = schema.default(row.default);
    shape[name] = schema;
  }
  return z.strictObject(shape) as unknown as z.ZodType<TrainFlagValues<C>>;
}

/**
 * The config overrides of the flags given to a command, as a partial config ({ train: { steps:
 * 8000 }, ... }) to merge into the preset or the saved config. An empty string counts as not
 * given (`--data ''` leaves the dataset root as it was).
 */
export function configOverrides(
  flags: Readonly<Record<string, unknown>>,
  command: TrainCommandName,
): Partial<Record<Section, Record<string, unknown>>> {
  const over: Partial<Record<Section, Record<string, unknown>>> = {};
  for (const [name, row] of rowsOf(command)) {
    const value = flags[name];
    if (!row.config || value === undefined || value === '') continue;
    const [section, key] = row.config;
    (over[section] ??= {})[key] = value;
  }
  return over;
}
