/**
 * What every command shares: option validation with zod (messages name the option and what
 * was given), progress bars, JSON output, and the mapping of errors to exit codes.
 */
import { existsSync, readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { z } from 'zod';
import { isUserError, NativeError, OptionError } from '../errors.ts';

/** Exit codes: 0 ok, 1 internal error, 2 user error (bad option, data, graph, checkpoint), 3 training diverged. */
export const EXIT = { ok: 0, internal: 1, user: 2, diverged: 3 } as const;

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

/** Runs a command body; maps errors to one message on stderr and an exit code. */
export async function runCommand(body: () => Promise<void>): Promise<never> {
  try {
    await body();
    process.exit(EXIT.ok);
  } catch (e) {
    const err = e as Error;
    if (isUserError(e)) {
      process.stderr.write(`ccig: error: ${err.message}\n`);
      process.exit(EXIT.user);
    }
    if (err.name === 'TrainingDivergedError') {
      process.stderr.write(`ccig: ${err.message}\n`);
      process.exit(EXIT.diverged);
    }
    if (e instanceof NativeError) {
      process.stderr.write(`ccig: error in libtorch: ${err.message}\n`);
      process.exit(EXIT.internal);
    }
    process.stderr.write(`ccig: internal error (please report): ${err.stack ?? err.message}\n`);
    process.exit(EXIT.internal);
  }
}
