/**
 * What every command shares: option validation with zod (messages name the option and what
 * was given), progress bars, JSON output, and the mapping of errors to exit codes.
 */
import { existsSync, readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { z } from 'zod';
import { DistributedError, FileSystemError, isUserError, NativeError, OptionError } from '../errors.ts';
import { toFileSystemError } from '../files.ts';
import { bestDevice, type Device, setDefaultDevice } from '../torch/index.ts';

/**
 * Exit codes (README, Troubleshooting): 0 ok (also a run stopped by SIGINT/SIGTERM with its
 * checkpoint written), 1 internal error, 2 user error (bad option, data, graph, checkpoint, a path
 * that cannot be used), 3 training diverged, 4 the machine refused a file operation (no space,
 * permission denied, read-only file system, too many open files, I/O error); 130 / 143 a second
 * Ctrl-C / SIGTERM quit at once.
 */
export const EXIT = { ok: 0, internal: 1, user: 2, diverged: 3, environment: 4 } as const;

let debugFlag = false;

/** `--debug` (or CCIG_DEBUG=1): print stack traces with error messages. */
export function setDebug(on: boolean): void {
  debugFlag = on;
}

export function debugEnabled(): boolean {
  const env = process.env.CCIG_DEBUG;
  return debugFlag || (env !== undefined && env !== '' && env !== '0' && env !== 'false');
}

/** Validates parsed command-line options against a schema; one OptionError lists every problem. */
export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown, command: string): z.infer<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const key = i.path.join('.');
    const flag = key ? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : 'arguments';
    const got = key ? (raw as Record<string, unknown>)[i.path[0] as string] : raw;
    return `${flag}: ${i.message}${got !== undefined ? ` (received ${JSON.stringify(got)})` : ''}`;
  });
  throw new OptionError(`${command}: ${lines.join('; ')}`);
}

/** Number options arrive as strings; these coerce and check them. */
export const num = z.coerce.number().refine(Number.isFinite, 'must be a finite number');
export const int = z.coerce.number().int('must be an integer');
export const posInt = int.positive('must be a positive integer');

/** Reads a JSON file a user named, with clear messages. */
export function readJsonFile(path: string, what: string): unknown {
  if (!existsSync(path)) throw new OptionError(`${what} ${path} does not exist`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new OptionError(`${what} ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Parses repeated `name=value` pairs (interventions). */
export function parseAssignments(pairs: readonly string[], flag: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    const name = p.slice(0, eq).trim();
    const value = Number(p.slice(eq + 1));
    if (eq <= 0 || !name) throw new OptionError(`${flag}: expected name=value, received '${p}'`);
    if (p.slice(eq + 1).trim() === '' || !Number.isFinite(value))
      throw new OptionError(
        `${flag}: value for '${name}' must be a finite number, received '${p.slice(eq + 1)}'`,
      );
    out[name] = value;
  }
  return out;
}

/** A progress bar on stderr (a TTY), or a line every few seconds otherwise; silent with json. */
export function progressBar(label: string, total: number, { quiet = false } = {}) {
  if (quiet) return { update: (_v: number, _info?: string, _total?: number) => {}, stop: () => {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} {info}`,
        barsize: 24,
        hideCursor: true,
        stream: process.stderr,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { info: '' });
    return {
      update: (v: number, info = '', newTotal?: number) => {
        if (newTotal !== undefined && newTotal !== total) bar.setTotal((total = newTotal));
        bar.update(v, { info });
      },
      stop: () => bar.stop(),
    };
  }
  let lastPrint = 0;
  return {
    update: (v: number, info = '', newTotal?: number) => {
      if (newTotal !== undefined) total = newTotal;
      const now = Date.now();
      if (now - lastPrint > 5000 || v === total) {
        lastPrint = now;
        process.stderr.write(`${label} ${v}/${total} ${info}\n`);
      }
    },
    stop: () => {},
  };
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s <= 0) return '--';
  const m = Math.floor(s / 60);
  return m >= 60
    ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
    : `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/** What the CLI prints for an error, and the exit code. */
export function describeFailure(e: unknown): { message: string; code: number } {
  const converted = toFileSystemError(e);
  if (converted instanceof FileSystemError)
    return {
      message: `ccig: error: ${converted.message}`,
      code: converted.userMistake ? EXIT.user : EXIT.environment,
    };
  if (isUserError(converted)) return { message: `ccig: error: ${converted.message}`, code: EXIT.user };
  const err = converted as Error | undefined;
  if (err instanceof DistributedError)
    return { message: `ccig: error: ${err.message}`, code: EXIT.environment };
  if (err?.name === 'TrainingDivergedError') return { message: `ccig: ${err.message}`, code: EXIT.diverged };
  if (err instanceof NativeError)
    return { message: `ccig: error in libtorch: ${err.message}`, code: EXIT.internal };
  // a bug: the stack trace is what a report needs
  return {
    message: `ccig: internal error (please report): ${err?.stack ?? err?.message ?? String(e)}`,
    code: EXIT.internal,
  };
}

/**
 * Runs a command body; maps errors to one message on stderr and an exit code. With --debug or
 * CCIG_DEBUG=1 the stack trace (and the cause's) follows the message.
 */
export async function runCommand(body: () => Promise<void>): Promise<never> {
  try {
    await body();
    process.exit(EXIT.ok);
  } catch (e) {
    const { message, code } = describeFailure(e);
    process.stderr.write(`${message}\n`);
    if (debugEnabled() && code !== EXIT.internal) {
      const err = e as Error;
      process.stderr.write(`${err?.stack ?? String(e)}\n`);
      const cause = err?.cause as Error | undefined;
      if (cause?.stack) process.stderr.write(`caused by: ${cause.stack}\n`);
    }
    process.exit(code);
  }
}

/** The --device option: cpu, cuda or cuda:N; checked against the GPUs when used. */
export const deviceFlag = z.string().optional();
export const DEVICE_HELP = 'cpu | cuda | cuda:N (default: cuda when libtorch sees a GPU)';

/**
 * Makes --device the default device of this process (models, batches and optimizer states are
 * created there). Without the flag: cuda when libtorch sees a GPU, else cpu.
 */
export function useDevice(flag: string | undefined): Device {
  const device = (flag ?? bestDevice()) as Device;
  setDefaultDevice(device);
  return device;
}
