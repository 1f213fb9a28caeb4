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
import { GARDEN, garden } from '../src/data/garden.ts';
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
import { resolveConfig } from '../src/model/config.ts';

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

/** The Garden world's equations as its documentation states them, written independently. */
function specGarden(theta: number, temperature: number, uh: number, ur: number) {
  const light = Math.sin((theta * Math.PI) / 180) ** 2;
  const growth = 0.3 + 0.7 * Math.exp(-(((temperature - 22) / 8) ** 2));
  const h = 2.2 + 8 * light * growth + uh;
  return { h, r: 1.1 + 1.6 / (1 + Math.exp(-(h - 5.8) / 0.7)) + ur };
}
/** Its scene: sun centre, top of the stem (= flower centre) and of the thermometer's column. */
const gardenSun = (theta: number): [number, number] => [
  10 + 9 * Math.cos((theta * Math.PI) / 180),
  9.5 + 9 * Math.sin((theta * Math.PI) / 180),
];

/** Pixels of `img` (size x size) within `radius` scene units of (x, y), as a byte string per pixel. */
function pixelsNear(img: Uint8Array, vp: Viewport, x: number, y: number, radius: number): string {
  const out: number[] = [];
  for (let j = 0; j < vp.size; j++) {
    for (let i = 0; i < vp.size; i++) {
      const dx = (i + 0.5 - vp.px(x)) / vp.scale;
      const dy = (j + 0.5 - vp.py(y)) / vp.scale;
      if (Math.hypot(dx, dy) <= radius)
        out.push(...img.subarray((j * vp.size + i) * 3, (j * vp.size + i) * 3 + 3));
    }
  }
  return Buffer.from(out).toString('hex');
}

/** Pixels of `img` outside the disc of `radius` scene units around (x, y). */
function pixelsAway(img: Uint8Array, vp: Viewport, x: number, y: number, radius: number): string {
  const out: number[] = [];
  for (let j = 0; j < vp.size; j++) {
    for (let i = 0; i < vp.size; i++) {
      const dx = (i + 0.5 - vp.px(x)) / vp.scale;
      const dy = (j + 0.5 - vp.py(y)) / vp.scale;
      if (Math.hypot(dx, dy) > radius)
        out.push(...img.subarray((j * vp.size + i) * 3, (j * vp.size + i) * 3 + 3));
    }
  }
  return Buffer.from(out).toString('hex');
}

describe('garden', () => {
  const size = 96;
  const vp = new Viewport(size, 0, 20, 0, 20);
  /** The thermometer's box, which nothing else ever enters. */
  const thermometerRows = (img: Uint8Array) => {
    const right = Math.ceil(vp.px(3.3));
    const top = Math.floor(vp.py(11.2));
    const out: number[] = [];
    for (let y = top; y < Math.ceil(vp.py(1)); y++)
      out.push(...img.subarray(y * size * 3, (y * size + right) * 3));
    return Buffer.from(out).toString('hex');
  };

  it('has a v-structure and a chain, and a preset that learns its graph', () => {
    assert.deepEqual(garden.names, ['sun_angle', 'temperature', 'plant_height', 'flower_size']);
    assert.deepEqual(garden.roots, ['sun_angle', 'temperature']);
    assert.deepEqual(garden.edges(), [
      ['sun_angle', 'plant_height'],
      ['temperature', 'plant_height'],
      ['plant_height', 'flower_size'],
    ]);
    assert.deepEqual(garden.descendants('sun_angle').sort(), ['flower_size', 'plant_height']);
    assert.deepEqual(garden.descendants('flower_size'), []);
    assert.equal(worldByName('garden'), garden);
    const cfg = resolveConfig('garden-small');
    assert.equal(cfg.data.world, 'garden');
    assert.deepEqual(cfg.attributes, garden.names);
    assert.deepEqual([cfg.scm.structure, cfg.scm.parents], ['learned', 'mlp']);
    assert.deepEqual(cfg.scm.edges, garden.edges());
  });

  it('labels obey the equations with noises of the stated spread, and abduction recovers them', () => {
    const rng = new Rng(31);
    const n = 20000;
    const noise = { h: [0, 0], r: [0, 0] };
    for (let k = 0; k < n; k++) {
      const { values: v, noise: u } = garden.sample(rng);
      const [theta, temp, h, r] = v;
      assert.ok(theta >= 20 && theta <= 140 && temp >= 5 && temp <= 35, `roots in range: ${theta}, ${temp}`);
      assert.ok(Math.abs(u[GARDEN.plant_height]) <= 2.5 * 0.7 + 1e-12, 'plant noise truncated at 2.5 sd');
      assert.ok(Math.abs(u[GARDEN.flower_size]) <= 2.5 * 0.3 + 1e-12, 'flower noise truncated at 2.5 sd');
      const want = specGarden(theta, temp, u[GARDEN.plant_height], u[GARDEN.flower_size]);
      close(h, want.h, 1e-12, 'plant_height');
      close(r, want.r, 1e-12, 'flower_size');
      const a = garden.abduct(v);
      for (let i = 0; i < 4; i++) close(a[i], u[i], 1e-9, `abducted noise ${i}`);
      for (let i = 0; i < 4; i++) {
        const f = garden.factors[i];
        assert.ok(v[i] >= f.min && v[i] <= f.max, `${f.name} = ${v[i]} in [${f.min}, ${f.max}]`);
      }
      noise.h[0] += u[GARDEN.plant_height];
      noise.h[1] += u[GARDEN.plant_height] ** 2;
      noise.r[0] += u[GARDEN.flower_size];
      noise.r[1] += u[GARDEN.flower_size] ** 2;
    }
    // A normal truncated at 2.5 sd keeps 1 - 5 phi(2.5) / (2 Phi(2.5) - 1) = 0.9113 of its variance.
    for (const [what, sd] of [
      ['h', 0.7],
      ['r', 0.3],
    ] as const) {
      close(noise[what][0] / n, 0, 0.02 * sd, `${what} noise mean`);
      close(Math.sqrt(noise[what][1] / n), sd * Math.sqrt(0.9113), 0.02 * sd, `${what} noise sd`);
    }
    // The ranges are the extremes of the equations over the roots' ranges and the noises'.
    const f = garden.factors;
    close(f[2].min, specGarden(20, 5, -1.75, 0).h, 1e-12, 'plant_height min');
    close(f[2].max, specGarden(90, 22, 1.75, 0).h, 1e-12, 'plant_height max');
    close(f[3].min, specGarden(20, 5, -1.75, -0.75).r, 1e-12, 'flower_size min');
    close(f[3].max, specGarden(90, 22, 1.75, 0.75).r, 1e-12, 'flower_size max');
    assert.ok(f[2].min > 0.5 && f[3].min > 0.3, 'a stem and a flower are always visible');
  });

  it('draws every factor where the scene puts it, and the objects never overlap', () => {
    const rng = new Rng(6);
    for (let k = 0; k < 40; k++) {
      const { values: v } = garden.sample(rng);
      const img = garden.render(v, size);
      const [theta, temp, h, r] = v;
      let [on, ox, oy, vn] = [0, 0, 0, 0];
      let stemTop = size;
      let columnTop = size;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const q = (y * size + x) * 3;
          const [R, G, B] = [img[q], img[q + 1], img[q + 2]];
          if (R === 255 && G === 165 && B === 0) {
            on++;
            ox += x + 0.5;
            oy += y + 0.5;
          }
          if (R === 148 && G === 0 && B === 211) vn++;
          if (R === 34 && G === 139 && B === 34) stemTop = Math.min(stemTop, y);
          if (R === 178 && G === 34 && B === 34 && x === Math.floor(vp.px(2.3)))
            columnTop = Math.min(columnTop, y);
        }
      }
      const [sx, sy] = gardenSun(theta);
      close(ox / on, vp.px(sx), 0.5, 'sun x');
      close(oy / on, vp.py(sy), 0.5, 'sun y');
      // fully covered violet pixels: the flower's area minus its anti-aliased rim and the stem
      const area = Math.PI * (r * vp.scale) ** 2;
      assert.ok(vn <= area && vn >= area - 2 * Math.PI * r * vp.scale - 3, `flower area ${vn} vs ${area}`);
      close(columnTop, vp.py(2.4 + 0.22 * temp), 1.01, 'thermometer column top');
      // the stem shows below the flower only; its top pixel row is where the flower's disc ends
      if (h - r > 0.5) close(stemTop, vp.py(1 + h - Math.sqrt(r * r - 0.09)), 1.01, 'stem meets the flower');
    }
    // Dense scan of every value in range: sun, thermometer and plant keep apart.
    const [hMax, rMax] = [garden.factors[2].max, garden.factors[3].max];
    for (let theta = 20; theta <= 140; theta += 0.25) {
      const [sx, sy] = gardenSun(theta);
      for (let top = 1 + garden.factors[2].min; top <= 1 + hMax; top += 0.05) {
        assert.ok(Math.hypot(sx - 10.5, sy - top) > 1.4 + rMax, `sun at ${theta} touches a flower at ${top}`);
      }
      assert.ok(sy - 1.4 > 10.2 + 0.75 || sx - 1.4 > 2.3 + 0.75, `sun at ${theta} touches the thermometer`);
    }
    assert.ok(10.5 - rMax > 2.3 + 1.2, 'the flower never reaches the thermometer');
  });

  it('counterfactuals recompute descendants only and keep the pixels of everything else', () => {
    const rng = new Rng(12);
    for (let k = 0; k < 15; k++) {
      const f = garden.sample(rng);
      const img = garden.render(f.values, size);
      const [theta, temp, h, r] = f.values;
      const [uh, ur] = [f.noise[2], f.noise[3]];
      const [sx, sy] = gardenSun(theta);
      // do(temperature): the sun stays, the plant and flower follow with the same noises
      const t2 = temp < 20 ? temp + 12 : temp - 12;
      const ct = garden.counterfactual(f, { temperature: t2 }, size);
      const want = specGarden(theta, t2, uh, ur);
      assert.equal(ct.values[0], theta);
      close(ct.values[2], want.h, 1e-12, 'cf plant_height');
      close(ct.values[3], want.r, 1e-12, 'cf flower_size');
      assert.deepEqual(ct.changed, ['temperature', 'plant_height', 'flower_size']);
      assert.equal(pixelsNear(ct.image, vp, sx, sy, 1.6), pixelsNear(img, vp, sx, sy, 1.6), 'sun unchanged');
      assert.notEqual(thermometerRows(ct.image), thermometerRows(img), 'thermometer moved');
      // do(sun_angle): the thermometer stays
      const a2 = theta < 80 ? theta + 40 : theta - 40;
      const cs = garden.counterfactual(f, { sun_angle: a2 }, size);
      assert.equal(cs.values[1], temp);
      close(cs.values[2], specGarden(a2, temp, uh, ur).h, 1e-12, 'cf plant_height (sun)');
      assert.equal(thermometerRows(cs.image), thermometerRows(img), 'thermometer unchanged by do(sun_angle)');
      // do(plant_height): sun and thermometer stay, the flower is recomputed with its noise
      const h2 = h < 6 ? h + 3 : h - 3;
      const ch = garden.counterfactual(f, { plant_height: h2 }, size);
      assert.deepEqual([ch.values[0], ch.values[1]], [theta, temp]);
      close(ch.values[3], 1.1 + 1.6 / (1 + Math.exp(-(h2 - 5.8) / 0.7)) + ur, 1e-12, 'cf flower after do(h)');
      assert.equal(thermometerRows(ch.image), thermometerRows(img));
      assert.equal(pixelsNear(ch.image, vp, sx, sy, 1.6), pixelsNear(img, vp, sx, sy, 1.6));
      // do(flower_size): a sink; only the flower's pixels change
      const r2 = r < 2 ? r + 1 : r - 1;
      const cr = garden.counterfactual(f, { flower_size: r2 }, size);
      assert.deepEqual([...cr.values.subarray(0, 3)], [theta, temp, h]);
      assert.deepEqual(cr.changed, ['flower_size']);
      const around = Math.max(r, r2) + 0.5;
      assert.equal(pixelsAway(cr.image, vp, 10.5, 1 + h, around), pixelsAway(img, vp, 10.5, 1 + h, around));
      assert.notEqual(
        pixelsNear(cr.image, vp, 10.5, 1 + h, around),
        pixelsNear(img, vp, 10.5, 1 + h, around),
      );
      // from bare values (noises abducted) the same answer
      const fromValues = garden.counterfactual(f.values, { temperature: t2 }, size);
      for (let i = 0; i < 4; i++) close(fromValues.values[i], ct.values[i], 1e-9, 'abducted counterfactual');
      assert.ok(Buffer.from(fromValues.image).equals(ct.image));
    }
  });

  it('samples do() with fresh noise and the intervened value exactly', () => {
    const rng = new Rng(2);
    const hs = new Set<number>();
    for (let k = 0; k < 200; k++) {
      const s = garden.sampleDo(rng, { plant_height: 4 });
      assert.equal(s.values[GARDEN.plant_height], 4);
      close(
        s.values[GARDEN.flower_size],
        1.1 + 1.6 / (1 + Math.exp(1.8 / 0.7)) + s.noise[3],
        1e-12,
        'flower',
      );
      hs.add(s.values[GARDEN.flower_size]);
    }
    assert.equal(hs.size, 200, 'fresh flower noise for every draw');
  });

  it('is byte-identical by seed, on disk too', async () => {
    const a = generateWorldDataset(garden, { count: 30, seed: 7 });
    const b = generateWorldDataset(garden, { count: 30, seed: 7 });
    const c = generateWorldDataset(garden, { count: 30, seed: 8 });
    assert.ok(Buffer.from(a.pixels).equals(b.pixels));
    assert.deepEqual(a.values, b.values);
    assert.ok(!Buffer.from(a.pixels).equals(c.pixels));
    const dir = await mkdtemp(join(tmpdir(), 'ccig-garden-'));
    try {
      const w1 = await writeWorldToDisk(join(dir, 'a'), a);
      await writeWorldToDisk(join(dir, 'b'), b);
      for (const file of [...w1.files, 'labels.csv', 'world.json']) {
        const [x, y] = await Promise.all([readFile(join(dir, 'a', file)), readFile(join(dir, 'b', file))]);
        assert.ok(x.equals(y), `${file} byte-identical`);
      }
      const csv = (await readFile(w1.labels, 'utf8')).split('\n');
      assert.equal(csv[0], 'file,sun_angle,temperature,plant_height,flower_size');
      const meta = JSON.parse(await readFile(join(dir, 'a', 'world.json'), 'utf8'));
      assert.deepEqual(meta.edges, garden.edges());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects out-of-range values with a clear error', () => {
    const v = garden.sample(new Rng(1)).values;
    const at = (name: string, x: number) => {
      const w = Float64Array.from(v);
      w[garden.index(name)] = x;
      return w;
    };
    assert.throws(() => garden.render(at('sun_angle', 10)), {
      name: 'OptionError',
      message: 'garden: sun_angle must be in [20, 140] degrees, got 10',
    });
    assert.throws(
      () => garden.render(at('temperature', 40)),
      /temperature must be in \[5, 35\] degrees Celsius, got 40/,
    );
    assert.throws(
      () => garden.render(at('flower_size', 0)),
      /flower_size must be in \[0.35\d*, 3.4\d*\] scene units, got 0/,
    );
    assert.throws(
      () => garden.render(at('plant_height', Number.NaN)),
      /plant_height must be a finite number/,
    );
    assert.throws(
      () => garden.counterfactual(v, { plant_height: 20 }),
      /intervention plant_height must be in/,
    );
    assert.throws(
      () => garden.counterfactual(v, { rain: 1 }),
      /unknown factor 'rain'; factors are sun_angle/,
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
