/**
 * Checks of options a person gives, shared by every layer (torch, causal, model, ..., data), so a
 * wrong value reads the same wherever it is caught: "Expected one of a, b for name but received
 * 'x'". Allowed values live in `as const` tables next to the code that uses them; these helpers
 * only check against them and word the OptionError.
 */
import { OptionError } from './errors.ts';

/** A received value as messages show it: strings quoted, others as short JSON. */
export function fmt(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === undefined) return 'undefined';
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return String(v);
  }
}

/**
 * `value` if it is one of `allowed`, else an OptionError "Expected one of a, b for name but
 * received 'x'", prefixed with `fn: ` when given.
 *
 * @example
 * const mode = expectOneOf(o.mode, STRUCTURE_MODES, 'structure'); // typed as StructureMode
 */
export function expectOneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  name: string,
  fn?: string,
): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new OptionError(
    `${fn ? `${fn}: ` : ''}Expected one of ${allowed.join(', ')} for ${name} but received ${fmt(value)}`,
  );
}

/** Throw OptionError for keys of `opts` not in `allowed`: "Unknown option 'x' for fn; expected one of a, b". */
export function rejectUnknownKeys(opts: object, allowed: readonly string[], fn: string): void {
  for (const key of Object.keys(opts)) {
    if (!allowed.includes(key)) {
      throw new OptionError(`Unknown option '${key}' for ${fn}; expected one of ${allowed.join(', ')}`);
    }
  }
}

/** The closest name by edit distance (case-insensitive), if it is close enough to be a typo. */
export function nearest(name: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const n of names) {
    const d = editDistance(name.toLowerCase(), n.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = n;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** Up to `k` items joined by ', ', with '...' when there are more. */
export function listSome(items: readonly string[], k = 5): string {
  return items.slice(0, k).join(', ') + (items.length > k ? ', ...' : '');
}
