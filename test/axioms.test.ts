// The axiomatic evaluation on cases with known answers: stand-in models whose counterfactuals
// are known exactly (an identity model that ignores interventions, a model that paints the
// intervened brightness), a stand-in oracle that reads brightness, and hand-computed CLD / F1.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AttributeInfo, type Dataset, gatherBatch } from '../src/data/dataset.ts';
import { generateWorldDataset, worldByName } from '../src/data/world-dataset.ts';
import {
  cdmSection,
  cld,
  compositionSection,
  effectivenessSection,
  minimalitySection,
  pairwiseL1,
  reversibilitySection,
} from '../src/eval/axioms.ts';
import { Bootstrap, f1Score, quantileSorted } from '../src/eval/bootstrap.ts';
import {
  BINS,
  binOf,
  createContext,
  drawTargets,
  type EvalModel,
  type EvalOracle,
  readCounterfactuals,
} from '../src/eval/context.ts';
import { interventionSection } from '../src/eval/interventions.ts';
import { attributeRange } from '../src/model/edit.ts';
import type { Tensor } from '../src/torch/index.ts';
import * as torch from '../src/torch/index.ts';

const close = (a: number, b: number, tol = 1e-6, what = '') =>
  assert.ok(Math.abs(a - b) <= tol, `${what} expected ${b}, got ${a}`);

/** n random 16 x 16 images; label b = mean brightness in [0, 1]. */
function brightnessData(n: number, S = 16, seed = 3): Dataset {
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const images = Array.from({ length: n }, (_, k) => {
    // each image its own mean level, so brightness spans a range and bins are populated
    const level = (k + 0.5) / n;
    return Uint8Array.from({ length: S * S * 3 }, () =>
      Math.max(0, Math.min(255, Math.round(255 * (level + 0.3 * (rand() - 0.5))))),
    );
  });
  const b = images.map((im) => im.reduce((a, v) => a + v, 0) / im.length / 255);
  const attributes: AttributeInfo[] = [
    { name: 'b', kind: 'continuous', min: Math.min(...b), max: Math.max(...b) },
  ];
  const ds: Dataset = {
    size: n,
    imageSize: S,
    attributes,
    image: (i) => images[i],
    labels: (i) => Float32Array.of(b[i]),
    batch: (idx) => gatherBatch(ds, idx),
  };
  return ds;
}

const logit = (p: Tensor) => {
  const q = p.clamp(1e-6, 1 - 1e-6);
  return q.div(q.rsub(1)).log();
};
const brightness = (x: Tensor) => x.add(1).div(2).mean([1, 2, 3]).unsqueeze(1);

/**
 * z = [z_c (m columns, each logit(brightness)), z_r = the pixels]. 'identity' decodes z_r (so it
 * reproduces any image and ignores interventions); 'paint' decodes a flat image of brightness
 * sigmoid(z_c[0]) (interventions work exactly, the rest of the image is lost).
 */
function standInModel(
  mode: 'identity' | 'paint',
  names: string[],
  S = 16,
  attributes?: AttributeInfo[],
): EvalModel {
  const m = names.length;
  const P = 3 * S * S;
  const attrs = attributes ?? names.map((name) => ({ name, kind: 'continuous' as const, min: 0, max: 1 }));
  const lo = attrs.map((a) => a.min);
  const span = attrs.map((a) => a.max - a.min);
  const model = {
    m,
    config: { attributes: names, imageSize: S, scm: { edges: [] } },
    attributes: attrs,
    encode: (x: Tensor) => {
      const B = x.shape[0];
      const zc = logit(brightness(x)).expand([B, m]);
      return { mu: torch.cat([zc, x.reshape([B, P])], 1), logvar: torch.zeros([B, m + P]) };
    },
    decode: (z: Tensor) => {
      const B = z.shape[0];
      if (mode === 'identity') return z.slice(1, m).reshape([B, 3, S, S]);
      return z.slice(1, 0, 1).sigmoid().mul(2).sub(1).reshape([B, 1, 1, 1]).expand([B, 3, S, S]).contiguous();
    },
    split: (z: Tensor) => ({ zc: z.slice(1, 0, m), zr: z.slice(1, m) }),
    join: (zc: Tensor, zr: Tensor | undefined) => (zr ? torch.cat([zc, zr], 1) : zc),
    latentToLabels: (zc: Tensor) => zc.sigmoid().mul(torch.tensor(span)).add(torch.tensor(lo)),
    labelToLatent: (i: number, v: number) => {
      const p = Math.min(1 - 1e-6, Math.max(1e-6, (v - lo[i]) / span[i]));
      return Math.log(p / (1 - p));
    },
    sampleLatent: (B: number) => torch.zeros([B, m + P]),
    prior: {
      interventionIndices: (iv: Record<string, number>) =>
        Object.entries(iv).map(([k, v]) => [names.indexOf(k), v] as [number, number]),
      abduct: (zc: Tensor) => zc,
      intervene: (eps: Tensor) => eps,
      interveneRows: (eps: Tensor, nodes: readonly number[], values: Tensor) => {
        const sel = torch.tensor(names.map((_, j) => (nodes.includes(j) ? 1 : 0))).unsqueeze(0);
        return eps.mul(sel.rsub(1)).add(values.mul(sel));
      },
      adjacencyArray: () => names.map(() => names.map(() => 0)),
      edges: () => [],
    },
  };
  return model as unknown as EvalModel;
}

/** Reads brightness (every attribute) and per-channel means as features. */
function standInOracle(m = 1): EvalOracle {
  const read = (x: Tensor) =>
    torch.noGrad(() => ({
      features: x.add(1).div(2).mean([2, 3]),
      values: brightness(x).expand([x.shape[0], m]).contiguous(),
    }));
  return {
    read,
    forward: (x: Tensor) => ({ features: read(x).features, logits: read(x).values }),
    featureDim: 3,
    meta: { attributes: [], imageSize: 16, source: 'stand-in', steps: 0, heldOutError: {} },
  } as unknown as EvalOracle;
}

describe('bootstrap intervals and F1', () => {
  test('quantiles match numpy linear interpolation', () => {
    const v = [1, 2, 3, 4, 10];
    close(quantileSorted(v, 0.5), 3);
    close(quantileSorted(v, 0.25), 2);
    close(quantileSorted(v, 0.9), 7.6); // numpy.percentile([1,2,3,4,10], 90) = 7.6
  });

  test('a constant has a zero-width interval; the mean is the sample mean', () => {
    const b = new Bootstrap({ seed: 1 });
    const iv = b.mean([2, 2, 2, 2])!;
    assert.deepEqual([iv.mean, iv.lo, iv.hi, iv.n], [2, 2, 2, 4]);
    const xs = Array.from({ length: 200 }, (_, k) => k % 7);
    const m = b.mean(xs)!;
    close(m.mean, xs.reduce((a, c) => a + c, 0) / 200);
    assert.ok(m.lo < m.mean && m.mean < m.hi);
    assert.equal(b.mean([]), null);
  });

  test('the interval covers about 95% of true means (normal data, 200 repetitions)', () => {
    let covered = 0;
    let s = 11;
    const normal = () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      const u1 = (s + 1) / 2147483649;
      s = (s * 1103515245 + 12345) % 2147483648;
      return Math.sqrt(-2 * Math.log(u1)) * Math.cos((2 * Math.PI * s) / 2147483648);
    };
    for (let r = 0; r < 200; r++) {
      const iv = new Bootstrap({ seed: r, resamples: 400 }).mean(Array.from({ length: 60 }, normal))!;
      if (iv.lo <= 0 && 0 <= iv.hi) covered++;
    }
    assert.ok(covered >= 176 && covered <= 198, `coverage ${covered}/200`);
  });

  test('paired difference: a consistent shift is significant, noise around 0 is not', () => {
    const b = new Bootstrap({ seed: 2 });
    const a = Array.from({ length: 100 }, (_, k) => Math.sin(k) + 0.1);
    const c = Array.from({ length: 100 }, (_, k) => Math.sin(k));
    const d = b.pairedDifference(a, c)!;
    close(d.mean, 0.1, 1e-12);
    assert.ok(d.significant);
    const e = b.pairedDifference(
      a.map((v, k) => v + (k % 2 ? 0.05 : -0.05)),
      a,
    )!;
    assert.ok(!e.significant, `interval [${e.lo}, ${e.hi}]`);
    assert.throws(() => b.pairedDifference([1], [1, 2]), /pair up/);
    // the same edit up to float rounding (do() on a node without descendants) is no difference
    const f = b.pairedDifference(
      a.map((v) => v + 1e-9),
      a,
    )!;
    assert.ok(!f.significant);
  });

  test('F1 by hand', () => {
    // tp 2, fp 1, fn 1 -> 2*2 / (4 + 1 + 1)
    close(f1Score([0.9, 0.8, 0.7, 0.1, 0.2], [1, 1, 0, 1, 0]), 4 / 6);
    close(f1Score([0.1, 0.2], [0, 0]), 1);
    close(f1Score([0.9, 0.1, 0.9], [1, 1, 0], [0, 0]), 1); // rows 0, 0: tp 2
  });
});

describe('counterfactual latent divergence', () => {
  test('a hand-computed case', () => {
    // div 0.5; with the cf's value 2 of 4 are at most 0.5 away; with the factual value 2 of 3 at least
    const r = cld(0.5, [0.1, 0.4, 0.6, 0.9], [0, 0.5, 0.7])!;
    close(r.p1, 0.5);
    close(r.p2, 2 / 3);
    close(r.cld, Math.log(0.8 * Math.exp(0.5) + 0.2 * Math.exp(2 / 3)));
    assert.equal(cld(0.5, [], [1]), null);
  });

  test('pairwise L1 by hand', () => {
    const D = pairwiseL1(Float32Array.of(0, 0, 1, 3, 2, 2), 3, 2);
    assert.deepEqual(Array.from(D), [0, 2, 2, 2, 0, 1, 2, 1, 0]);
  });
});

describe('axioms on stand-in models with known answers', () => {
  const n = 60;
  const data = brightnessData(n);

  test('identity model: composition and reversibility are exactly 0', () => {
    torch.scope(() => {
      const ctx = createContext(standInModel('identity', ['b']), data, standInOracle(), {
        n,
        seed: 0,
        chunk: 25,
      });
      const comp = compositionSection(ctx);
      assert.deepEqual(comp.cycles, [1, 10]);
      for (const v of [...comp.pixel, ...comp.features]) assert.deepEqual([v!.mean, v!.lo, v!.hi], [0, 0, 0]);
      const rev = reversibilitySection(ctx);
      for (const v of [...rev.pixel, ...rev.features]) assert.equal(v!.mean, 0);
      assert.equal(rev.perAttribute[0].pixel[1]!.n, n);
    });
  });

  test('a model that ignores interventions: effectiveness at chance, minimality by hand, CDM 0', () => {
    torch.scope(() => {
      const ctx = createContext(standInModel('identity', ['b']), data, standInOracle(), {
        n,
        seed: 0,
        chunk: 25,
      });
      const cf = readCounterfactuals(ctx, 0);
      const eff = effectivenessSection(ctx, [cf]).rows[0].factors[0];
      assert.equal(eff.role, 'intervened');
      // the image is unchanged: the reading is the factual brightness, its error the distance to the target
      const chance = cf.targets.reduce((s, t, r) => s + Math.abs(ctx.labels[r] - t), 0) / n;
      close(eff.causal!.mean, chance, 1e-5, 'effectiveness');
      close(eff.nonCausal!.mean, chance, 1e-5, 'effectiveness (non-causal)');
      assert.ok(!eff.difference!.significant);
      // unchanged image: d(x_cf, x) = 0, so P1 = share of cf-value images at distance 0 (none:
      // the target lies in another bin and the images differ), P2 = 1
      const min = minimalitySection(ctx, [cf])[0];
      close(min.causal.p1!.mean, 0, 0, 'P1');
      close(min.causal.p2!.mean, 1, 0, 'P2');
      close(min.causal.cld!.mean, Math.log(0.8 + 0.2 * Math.E), 1e-12, 'CLD');
      const cdm = cdmSection(ctx);
      close(cdm.upper[0][0]!.mean, 0, 1e-7, 'CDM upper');
      close(cdm.lower[0][0], 0, 1e-7, 'CDM lower');
    });
  });

  test('a model that paints the intervened brightness: effectiveness 0, CDM = hi - lo', () => {
    torch.scope(() => {
      const ctx = createContext(standInModel('paint', ['b']), data, standInOracle(), {
        n,
        seed: 0,
        chunk: 25,
      });
      const cf = readCounterfactuals(ctx, 0);
      const eff = effectivenessSection(ctx, [cf]).rows[0].factors[0];
      close(eff.causal!.mean, 0, 1e-5, 'effectiveness');
      const cdm = cdmSection(ctx);
      const [lo, hi] = cdm.values[0];
      close(lo, Math.min(...Array.from(ctx.labels)), 1e-5, 'do() low value');
      close(hi, Math.max(...Array.from(ctx.labels)), 1e-5, 'do() high value');
      // score = brightness (range [0, 1] here as the labels' observed range is used): (lo - hi) / range
      const span = data.attributes[0].max - data.attributes[0].min;
      close(cdm.upper[0][0]!.mean, (hi - lo) / span, 1e-4, 'CDM upper');
      close(cdm.lower[0][0], (hi - lo) / span, 1e-4, 'CDM lower');
      close(cdm.lowerIntervals[0][0]!.mean, cdm.lower[0][0], 1e-12, 'CDM lower interval');
    });
  });

  test('targets: one per image, inside attributeRange, in another bin than the factual value', () => {
    torch.scope(() => {
      const model = standInModel('identity', ['b'], 16, data.attributes as AttributeInfo[]);
      const ctx = createContext(model, data, standInOracle(), { n, seed: 5 });
      const { targets } = drawTargets(ctx, 0);
      const [lo, hi] = attributeRange(model, 'b', 2);
      assert.ok(new Set(targets).size > n / 2, 'targets differ between images');
      targets.forEach((t, r) => {
        assert.ok(t >= lo && t <= hi, `target ${t} outside [${lo}, ${hi}]`);
        assert.notEqual(binOf(ctx, 0, t), binOf(ctx, 0, ctx.labels[r]));
      });
      assert.deepEqual(drawTargets(ctx, 0).targets, targets, 'seeded: the same in every run');
      assert.equal(BINS, 10);
    });
  });
});

test('binary attributes on labelled data: flipped targets, target hits and F1 at their known values', () => {
  // label = brightness > 0.5; the stand-in oracle reads brightness as the probability of 1
  const base = brightnessData(40);
  const binary: Dataset = {
    ...base,
    attributes: [{ name: 'b', kind: 'binary', min: 0, max: 1 }],
    labels: (i) => Float32Array.of(base.labels(i)[0] > 0.5 ? 1 : 0),
    batch: (idx) => gatherBatch(binary, idx),
  };
  torch.scope(() => {
    for (const [mode, hit] of [
      ['paint', 1],
      ['identity', 0],
    ] as const) {
      const ctx = createContext(standInModel(mode, ['b']), binary, standInOracle(), { n: 40, seed: 0 });
      const cf = readCounterfactuals(ctx, 0);
      cf.targets.forEach((t, r) => assert.equal(t, 1 - ctx.labels[r]));
      const row = interventionSection(ctx, [cf]).labels![0];
      assert.equal(row.causal.targetError, null);
      close(row.causal.targetHit!.mean, hit, 0, `${mode}: target hit`);
      const f1 = effectivenessSection(ctx, [cf]).rows[0].factors[0];
      assert.equal(f1.metric, 'f1');
      // painting the flipped value: every reading is right (F1 1); leaving the image: every reading wrong (F1 0)
      close(f1.causal!.mean, hit, 0, `${mode}: F1`);
    }
  });
});

test("on a world, the graph is scored against the world's true graph, not the config's edges", () => {
  const world = worldByName('pendulum');
  const ds = generateWorldDataset(world, { count: 8, imageSize: 16, seed: 1 });
  torch.scope(() => {
    // a model configured with no edges (as `learned` or `none` would be)
    const ctx = createContext(standInModel('identity', [...world.names]), ds, standInOracle(4), {
      n: 8,
      world: ds,
      seed: 0,
    });
    assert.equal(ctx.reference.kind, 'true graph');
    assert.deepEqual(
      ctx.reference.adjacency,
      world.adjacency().map((r) => r.map((a) => (a ? 1 : 0))),
    );
    assert.equal(ctx.reference.edges.length, 4);
  });
});
