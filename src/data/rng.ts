/**
 * A small deterministic PRNG: xoshiro128** (Blackman & Vigna), seeded through splitmix32, with
 * Box-Muller normals. Same seed and stream give the same numbers on every run; the whole state
 * (including a cached second normal) can be saved and restored, so checkpoints resume exactly.
 *
 * @example
 *   const rng = new Rng(42);
 *   rng.uniform(0, 1); rng.normal(); rng.int(10);
 *   const perExample = new Rng(42, 7); // an independent stream for example 7
 */
import { OptionError } from '../errors.ts';

/** splitmix32 finaliser: a good 32-bit mix, used for seeding and hashing. */
export function mix32(x: number): number {
  let t = (x + 0x9e3779b9) | 0;
  t = Math.imul(t ^ (t >>> 16), 0x21f0aaad);
  t = Math.imul(t ^ (t >>> 15), 0x735a2d97);
  return (t ^ (t >>> 15)) >>> 0;
}

/**
 * Hash a seed and any number of integer keys into one 32-bit seed. Seeds may be any safe
 * integer (both 32-bit halves are used), so 1 and 2**32 + 1 differ.
 */
export function deriveSeed(seed: number, ...keys: number[]): number {
  checkSeed(seed, 'seed');
  let h = mix32((seed >>> 0) ^ mix32(Math.floor(seed / 2 ** 32) >>> 0));
  for (const k of keys) {
    checkSeed(k, 'stream key');
    h = mix32(h ^ mix32((k >>> 0) ^ mix32(Math.floor(k / 2 ** 32) >>> 0)));
  }
  return h;
}

function checkSeed(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new OptionError(`Expected a non-negative safe integer for ${what} but received ${v}`);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Saved generator state: four xoshiro words plus the cached Box-Muller normal (or null). */
export interface RngState {
  s: [number, number, number, number];
  spare: number | null;
}

/** xoshiro128** generator. `stream` selects an independent sequence for the same seed. */
export class Rng {
  private readonly s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed = 0, stream = 0) {
    let h = deriveSeed(seed, stream);
    for (let i = 0; i < 4; i++) {
      h = mix32(h + i);
      this.s[i] = h;
    }
    // xoshiro must not start from all zeros; mix32 makes that practically impossible, but be exact.
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  /** Next raw 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  float(): number {
    const a = this.nextU32() >>> 5;
    const b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform double in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0)
      throw new OptionError(`Expected a positive integer for n but received ${n}`);
    return Math.floor(this.float() * n);
  }

  /** Standard normal N(0, 1) by Box-Muller; the second value of each pair is cached. */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    const u1 = 1 - this.float(); // (0, 1]: log is finite
    const u2 = this.float();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** Shuffle an array in place (Fisher-Yates) and return it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** Copy of the full state, for checkpoints. */
  getState(): RngState {
    return { s: [this.s[0], this.s[1], this.s[2], this.s[3]], spare: this.spare };
  }

  /** Restore a state saved by getState(). */
  setState(state: RngState): void {
    if (state.s.length !== 4 || state.s.every((w) => w >>> 0 === 0)) {
      throw new OptionError('Expected four 32-bit words, not all zero, for the RNG state');
    }
    for (let i = 0; i < 4; i++) this.s[i] = state.s[i] >>> 0;
    this.spare = state.spare;
  }
}
