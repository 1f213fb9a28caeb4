import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OptionError } from '../src/errors.ts';
import {
  frechetDistance,
  frechetDistanceFromStats,
  gaussianStats,
  kid,
} from '../src/eval/feature-distances.ts';
import { mic, mine, tic } from '../src/eval/mic.ts';
import { type HwcImage, pixelL1, ssim } from '../src/eval/ssim.ts';
import {
  correlationMatrix,
  fitLinear,
  linearProbeR2,
  linearProbeR2Heldout,
  mean,
  minMaxScale,
  pearson,
  ranks,
  spearman,
  std,
  variance,
} from '../src/eval/stats.ts';

/** Seeded uniform [0, 1) (mulberry32), so every run sees the same data. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal by Box-Muller. */
function normal(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

const close = (got: number, want: number, tol: number, what = '') =>
  assert.ok(Math.abs(got - want) <= tol, `${what} got ${got}, want ${want} (tol ${tol})`);

const linspace = (a: number, b: number, n: number) =>
  Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));

describe('moments, ranks and correlation', () => {
  test('mean, variance, std', () => {
    assert.equal(mean([1, 2, 3, 6]), 3);
    assert.equal(variance([1, 2, 3, 4]), 1.25);
    assert.equal(variance([1, 2, 3, 4], 1), 5 / 3);
    assert.equal(std([1, 3]), 1);
    assert.throws(() => variance([1], 1), OptionError);
  });

  test('ranks average ties', () => {
    assert.deepEqual(Array.from(ranks([10, 30, 20, 20])), [1, 4, 2.5, 2.5]);
    assert.deepEqual(Array.from(ranks([5, 5, 5])), [2, 2, 2]);
    assert.deepEqual(Array.from(ranks([3, 1, 2])), [3, 1, 2]);
  });

  test('pearson on hand-computed data', () => {
    // x = [1, 2, 3, 4], y = [2, 1, 4, 3]: cov sum = 3, var sums 5 and 5 -> r = 0.6
    close(pearson([1, 2, 3, 4], [2, 1, 4, 3]), 0.6, 1e-15);
    close(pearson([1, 2, 3], [-2, -4, -6]), -1, 0);
    assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])), 'constant input has no correlation');
  });

  test('spearman uses average ranks for ties', () => {
    assert.equal(spearman([1, 2, 3, 4, 5], [1, 8, 27, 64, 125]), 1);
    assert.equal(spearman([1, 2, 3], [3, 2, 1]), -1);
    // ranks of y = [1, 2, 2, 4] are [1, 2.5, 2.5, 4]; pearson([1,2,3,4], [1,2.5,2.5,4]) = 4.5 / sqrt(5 * 4.5)
    close(spearman([1, 2, 3, 4], [1, 2, 2, 4]), 4.5 / Math.sqrt(5 * 4.5), 1e-15);
  });

  test('bad input names the function and argument', () => {
    assert.throws(
      () => pearson([1, 2, 3], [1, 2]),
      (e: unknown) =>
        e instanceof OptionError &&
        /pearson: x and y must have the same length, but received 3 and 2/.test(e.message),
    );
    assert.throws(
      () => spearman([1, Number.NaN], [1, 2]),
      /spearman: Expected a finite number for x\[1\] but received NaN/,
    );
  });

  test('min-max scaling', () => {
    assert.deepEqual(Array.from(minMaxScale([2, 4, 6])), [0, 0.5, 1]);
    assert.deepEqual(Array.from(minMaxScale([2, 4, 6], [-1, 1])), [-1, 0, 1]);
    assert.deepEqual(Array.from(minMaxScale([3, 3])), [0, 0]);
    assert.throws(() => minMaxScale([1, 2], [1, 1]), OptionError);
  });
});

describe('linear probe R^2', () => {
  test('an exact linear relation gives R^2 = 1 and recovers the coefficients', () => {
    const X = [
      [0, 1],
      [1, 0],
      [2, 3],
      [3, 1],
      [4, 4],
    ];
    const y = X.map(([a, b]) => 2 * a - 3 * b + 5);
    const fit = fitLinear(X, y);
    close(fit.coef[0], 2, 1e-8);
    close(fit.coef[1], -3, 1e-8);
    close(fit.intercept, 5, 1e-8);
    close(linearProbeR2(X, y), 1, 1e-9);
  });

  test('hand-computed R^2 of a one-feature fit equals pearson^2', () => {
    // x = [1, 2, 3, 4], y = [2, 1, 4, 3]: r = 0.6, R^2 = 0.36
    close(linearProbeR2([1, 2, 3, 4], [2, 1, 4, 3]), 0.36, 1e-9);
  });

  test('collinear and constant features do not break the solve', () => {
    const x = [0, 1, 2, 3, 4, 5];
    const X = x.map((v) => [v, 2 * v, 7]);
    close(
      linearProbeR2(
        X,
        x.map((v) => 3 * v + 1),
      ),
      1,
      1e-9,
    );
  });

  test('held-out R^2 against sklearn r2_score semantics', () => {
    // Train on y = x exactly; test targets are off by +1: SS_res = 4, SS_tot around the test mean = 5.
    const r2 = linearProbeR2Heldout([0, 1, 2, 3], [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5]);
    close(r2, 1 - 4 / 5, 1e-9);
    // A probe worse than the test mean is negative.
    assert.ok(linearProbeR2Heldout([0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 2, 3], [3, 2, 1, 0]) < 0);
  });

  test('row count mismatch is an OptionError', () => {
    assert.throws(() => linearProbeR2([[1], [2]], [1, 2, 3]), /X has 2 rows but y has 3 values/);
  });
});

describe('correlationMatrix', () => {
  const rand = rng(11);
  const n = 300;
  const f = Array.from({ length: n }, () => [rand(), rand()]);
  // latent 0 tracks factor 1 monotonically, latent 1 tracks factor 0 linearly, latent 2 is noise
  const z = f.map(([a, b]) => [Math.exp(3 * b), -2 * a + 1, rand()]);

  test('rows are latents, columns are factors', () => {
    const S = correlationMatrix(z, f, 'spearman');
    assert.equal(S.length, 3);
    assert.equal(S[0].length, 2);
    close(S[0][1], 1, 1e-12);
    close(S[1][0], -1, 1e-12);
    assert.ok(Math.abs(S[2][0]) < 0.2 && Math.abs(S[2][1]) < 0.2);
    const R = correlationMatrix(z, f, 'r2');
    close(R[1][0], 1, 1e-9);
    const P = correlationMatrix(z, f, 'pearson');
    close(R[0][1], P[0][1] ** 2, 1e-9);
  });

  test('mic and tic entries', () => {
    const M = correlationMatrix(z, f, 'mic');
    assert.ok(M[0][1] > 0.95 && M[1][0] > 0.95, JSON.stringify(M));
    assert.ok(M[2][0] < 0.4);
    const T = correlationMatrix(z, f, 'tic');
    assert.ok(T[0][1] > T[2][1] && T[0][1] <= 1);
  });

  test('unknown statistic and row mismatch are refused', () => {
    assert.throws(
      () => correlationMatrix(z, f, 'kendall' as 'mic'),
      /Expected one of pearson, spearman, mic, tic, r2 for stat but received 'kendall'/,
    );
    assert.throws(
      () => correlationMatrix(z.slice(1), f, 'pearson'),
      /latents has 299 rows but factors has 300/,
    );
  });
});

describe('MIC and TIC', () => {
  test("matches minepy's published example (sin(10 pi x) + x, n = 1000)", () => {
    // minepy docs, python_example.py: MIC 1.0, MAS 0.726071574374, MEV 1.0, TIC 67.6612295532
    const x = linspace(0, 1, 1000);
    const y = x.map((v) => Math.sin(10 * Math.PI * v) + v);
    const s = mine(x, y);
    close(s.mic, 1, 1e-12, 'MIC');
    close(s.mas, 0.726071574374, 1e-11, 'MAS');
    close(s.mev, 1, 1e-12, 'MEV');
    close(s.tic, 67.6612295532, 1e-9, 'TIC');
    // characteristic matrix shape: B = 1000^0.6 = 63.09..., rows i = 0..30, row i has floor(B/(i+2)) - 1 entries
    assert.equal(s.matrix.length, 30);
    assert.equal(s.matrix[0].length, 30);
    assert.equal(s.matrix[29].length, 1);
    close(s.ticNormalized, s.tic / s.matrix.reduce((k, r) => k + r.length, 0), 1e-15);
  });

  test('noiseless functions have MIC ~ 1 (n = 500)', () => {
    const x = linspace(-1, 1, 500);
    const fs: [string, (v: number) => number][] = [
      ['linear', (v) => 3 * v - 1],
      ['parabola', (v) => v * v],
      ['sine, 3 periods', (v) => Math.sin(3 * Math.PI * v)],
      ['exponential', (v) => Math.exp(4 * v)],
    ];
    for (const [name, fn] of fs) {
      const m = mic(x, x.map(fn));
      assert.ok(m >= 0.95, `${name}: MIC ${m}`);
    }
  });

  test('independent noise has small MIC (n = 1000)', () => {
    const rand = rng(7);
    for (let k = 0; k < 3; k++) {
      const x = Array.from({ length: 1000 }, rand);
      const y = Array.from({ length: 1000 }, rand);
      const m = mic(x, y);
      // minepy gives about 0.12-0.15 here: the estimator's bias at this n.
      assert.ok(m > 0.05 && m <= 0.2, `MIC of noise ${m}`);
    }
  });

  test('symmetric in x and y, invariant to monotone maps of x', () => {
    const rand = rng(3);
    const norm = normal(rand);
    const x = Array.from({ length: 400 }, () => 4 * rand() - 2);
    const y = x.map((v) => Math.cos(2 * v) + 0.3 * norm());
    const m = mic(x, y);
    close(mic(y, x), m, 1e-12, 'symmetry');
    close(
      mic(
        x.map((v) => Math.exp(v)),
        y,
      ),
      m,
      1e-12,
      'monotone exp',
    );
    close(
      mic(
        x.map((v) => -(v ** 3)),
        y,
      ),
      m,
      1e-12,
      'decreasing map',
    );
    assert.ok(m > 0.3 && m < 0.95, `noisy cosine ${m}`);
  });

  test('TIC is larger for a function than for noise', () => {
    const rand = rng(5);
    const x = Array.from({ length: 500 }, rand);
    const fn = x.map((v) => Math.sin(6 * v));
    const noise = x.map(() => rand());
    assert.ok(tic(x, fn) > 2 * tic(x, noise), `${tic(x, fn)} vs ${tic(x, noise)}`);
    const tn = tic(x, fn, { normalize: true });
    assert.ok(tn > 0 && tn <= 1);
  });

  test('ties and constants', () => {
    // Three levels, y = x: a 3 x 3 grid separates them perfectly.
    const x = Array.from({ length: 300 }, (_, i) => i % 3);
    close(mic(x, x), 1, 1e-12, 'discrete identity');
    assert.equal(mic(x, new Array(300).fill(2)), 0);
  });

  test('input validation', () => {
    assert.throws(
      () => mic([1, 2, 3], [1, 2, 3]),
      /mine: Expected at least 4 points for x and y but received 3/,
    );
    assert.throws(() => mic([1, 2, 3, 4], [1, 2, 3]), /same length, but received 4 and 3/);
    assert.throws(
      () => mic([1, 2, 3, Number.POSITIVE_INFINITY], [1, 2, 3, 4]),
      /x\[3\] but received Infinity/,
    );
    assert.throws(() => mic([1, 2, 3, 4], [1, 2, 3, 4], { alpha: 2 }), /alpha but received 2/);
    assert.throws(() => mic([1, 2, 3, 4], [1, 2, 3, 4], { c: 0 }), OptionError);
  });
});

/** An HWC image from a function of (y, x, c). */
function image(
  h: number,
  w: number,
  ch: number,
  f: (y: number, x: number, c: number) => number,
  u8 = true,
): HwcImage {
  const data = u8 ? new Uint8Array(h * w * ch) : new Float64Array(h * w * ch);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) for (let c = 0; c < ch; c++) data[(y * w + x) * ch + c] = f(y, x, c);
  return { data, height: h, width: w, channels: ch };
}

describe('SSIM and pixel L1', () => {
  const base = (y: number, x: number, c: number) => (x * 7 + y * 13 + c * 50) % 256;

  test('SSIM(x, x) = 1', () => {
    const a = image(24, 20, 3, base);
    close(ssim(a, a), 1, 1e-12);
  });

  test('matches an independent valid-window implementation (numpy/scipy, computed offline)', () => {
    const a = image(24, 20, 3, base);
    const b = image(24, 20, 3, (y, x, c) =>
      Math.min(255, Math.max(0, base(y, x, c) + ((x * y + c) % 11) - 5)),
    );
    close(ssim(a, b), 0.9948101275406213, 1e-12);
  });

  test('SSIM drops as noise grows', () => {
    const rand = rng(9);
    const norm = normal(rand);
    const a = image(32, 32, 3, (y, x, c) => 128 + 100 * Math.sin(x / 4 + c) * Math.cos(y / 5), false);
    let prev = 1;
    for (const sigma of [5, 20, 60]) {
      const b = image(32, 32, 3, (y, x, c) => a.data[(y * 32 + x) * 3 + c] + sigma * norm(), false);
      const s = ssim(a, b, { dataRange: 255 });
      assert.ok(s < prev, `sigma ${sigma}: ${s} not below ${prev}`);
      prev = s;
    }
    assert.ok(prev < 0.6);
  });

  test('constant images: (2ab + C1) / (a^2 + b^2 + C1)', () => {
    // No variance anywhere, so the structure term is C2 / C2 = 1.
    const a = image(16, 16, 1, () => 100);
    const b = image(16, 16, 1, () => 150);
    const C1 = (0.01 * 255) ** 2;
    close(ssim(a, b), (2 * 100 * 150 + C1) / (100 ** 2 + 150 ** 2 + C1), 1e-12);
  });

  test('images in [-1, 1] take dataRange 2; float data without a range is refused', () => {
    const a = image(12, 12, 3, () => -0.5, false);
    const b = image(12, 12, 3, () => 0.5, false);
    const C1 = (0.01 * 2) ** 2;
    close(ssim(a, b, { dataRange: 2 }), (2 * -0.25 + C1) / (0.5 + C1), 1e-12);
    assert.throws(() => ssim(a, b), /ssim: Expected a number > 0 for dataRange/);
    assert.throws(
      () =>
        ssim(
          image(8, 8, 3, () => 0),
          image(8, 8, 3, () => 0),
        ),
      /at least 11 x 11/,
    );
    assert.throws(
      () =>
        ssim(
          a,
          image(12, 13, 3, () => 0, false),
          { dataRange: 2 },
        ),
      /images differ in shape/,
    );
    assert.throws(
      () => ssim({ data: new Uint8Array(10), height: 2, width: 2, channels: 3 }, a),
      /must hold .* = 12 values \(HWC\), but has 10/,
    );
  });

  test('pixel L1', () => {
    assert.equal(pixelL1([0, 10, 5], [2, 10, 1]), 2);
    assert.equal(
      pixelL1(
        image(2, 2, 1, () => 3),
        image(2, 2, 1, () => 7),
      ),
      4,
    );
    assert.throws(() => pixelL1([1, 2], [1]), OptionError);
  });
});

describe('Frechet distance and KID', () => {
  const rand = rng(21);
  const norm = normal(rand);
  const feats = (n: number, d: number, f: (row: number[]) => number[] = (r) => r) =>
    Array.from({ length: n }, () => f(Array.from({ length: d }, norm)));

  test('identical sets are at distance 0', () => {
    const A = feats(200, 16);
    close(frechetDistance(A, A), 0, 1e-6);
  });

  test('closed forms: a shift adds ||shift||^2, a scale by 2 adds tr(S) + ||mu||^2', () => {
    const A = feats(300, 6, (r) => r.map((v, j) => v * (j + 1) + 0.3 * r[0]));
    const shift = [1, -2, 0.5, 0, 3, -1];
    const shifted = A.map((r) => r.map((v, j) => v + shift[j]));
    close(
      frechetDistance(A, shifted),
      shift.reduce((s, v) => s + v * v, 0),
      1e-8,
      'shift',
    );
    // B = 2A: S2 = 4 S1, so S1 + S2 - 2 (S1 S2)^1/2 = S1, and the means differ by mu.
    const g = gaussianStats(A);
    const trS = Array.from({ length: 6 }, (_, j) => g.cov[j * 6 + j]).reduce((s, v) => s + v, 0);
    const mu2 = Array.from(g.mean).reduce((s, v) => s + v * v, 0);
    close(
      frechetDistance(
        A,
        A.map((r) => r.map((v) => 2 * v)),
      ),
      trS + mu2,
      1e-8,
      'scale',
    );
  });

  test('diagonal Gaussians: ||mu1 - mu2||^2 + sum (s1 + s2 - 2 sqrt(s1 s2))', () => {
    const s1 = [1, 4, 0.25, 9];
    const s2 = [2, 1, 0.25, 16];
    const diag = (s: number[]) => {
      const c = new Float64Array(16);
      s.forEach((v, j) => {
        c[j * 4 + j] = v;
      });
      return c;
    };
    const a = { mean: Float64Array.from([0, 1, 2, 3]), cov: diag(s1), d: 4, n: 100 };
    const b = { mean: Float64Array.from([1, 1, 0, 3]), cov: diag(s2), d: 4, n: 100 };
    const want = 1 + 4 + s1.reduce((acc, v, j) => acc + v + s2[j] - 2 * Math.sqrt(v * s2[j]), 0);
    close(frechetDistanceFromStats(a, b), want, 1e-12);
  });

  test('a full 2 x 2 case: tr (S1 S2)^1/2 = sqrt(tr(S1 S2) + 2 sqrt(det S1 det S2))', () => {
    const a = { mean: Float64Array.from([1, 2]), cov: Float64Array.from([2, 0.5, 0.5, 1]), d: 2, n: 10 };
    const b = { mean: Float64Array.from([0, 2.5]), cov: Float64Array.from([1, -0.3, -0.3, 3]), d: 2, n: 10 };
    const trProd = 2 * 1 + 0.5 * -0.3 + 0.5 * -0.3 + 1 * 3;
    const det = (2 - 0.25) * (3 - 0.09);
    const want = 1 + 0.25 + 3 + 4 - 2 * Math.sqrt(trProd + 2 * Math.sqrt(det));
    close(frechetDistanceFromStats(a, b), want, 1e-12);
    close(want, 2.1793118549677732, 1e-12, 'scipy sqrtm value');
  });

  test('d = 64: a scale by 1.5 has the closed form (|mu|^2 + tr S) / 4', () => {
    // B = cA: S2 = c^2 S1, so the distance is (c - 1)^2 (|mu|^2 + tr S1); at 64 dimensions the
    // eigen-solves' rounding is what the tolerance allows for
    const A = feats(150, 64, (r) => r.map((v, j) => v + 0.1 * j));
    const B = A.map((r) => r.map((v) => 1.5 * v));
    const g = gaussianStats(A);
    const trS = Array.from({ length: 64 }, (_, j) => g.cov[j * 64 + j]).reduce((s, v) => s + v, 0);
    const mu2 = Array.from(g.mean).reduce((s, v) => s + v * v, 0);
    const want = 0.25 * (mu2 + trS);
    close(frechetDistance(A, B), want, 1e-6 * want, 'scale by 1.5');
    assert.ok(want > 5, `${want}`);
  });

  test('KID: unbiased MMD^2 matches a direct computation on whole sets', () => {
    // With subsetSize = n every subset is the whole set (reordered), so each value is the plain
    // unbiased MMD^2 of the two sets.
    const A30 = feats(30, 5);
    const B = feats(30, 5, (r) => r.map((v) => v + 0.5));
    const k = (x: number[], y: number[]) => (x.reduce((s, v, i) => s + v * y[i], 0) / 5 + 1) ** 3;
    let xx = 0;
    let yy = 0;
    let xy = 0;
    for (let i = 0; i < 30; i++) {
      for (let j = 0; j < 30; j++) {
        if (i !== j) {
          xx += k(A30[i], A30[j]);
          yy += k(B[i], B[j]);
        }
        xy += k(A30[i], B[j]);
      }
    }
    const want = xx / (30 * 29) + yy / (30 * 29) - (2 * xy) / (30 * 30);
    for (const cacheKernels of [true, false]) {
      const got = kid(A30, B, { subsets: 3, subsetSize: 30, cacheKernels });
      for (const v of got.values) close(v, want, 1e-10);
      close(got.std, 0, 1e-12);
    }
    // Proper subsets: the cached and direct paths draw the same subsets and agree.
    const a = kid(A30, B, { subsets: 4, subsetSize: 10, seed: 5, cacheKernels: true });
    const b = kid(A30, B, { subsets: 4, subsetSize: 10, seed: 5, cacheKernels: false });
    for (let i = 0; i < 4; i++) close(a.values[i], b.values[i], 1e-12);
    assert.ok(a.std > 0);
  });

  test('KID ~ 0 for one distribution, clearly positive for a shifted one', () => {
    const A = feats(300, 8);
    const B = feats(300, 8);
    const C = feats(300, 8, (r) => r.map((v) => v + 1));
    const same = kid(A, B, { subsets: 20, subsetSize: 200, seed: 1 });
    const shifted = kid(A, C, { subsets: 20, subsetSize: 200, seed: 1 });
    assert.ok(Math.abs(same.mean) < 0.02, `same: ${same.mean}`);
    assert.ok(shifted.mean > 0.3 && shifted.mean > 20 * Math.abs(same.mean), `shifted: ${shifted.mean}`);
    assert.equal(same.values.length, 20);
  });

  test('feature sets are validated', () => {
    assert.throws(
      () =>
        frechetDistance(
          [[1, 2]],
          [
            [1, 2],
            [3, 4],
          ],
        ),
      /at least 2 feature rows for features but received 1/,
    );
    assert.throws(
      () =>
        kid(
          [[1], [2]],
          [
            [1, 2],
            [3, 4],
          ],
        ),
      /feature sizes differ: 1 and 2/,
    );
    assert.throws(() => kid([[1], [2]], [[1], [2]], { subsets: 0 }), /positive integer for subsets/);
  });
});
