/**
 * Synthetic worlds: equations, rendering geometry, counterfactuals, determinism, errors.
 * The pendulum's equations are re-derived here from SPEC.md's radian formulas (i * pi/200), not
 * imported, so a slip in the world's code cannot hide behind itself.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { contactSheet } from '../src/data/contact-sheet.ts';
import { gatherBatch } from '../src/data/dataset.ts';
import { FLOW, flow } from '../src/data/flow.ts';
import { PENDULUM, PENDULUM_SCENE, pendulum } from '../src/data/pendulum.ts';
import { Canvas, circle, intersect, polyline, rect, segment, Viewport } from '../src/data/raster.ts';
import { Rng } from '../src/data/rng.ts';
import { World } from '../src/data/world.ts';
import {
  generateWorldDataset,
  splitWorldDataset,
  trainTestSplit,
  worldByName,
  writeWorldToDisk,
} from '../src/data/world-dataset.ts';
import { GraphError, OptionError } from '../src/errors.ts';

const DEG = Math.PI / 180;

/** SPEC.md section 5, written independently of src/data/pendulum.ts (angles in radians). */
function specPendulum(theta: number, phi: number) {
  const proj = (x: number, y: number, base: number) => (base - (y - x * Math.tan(phi))) / Math.tan(phi);
  const p0 = proj(10, 10.5, -0.5);
  const p1 = proj(10 + 9.5 * Math.sin(theta), 10.5 - 9.5 * Math.cos(theta), -0.5);
  return {
    mid: (p0 + p1) / 2,
    shade: Math.max(3, Math.abs(p0 - p1)),
    bob: [10 + 8 * Math.sin(theta), 10.5 - 8 * Math.cos(theta)],
    sunX: proj(10, 10.5, 20.5),
  };
}

const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);

/** Pixel rows [from, to) of an image of `size` covering scene heights y in [lo, hi]. */
function rowsFor(vp: Viewport, lo: number, hi: number): [number, number] {
  return [Math.max(0, Math.floor(vp.py(hi))), Math.min(vp.size, Math.ceil(vp.py(lo)))];
}

function rowsEqual(a: Uint8Array, b: Uint8Array, size: number, [from, to]: [number, number]): boolean {
  return Buffer.from(a.subarray(from * size * 3, to * size * 3)).equals(
    b.subarray(from * size * 3, to * size * 3),
  );
}

describe('rng', () => {
  it('is deterministic per seed and stream, and restores its state', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const xs = Array.from({ length: 100 }, () => a.float());
    assert.deepEqual(
      Array.from({ length: 100 }, () => b.float()),
      xs,
    );
    assert.notDeepEqual(
      Array.from({ length: 10 }, () => new Rng(7, 1).float()),
      xs.slice(0, 10),
    );
    assert.notEqual(new Rng(1).float(), new Rng(2 ** 32 + 1).float());
    a.normal();
    const st = a.getState();
    const next = [a.normal(), a.normal(), a.float()];
    a.setState(st);
    assert.deepEqual([a.normal(), a.normal(), a.float()], next);
  });

  it('draws uniform and normal values with the right moments', () => {
    const r = new Rng(3);
    const n = 50000;
    let s = 0;
    let s2 = 0;
    let u = 0;
    for (let i = 0; i < n; i++) {
      const v = r.normal();
      s += v;
      s2 += v * v;
      const f = r.float();
      assert.ok(f >= 0 && f < 1);
      u += f;
    }
    close(s / n, 0, 0.02, 'normal mean');
    close(s2 / n, 1, 0.03, 'normal variance');
    close(u / n, 0.5, 0.01, 'uniform mean');
  });
});

describe('raster', () => {
  it('anti-aliases a disc to its area', () => {
    const c = new Canvas(40, 40);
    c.fill(circle(20.3, 19.7, 7.2), [0, 0, 0]);
    let ink = 0;
    let partial = 0;
    for (let p = 0; p < 40 * 40; p++) {
      ink += (255 - c.data[3 * p]) / 255;
      if (c.data[3 * p] > 0 && c.data[3 * p] < 255) partial++;
    }
    close(ink, Math.PI * 7.2 * 7.2, 1.5, 'disc area');
    assert.ok(partial > 20, 'edge pixels are partially covered');
  });

  it('gives exactly the 4 x 4 supersampled coverage (fast paths change no pixel)', () => {
    const shapes = [
      circle(13.37, 11.2, 6.6),
      segment(3.3, 4.1, 27.2, 19.9, 2.7, 'butt'),
      segment(3.3, 4.1, 27.2, 19.9, 2.7, 'round'),
      segment(5.5, 2.25, 5.5, 20.6, 1.9, 'butt'), // axis-aligned: the rectangle path
      polyline([2, 2, 12.5, 7.3, 20.1, 25], 3.1),
      intersect(circle(15, 15, 9), rect(8.2, 0, 30, 13.6)),
    ];
    for (const [k, s] of shapes.entries()) {
      const c = new Canvas(30, 30);
      c.fill(s, [0, 0, 0]);
      for (let j = 0; j < 30; j++) {
        for (let i = 0; i < 30; i++) {
          let n = 0;
          for (const sy of [0.125, 0.375, 0.625, 0.875]) {
            for (const sx of [0.125, 0.375, 0.625, 0.875]) if (s.sd(i + sx, j + sy) < 0) n++;
          }
          const want = Math.round(255 - (255 * n) / 16);
          assert.equal(c.data[(j * 30 + i) * 3], want, `shape ${k} pixel (${i}, ${j})`);
        }
      }
    }
  });

  it('draws segments and polylines with their area', () => {
    const c = new Canvas(50, 50);
    c.fill(segment(5, 5, 40, 30, 3, 'butt'), [0, 0, 0]);
    let ink = 0;
    for (let p = 0; p < 2500; p++) ink += (255 - c.data[3 * p]) / 255;
    close(ink, Math.hypot(35, 25) * 3, 1.5, 'butt segment area');
    const d = new Canvas(50, 50);
    d.fill(polyline([5, 5, 25, 5, 25, 40], 2), [0, 0, 0]);
    ink = 0;
    for (let p = 0; p < 2500; p++) ink += (255 - d.data[3 * p]) / 255;
    // two capsules of length 20 and 35, width 2, overlapping at the joint: union, not sum
    close(ink, 55 * 2 + Math.PI, 1.5, 'polyline area');
  });
});

describe('world (generic)', () => {
  it('exposes the true graph of the pendulum and the flow', () => {
    assert.deepEqual(pendulum.names, ['pendulum_angle', 'light_angle', 'shadow_length', 'shadow_position']);
    assert.deepEqual(pendulum.roots, ['pendulum_angle', 'light_angle']);
    assert.deepEqual(pendulum.edges(), [
      ['pendulum_angle', 'shadow_length'],
      ['light_angle', 'shadow_length'],
      ['pendulum_angle', 'shadow_position'],
      ['light_angle', 'shadow_position'],
    ]);
    assert.deepEqual(pendulum.descendants('light_angle').sort(), ['shadow_length', 'shadow_position']);
    assert.deepEqual(pendulum.descendants('shadow_length'), []);
    assert.deepEqual(flow.descendants('ball_size').sort(), ['water_flow', 'water_height']);
    assert.deepEqual(flow.descendants('hole_height'), ['water_flow']);
    assert.deepEqual(flow.adjacency(), [
      [0, 0, 1, 0],
      [0, 0, 0, 1],
      [0, 0, 0, 1],
      [0, 0, 0, 0],
    ]);
    assert.equal(worldByName('flow'), flow);
    assert.throws(() => worldByName('moon'), OptionError);
  });

  it('samples interventional distributions with fresh noise', () => {
    const rng = new Rng(8);
    const hs = new Set<number>();
    for (let k = 0; k < 50; k++) {
      const s = flow.sampleDo(rng, { ball_size: 0.5 });
      assert.equal(s.values[FLOW.ball_size], 0.5);
      close(
        s.values[FLOW.water_height],
        0.125 + s.noise[FLOW.water_height],
        1e-12,
        'do(ball_size) water height',
      );
      hs.add(s.values[FLOW.water_height]);
    }
    assert.equal(hs.size, 50, 'noise is fresh for every draw');
  });

  it('orders a chain topologically and rejects cycles and unknown parents', () => {
    const base = { unit: 'u', description: '', min: -10, max: 10, noise: () => 0 };
    const w = new World({
      name: 'chain',
      description: '',
      render: (_, s) => new Uint8Array(s * s * 3),
      factors: [
        { ...base, name: 'c', parents: ['b'], equation: ([b], u) => b + u },
        { ...base, name: 'a', parents: [] },
        { ...base, name: 'b', parents: ['a'], equation: ([a], u) => 2 * a + u },
      ],
    });
    assert.deepEqual(
      w.order.map((i) => w.names[i]),
      ['a', 'b', 'c'],
    );
    const s = { values: w.solve(Float64Array.of(0.5, 1, 0.25)), noise: Float64Array.of(0.5, 1, 0.25) };
    assert.deepEqual([...s.values], [2.75, 1, 2.25]);
    // do(b = 3): c recomputed with its own noise, a kept.
    assert.deepEqual([...w.counterfactual(s, { b: 3 }, 8).values], [3.5, 1, 3]);
    const cyc = (parents: string[]) => () =>
      new World({
        name: 'bad',
        description: '',
        render: (_, s) => new Uint8Array(s * s * 3),
        factors: [
          { ...base, name: 'x', parents, equation: ([v]) => v },
          { ...base, name: 'y', parents: ['x'], equation: ([v]) => v },
        ],
      });
    assert.throws(cyc(['y']), GraphError);
    assert.throws(cyc(['z']), /parent 'z' of 'x' is not a factor/);
  });
});

describe('pendulum', () => {
  it('labels obey the equations for many random samples', () => {
    const rng = new Rng(11);
    for (let k = 0; k < 2000; k++) {
      const { values: v, noise } = pendulum.sample(rng);
      const t = v[PENDULUM.pendulum_angle];
      const p = v[PENDULUM.light_angle];
      assert.ok(t >= -36 && t <= 38.7 && p >= 54 && p <= 132.3, `angles in range: ${t}, ${p}`);
      assert.ok(Math.abs(p - 90) >= 0.45, `light angle avoids the band around 90: ${p}`);
      const g = specPendulum(t * DEG, p * DEG);
      close(v[PENDULUM.shadow_length], g.shade, 1e-9, 'shadow_length');
      close(v[PENDULUM.shadow_position], g.mid, 1e-9, 'shadow_position');
      assert.deepEqual([...noise.subarray(2)], [0, 0]);
    }
  });

  it('has CausalVAE grid values and label ranges that hold everywhere', () => {
    assert.equal(pendulum.gridSize(), 84 * 87);
    const ds = generateWorldDataset(pendulum, { sampling: 'grid', imageSize: 16 });
    assert.equal(ds.size, 7308);
    const f = pendulum.factors;
    for (let n = 0; n < ds.size; n++) {
      const [t, p, shade, mid] = ds.values.subarray(n * 4, n * 4 + 4);
      const i = Math.round(t / 0.9);
      const j = Math.round(p / 0.9);
      close(t * DEG, (i * Math.PI) / 200, 1e-12, 'theta on grid');
      close(p * DEG, (j * Math.PI) / 200, 1e-12, 'phi on grid');
      assert.ok(i >= -40 && i <= 43 && j >= 60 && j <= 147 && j !== 100);
      const g = specPendulum((i * Math.PI) / 200, (j * Math.PI) / 200);
      close(shade, g.shade, 1e-9, 'grid shade');
      close(mid, g.mid, 1e-9, 'grid mid');
    }
    // Dense scan of the continuous domain: children stay inside the declared ranges, and the
    // ranges are tight (reached at the corners).
    let [smax, mmin, mmax] = [0, Infinity, -Infinity];
    for (let a = 0; a <= 300; a++) {
      for (let b = 0; b <= 300; b++) {
        const t = f[0].min + ((f[0].max - f[0].min) * a) / 300;
        const p = f[1].min + ((f[1].max - f[1].min) * b) / 300;
        if (Math.abs(p - 90) < 1e-6) continue;
        const g = specPendulum(t * DEG, p * DEG);
        smax = Math.max(smax, g.shade);
        mmin = Math.min(mmin, g.mid);
        mmax = Math.max(mmax, g.mid);
      }
    }
    assert.ok(smax <= f[2].max + 1e-9 && smax >= f[2].max - 1e-6, `shade max ${smax} vs ${f[2].max}`);
    assert.ok(mmin >= f[3].min - 1e-9 && mmin <= f[3].min + 1e-6, `mid min ${mmin} vs ${f[3].min}`);
    assert.ok(mmax <= f[3].max + 1e-9 && mmax >= f[3].max - 1e-6, `mid max ${mmax} vs ${f[3].max}`);
    assert.equal(f[2].min, 3);
  });

  it('draws the shadow where the equations put it, and bob and sun where the geometry does', () => {
    const size = 96;
    const vp = new Viewport(size, 0, 20, -1, 21);
    const row = Math.floor(vp.py(PENDULUM_SCENE.groundY));
    const rng = new Rng(5);
    for (let k = 0; k < 60; k++) {
      const { values: v } = pendulum.sample(rng);
      const img = pendulum.render(v, size);
      const dark: number[] = [];
      for (let x = 0; x < size; x++) {
        const q = (row * size + x) * 3;
        if (img[q] < 128 && img[q + 1] < 128 && img[q + 2] < 128) dark.push(x);
      }
      const shade = v[PENDULUM.shadow_length];
      const mid = v[PENDULUM.shadow_position];
      const lo = Math.max(0, mid - shade / 2);
      const hi = Math.min(20, mid + shade / 2);
      assert.ok(dark.length > 0, 'shadow visible');
      // dark pixels are one contiguous run from lo to hi (pixel centres inside, half-covered ends)
      assert.equal(dark.at(-1)! - dark[0] + 1, dark.length, 'one contiguous shadow');
      close(dark[0], vp.px(lo), 1.01, `shadow start (sample ${k})`);
      close(dark.at(-1)! + 1, vp.px(hi), 1.01, `shadow end (sample ${k})`);

      // bob: centroid of firebrick pixels
      const g = specPendulum(v[0] * DEG, v[1] * DEG);
      let [n, sx, sy, on, ox] = [0, 0, 0, 0, 0];
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const q = (y * size + x) * 3;
          if (img[q] === 178 && img[q + 1] === 34 && img[q + 2] === 34) {
            n++;
            sx += x + 0.5;
            sy += y + 0.5;
          }
          if (img[q] === 255 && img[q + 1] === 165 && img[q + 2] === 0) {
            on++;
            ox += x + 0.5;
          }
        }
      }
      close(sx / n, vp.px(g.bob[0]), 0.6, 'bob x');
      close(sy / n, vp.py(g.bob[1]), 1.0, 'bob y'); // the rod covers the bob's top edge
      if (g.sunX > 3.5 && g.sunX < 16.5) close(ox / on, vp.px(g.sunX), 0.6, 'sun x');
    }
  });

  it('counterfactuals change descendants only and leave unaffected objects pixel-identical', () => {
    const size = 96;
    const vp = new Viewport(size, 0, 20, -1, 21);
    const S = PENDULUM_SCENE;
    const sunRows = rowsFor(vp, S.sunHeight - S.sunRadius - 0.2, 21);
    const pendulumRows = rowsFor(vp, 0.8, S.sunHeight - S.sunRadius - 0.3);
    const shadowRows = rowsFor(vp, -1, 0.3);
    const rng = new Rng(9);
    for (let k = 0; k < 20; k++) {
      const f = pendulum.sample(rng);
      const img = pendulum.render(f.values, size);
      const t = f.values[0];
      const p = f.values[1];
      // do(light_angle): pendulum kept, shadow recomputed, sun moved
      const p2 = p < 90 ? p + 25 : p - 25;
      const cl = pendulum.counterfactual(f, { light_angle: p2 }, size);
      assert.equal(cl.values[0], t);
      assert.equal(cl.values[1], p2);
      const g = specPendulum(t * DEG, p2 * DEG);
      close(cl.values[2], g.shade, 1e-9, 'cf shade');
      close(cl.values[3], g.mid, 1e-9, 'cf mid');
      assert.deepEqual(cl.changed, ['light_angle', 'shadow_length', 'shadow_position']);
      assert.ok(rowsEqual(img, cl.image, size, pendulumRows), 'pendulum pixels unchanged by do(light_angle)');
      assert.ok(!rowsEqual(img, cl.image, size, sunRows), 'sun moved');
      assert.ok(!rowsEqual(img, cl.image, size, shadowRows), 'shadow moved');
      // do(pendulum_angle): light and sun kept
      const t2 = t < 0 ? t + 30 : t - 30;
      const cp = pendulum.counterfactual(f, { pendulum_angle: t2 }, size);
      assert.equal(cp.values[1], p);
      assert.ok(rowsEqual(img, cp.image, size, sunRows), 'sun pixels unchanged by do(pendulum_angle)');
      assert.ok(!rowsEqual(img, cp.image, size, pendulumRows), 'pendulum moved');
      // do(shadow_length): a child set, both angles and the other child kept
      const cs = pendulum.counterfactual(f, { shadow_length: f.values[2] > 6 ? 3.5 : 9 }, size);
      assert.deepEqual([cs.values[0], cs.values[1], cs.values[3]], [t, p, f.values[3]]);
      assert.deepEqual(cs.changed, ['shadow_length']);
      assert.ok(rowsEqual(img, cs.image, size, [0, shadowRows[0]]), 'everything above the ground unchanged');
      assert.ok(!rowsEqual(img, cs.image, size, shadowRows), 'shadow redrawn');
      // do(X = its own value) is the factual itself
      const same = pendulum.counterfactual(f, { light_angle: p }, size);
      assert.deepEqual(same.values, f.values);
      assert.ok(Buffer.from(same.image).equals(img));
    }
  });

  it('rejects impossible values with a clear error', () => {
    const v = pendulum.sample(new Rng(1)).values;
    const at = (name: string, x: number) => {
      const w = Float64Array.from(v);
      w[pendulum.index(name)] = x;
      return w;
    };
    assert.throws(() => pendulum.render(at('light_angle', 90)), {
      name: 'OptionError',
      message: /light_angle = 90 is impossible: the light is straight overhead/,
    });
    assert.throws(() => pendulum.render(at('light_angle', 140)), {
      message: 'pendulum: light_angle must be in [54, 132.3] degrees, got 140',
    });
    assert.throws(
      () => pendulum.render(at('pendulum_angle', -50)),
      /pendulum_angle must be in \[-36, 38.7\]/,
    );
    assert.throws(() => pendulum.render(at('pendulum_angle', Number.NaN)), /must be a finite number/);
    assert.throws(() => pendulum.render(v, 4), /image size/);
    assert.throws(
      () => pendulum.counterfactual(v, { light_angle: 90 }),
      /intervention light_angle = 90 is impossible/,
    );
    assert.throws(() => pendulum.counterfactual(v, { shadow_length: 2 }), /shadow_length must be in \[3, /);
    assert.throws(() => pendulum.counterfactual(v, { colour: 1 }), /unknown factor 'colour'; factors are/);
    assert.throws(() => pendulum.render({ pendulum_angle: 0 }), /missing value for factor 'light_angle'/);
    // exactly 90 is the only impossible value inside the range; near it the geometry is fine
    assert.doesNotThrow(() => pendulum.counterfactual(v, { light_angle: 90.01 }));
  });
});

describe('flow', () => {
  it('labels obey the equations with the stored noises, and abduction recovers them', () => {
    const rng = new Rng(21);
    for (let k = 0; k < 2000; k++) {
      const { values: v, noise: u } = flow.sample(rng);
      const r = v[FLOW.ball_size];
      const d = v[FLOW.hole_height];
      const h = v[FLOW.water_height];
      assert.ok(r >= 5 / 30 && r <= 34 / 30 && d >= 2 && d <= 14 / 3);
      assert.ok(u[FLOW.water_height] >= 1 && u[FLOW.water_height] <= 3.9);
      assert.ok(u[FLOW.water_flow] >= 0.01 && u[FLOW.water_flow] <= 0.03);
      close(h, (r / 1) ** 3 + u[FLOW.water_height], 1e-12, 'water_height');
      close(
        v[FLOW.water_flow],
        Math.sqrt(2 * (0.98 + u[FLOW.water_flow]) * h * (d - 0.5)),
        1e-12,
        'water_flow',
      );
      const a = flow.abduct(v);
      for (let i = 0; i < 4; i++) close(a[i], u[i], 1e-9, `abducted noise ${i}`);
      for (let i = 0; i < 4; i++) {
        assert.ok(v[i] >= flow.factors[i].min && v[i] <= flow.factors[i].max, `${flow.names[i]} in range`);
      }
    }
    assert.equal(flow.gridSize(), 30 * 9 * 30);
  });

  it('counterfactuals keep the noises, recompute descendants and keep the cup left of the wall', () => {
    const size = 96;
    const vp = new Viewport(size, 0, 20, 0, 20);
    const rng = new Rng(4);
    for (let k = 0; k < 20; k++) {
      const f = flow.sample(rng);
      const img = flow.render(f.values, size);
      const [r, d, h] = f.values;
      const d2 = d < 3.3 ? d + 1 : d - 1;
      const c = flow.counterfactual(f, { hole_height: d2 }, size);
      assert.deepEqual([c.values[0], c.values[2]], [r, h]);
      close(c.values[3], Math.sqrt(2 * (0.98 + f.noise[3]) * h * (d2 - 0.5)), 1e-12, 'cf flow');
      // Same answer from bare values (noises abducted) as from the stored sample.
      const fromValues = flow.counterfactual(f.values, { hole_height: d2 }, size);
      for (let i = 0; i < 4; i++) close(fromValues.values[i], c.values[i], 1e-9, 'abducted counterfactual');
      // Columns left of the right wall (water, ball, left wall) are untouched by the hole.
      const right = Math.floor(vp.px(7.5));
      for (let y = 0; y < size; y++) {
        const a = img.subarray(y * size * 3, (y * size + right) * 3);
        const b = c.image.subarray(y * size * 3, (y * size + right) * 3);
        assert.ok(Buffer.from(a).equals(b), `row ${y} of the cup unchanged by do(hole_height)`);
      }
      const cb = flow.counterfactual(f, { ball_size: r < 0.65 ? r + 0.45 : r - 0.45 }, size);
      assert.equal(cb.values[1], d);
      close(cb.values[2] - h, cb.values[0] ** 3 - r ** 3, 1e-12, 'water rises with the ball, noise kept');
      assert.deepEqual(cb.changed, ['ball_size', 'water_height', 'water_flow']);
      const cw = flow.counterfactual(f, { water_height: 3 }, size);
      assert.deepEqual([cw.values[0], cw.values[1]], [r, d]);
    }
    assert.throws(
      () => flow.counterfactual(flow.sample(rng), { hole_height: 0.3 }),
      /hole_height must be in \[2,/,
    );
  });
});

describe('world datasets', () => {
  it('are deterministic by seed, prefix-stable, and implement Dataset', () => {
    const a = generateWorldDataset(pendulum, { count: 40, seed: 3 });
    const b = generateWorldDataset(pendulum, { count: 40, seed: 3 });
    const c = generateWorldDataset(pendulum, { count: 40, seed: 4 });
    const long = generateWorldDataset(pendulum, { count: 60, seed: 3 });
    assert.ok(Buffer.from(a.pixels).equals(b.pixels), 'same seed, byte-identical images');
    assert.deepEqual(a.values, b.values);
    assert.ok(!Buffer.from(a.pixels).equals(c.pixels), 'another seed, other images');
    assert.ok(Buffer.from(long.pixels.subarray(0, a.pixels.length)).equals(a.pixels), 'prefix-stable');
    assert.equal(a.imageSize, 64);
    assert.deepEqual(
      a.attributes.map((x) => [x.name, x.kind]),
      pendulum.names.map((n) => [n, 'continuous']),
    );
    const idx = [3, 0, 3, 17];
    const fast = a.batch(idx);
    const slow = gatherBatch(a, idx);
    assert.deepEqual(fast.images, slow.images);
    assert.deepEqual(fast.labels, slow.labels);
    assert.deepEqual([...fast.indices], idx);
    assert.throws(() => a.image(40), /index must be an integer in \[0, 39\]/);
    const cf = a.counterfactual(2, { light_angle: 100 });
    assert.equal(cf.image.length, 64 * 64 * 3);
    const f = generateWorldDataset(flow, { count: 10, seed: 3, imageSize: 96 });
    assert.equal(f.image(9).length, 96 * 96 * 3);
    assert.throws(() => generateWorldDataset(pendulum, {}), /count/);
  });

  it('split into disjoint train and test sets', () => {
    const { train, test } = trainTestSplit(103, 0.2, 1);
    assert.equal(test.length, 21);
    assert.equal(train.length, 82);
    assert.deepEqual(
      [...train, ...test].sort((x, y) => x - y),
      Array.from({ length: 103 }, (_, k) => k),
    );
    const ds = generateWorldDataset(flow, { count: 30, seed: 2, imageSize: 16 });
    const s = splitWorldDataset(ds, { seed: 1 });
    assert.equal(s.train.size + s.test.size, 30);
    assert.deepEqual(s.test.labels(0), ds.labels(trainTestSplit(30, 0.2, 1).test[0]));
  });

  it('write PNG files and a float labels CSV, identically for the same seed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ccig-worlds-'));
    try {
      const ds = generateWorldDataset(pendulum, { count: 12, seed: 5 });
      const w1 = await writeWorldToDisk(join(dir, 'a'), ds);
      await writeWorldToDisk(join(dir, 'b'), generateWorldDataset(pendulum, { count: 12, seed: 5 }));
      const csv = (await readFile(w1.labels, 'utf8')).trim().split('\n');
      assert.equal(csv[0], 'file,pendulum_angle,light_angle,shadow_length,shadow_position');
      assert.equal(csv.length, 13);
      const row = csv[4].split(',');
      assert.equal(row[0], 'images/000003.png');
      assert.deepEqual(
        row.slice(1).map(Number),
        [...ds.values.subarray(12, 16)],
        'labels round-trip exactly',
      );
      for (const file of w1.files) {
        const [x, y] = await Promise.all([readFile(join(dir, 'a', file)), readFile(join(dir, 'b', file))]);
        assert.ok(x.equals(y), `${file} byte-identical`);
      }
      const { data, info } = await sharp(join(dir, 'a', w1.files[3]))
        .raw()
        .toBuffer({ resolveWithObject: true });
      assert.deepEqual([info.width, info.height, info.channels], [64, 64, 3]);
      assert.ok(data.equals(ds.image(3)), 'PNG decodes to the in-memory pixels');
      // Rewriting a smaller set into the same folder leaves no image without a row.
      await writeWorldToDisk(join(dir, 'a'), generateWorldDataset(pendulum, { count: 3, seed: 5 }));
      assert.deepEqual((await readdir(join(dir, 'a', 'images'))).sort(), [
        '000000.png',
        '000001.png',
        '000002.png',
      ]);
      const meta = JSON.parse(await readFile(join(dir, 'a', 'world.json'), 'utf8'));
      assert.equal(meta.world, 'pendulum');
      assert.equal(meta.edges.length, 4);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('contact sheets tile renders over the two roots', () => {
    const sheet = contactSheet(pendulum, { rows: 3, cols: 4, tile: 32, gap: 2 });
    assert.deepEqual([sheet.width, sheet.height], [4 * 32 + 5 * 2, 3 * 32 + 4 * 2]);
    assert.deepEqual(sheet.factors, ['pendulum_angle', 'light_angle']);
    // the first tile is the render of its grid values
    const u = Float64Array.of(sheet.rowValues[0], sheet.colValues[0], 0, 0);
    const tile = pendulum.render(pendulum.solve(u), 32);
    for (let y = 0; y < 32; y++) {
      const row = sheet.pixels.subarray(((2 + y) * sheet.width + 2) * 3, ((2 + y) * sheet.width + 34) * 3);
      assert.ok(Buffer.from(row).equals(tile.subarray(y * 96, (y + 1) * 96)));
    }
    assert.throws(() => contactSheet(flow, { factors: ['ball_size', 'ball_size'] }), /must differ/);
  });
});
