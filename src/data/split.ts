/**
 * Deterministic train / valid / test split by hashing each example's file name with a seed.
 *
 * A hash of the name, not a seeded shuffle: an example keeps its split when files are added or
 * removed, so a test set stays a test set as a dataset grows, and the assignment needs no state.
 * The hash is defined here (FNV-1a over UTF-16 code units, then murmur3's 32-bit finaliser) and must
 * never change: changing it would silently move examples between train and test.
 *
 * @example
 * const s = resolveSplit({ seed: 1, test: 0.2 }); // valid defaults to 0.1
 * splitOf('000001.jpg', s); // 'train' | 'valid' | 'test', the same on every run
 */
import { OptionError } from '../errors.ts';
import { fmt, rejectUnknownKeys } from '../options.ts';

export const SPLIT_NAMES = ['train', 'valid', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

/** A seeded split: fractions of examples for valid and test; train takes the rest. */
export interface SplitOptions {
  /** Non-negative integer; default 0. */
  seed?: number;
  /** Fraction in [0, 1) for the validation split; default 0.1 (CelebA's official share). */
  valid?: number;
  /** Fraction in [0, 1) for the test split; default 0.1. */
  test?: number;
}

const SPLIT_OPTION_KEYS = ['seed', 'valid', 'test'] as const satisfies readonly (keyof SplitOptions)[];

/** SplitOptions with every default filled in. */
export type ResolvedSplit = Required<SplitOptions>;

/** Validate split options and fill in defaults. Throws OptionError naming the bad field. */
export function resolveSplit(opts: SplitOptions = {}): ResolvedSplit {
  if (typeof opts !== 'object' || opts === null) {
    throw new OptionError(`Expected an object { seed, valid, test } for split but received ${fmt(opts)}`);
  }
  rejectUnknownKeys(opts, SPLIT_OPTION_KEYS, 'split');
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new OptionError(`Expected a non-negative integer for split.seed but received ${fmt(seed)}`);
  }
  const valid = opts.valid ?? 0.1;
  const test = opts.test ?? 0.1;
  for (const [name, v] of [
    ['valid', valid],
    ['test', test],
  ] as const) {
    if (!(typeof v === 'number' && v >= 0 && v < 1)) {
      throw new OptionError(`Expected a number in [0, 1) for split.${name} but received ${fmt(v)}`);
    }
  }
  if (valid + test >= 1) {
    throw new OptionError(`Expected split.valid + split.test < 1 but received ${valid} + ${test}`);
  }
  return { seed, valid, test };
}

/** Which split a file name falls in under a resolved split. */
export function splitOf(name: string, split: ResolvedSplit): SplitName {
  const u = hashName(name, split.seed) / 2 ** 32; // uniform in [0, 1)
  if (u < split.test) return 'test';
  if (u < split.test + split.valid) return 'valid';
  return 'train';
}

/** 32-bit hash of a name under a seed (both 32-bit halves of the seed count). */
export function hashName(name: string, seed: number): number {
  let h = 0x811c9dc5 ^ fmix32(seed >>> 0) ^ fmix32((Math.floor(seed / 2 ** 32) >>> 0) + 0x9e3779b9);
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // FNV alone leaves similar names ('000001.jpg', '000002.jpg') correlated in the high bits we
  // compare against; the finaliser spreads every input bit over the whole word.
  return fmix32(h);
}

/** murmur3's 32-bit finaliser. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
