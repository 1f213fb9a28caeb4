/**
 * The random world: a random SCM (src/data/random-scm.ts: seeded graph, a mechanism per edge,
 * additive noise) drawn as an image, so a model can be trained and checked on a causal graph no
 * one chose. The graph seed, node count, graph family and degree are the world's options; the
 * same options give the same world.
 *
 * Scene (x right, y up): one unit cell per node, `cols = ceil(sqrt(m))` across and
 * `rows = ceil(m / cols)` down, node j in row floor(j / cols) (from the top), column j mod cols;
 * each cell a light grey square (inset 0.03) with one primitive in the node's own colour whose
 * one visual property shows the node's value v in [0, 1], monotonically and without
 * wrapping around:
 * - `position`:  a disc of radius 0.13 on a grey track, its centre at x = cx - 0.3 + 0.6 v;
 * - `size`:      a disc of radius 0.06 + 0.34 v;
 * - `colour`:    a 0.6 square whose hue runs from red (0 degrees, v = 0) through yellow, green
 *                and cyan to blue (240 degrees, v = 1): never back to red;
 * - `rotation`:  a bar 0.7 long and 0.14 wide through the centre, turned from -60 degrees
 *                (v = 0) to +60 degrees (v = 1) clockwise from vertical: a 120-degree range, so
 *                no two values give the same bar;
 * - `thickness`: a horizontal bar 0.7 long, 0.04 + 0.46 v thick;
 * - `count`:     1 + 5 v dots of radius 0.11 on a 3 x 2 grid, the last one grown by the
 *                fractional part (its area), so the drawn area rises linearly with v.
 * Properties go to nodes in a seeded order, all six used before any repeats. Every primitive
 * stays inside its cell, so an intervention leaves the pixels of every node it does not change
 * as they were.
 *
 * @example
 *   const world = randomWorld({ graphSeed: 3, nodes: 6, graph: 'sf' });
 *   const s = world.sample(new Rng(1));
 *   world.counterfactual(s, { x2: 0.9 }).image; // x2 and its descendants redrawn
 */

import { RandomScm, type RandomScmOptions } from './random-scm.ts';
import { Canvas, type RGB, Viewport } from './raster.ts';
import { Rng } from './rng.ts';
import { type FactorDefinition, World } from './world.ts';

/** The visual properties a node can drive. */
export const VISUAL_PROPERTIES = ['position', 'size', 'colour', 'rotation', 'thickness', 'count'] as const;
export type VisualProperty = (typeof VISUAL_PROPERTIES)[number];

/** Geometry of the primitives (scene units; a cell is 1 x 1). */
export const RANDOM_SCENE = {
  inset: 0.03,
  cellColour: [236, 236, 236],
  trackColour: [190, 190, 190],
  position: { radius: 0.13, from: -0.3, span: 0.6, trackWidth: 0.04 },
  size: { min: 0.06, span: 0.34 },
  colour: { side: 0.6, hueFrom: 0, hueSpan: 240, saturation: 0.9, value: 0.9 },
  rotation: { length: 0.7, width: 0.14, fromDeg: -60, spanDeg: 120 },
  thickness: { length: 0.7, min: 0.04, span: 0.46 },
  count: { radius: 0.11, max: 6, dx: 0.28, dy: 0.15 },
} as const;

/** Primitive colours, one per cell (the colour property ignores its cell's). */
const PALETTE: readonly RGB[] = [
  [178, 34, 34],
  [34, 139, 34],
  [25, 25, 112],
  [148, 0, 211],
  [139, 69, 19],
  [0, 0, 0],
  [0, 128, 128],
  [199, 21, 133],
  [85, 107, 47],
  [70, 130, 180],
  [210, 105, 30],
  [105, 105, 105],
];

/** Cell layout of m nodes: columns and rows. */
export function randomWorldGrid(m: number): { cols: number; rows: number } {
  const cols = Math.ceil(Math.sqrt(m));
  return { cols, rows: Math.ceil(m / cols) };
}

/** Centre of node j's cell (scene units). */
export function cellCentre(m: number, j: number): [number, number] {
  const { cols, rows } = randomWorldGrid(m);
  return [(j % cols) + 0.5, rows - 0.5 - Math.floor(j / cols)];
}

/** RGB of the colour property at v: HSV hue from 0 (red) to 240 degrees (blue). */
export function colourOf(v: number): RGB {
  const c = RANDOM_SCENE.colour;
  return hsv(c.hueFrom + c.hueSpan * v, c.saturation, c.value);
}

/** A random SCM drawn as an image (see the file header); `scm` holds the mechanisms. */
export class RandomWorld extends World {
  readonly scm: RandomScm;
  /** the visual property of each node, in node order */
  readonly properties: readonly VisualProperty[];

  constructor(options: RandomScmOptions = {}) {
    const scm = new RandomScm(options);
    const m = scm.size;
    const kinds = new Rng(scm.options.graphSeed, 4).shuffle([...VISUAL_PROPERTIES]);
    const properties = scm.names.map((_, j) => kinds[j % kinds.length]);
    const o = scm.options;
    const factors = scm.nodes.map((nd, j): FactorDefinition => {
      const [cx, cy] = cellCentre(m, j);
      const where = `the ${properties[j]} of the primitive in the cell centred at (${cx}, ${cy})`;
      const common = {
        name: nd.name,
        min: 0,
        max: 1,
        unit: 'unit interval',
        description: `${where}; ${scm.describe(j)}`,
        parents: nd.parents.map((i) => scm.names[i]),
      };
      if (nd.parents.length === 0) return { ...common, noise: (rng: Rng) => scm.sampleNoise1(j, rng) };
      return {
        ...common,
        noise: (rng: Rng) => scm.sampleNoise1(j, rng),
        equation: (pv, u) => scm.childValue(j, pv, u),
        abduct: (pv, value) => value - scm.childValue(j, pv, 0),
        typicalNoise: 0,
      };
    });
    super({
      name: 'random',
      description: `random SCM: ${o.graph} graph, ${m} nodes, expected degree ${o.degree}, graph seed ${o.graphSeed}, mechanisms ${o.mechanisms.join('/')}; each node drawn in its own cell`,
      factors,
      render: (values, size) => renderRandom(values, size, properties),
    });
    this.scm = scm;
    this.properties = properties;
  }
}

/** The random world of these options (defaults: graph seed 0, 5 nodes, 'er', degree 1.5). */
export function randomWorld(options: RandomScmOptions = {}): RandomWorld {
  return new RandomWorld(options);
}

function renderRandom(v: Float64Array, size: number, properties: readonly VisualProperty[]): Uint8Array {
  const S = RANDOM_SCENE;
  const m = v.length;
  const { cols, rows } = randomWorldGrid(m);
  const vp = new Viewport(size, 0, cols, 0, rows);
  const c = new Canvas(size, size);
  for (let j = 0; j < m; j++) {
    const [cx, cy] = cellCentre(m, j);
    const h = 0.5 - S.inset;
    c.fill(vp.rect(cx - h, cy - h, cx + h, cy + h), S.cellColour);
    const ink = PALETTE[j % PALETTE.length];
    const x = v[j];
    switch (properties[j]) {
      case 'position': {
        const p = S.position;
        c.fill(vp.segment(cx + p.from, cy, cx + p.from + p.span, cy, p.trackWidth, 'round'), S.trackColour);
        c.fill(vp.circle(cx + p.from + p.span * x, cy, p.radius), ink);
        break;
      }
      case 'size':
        c.fill(vp.circle(cx, cy, S.size.min + S.size.span * x), ink);
        break;
      case 'colour': {
        const half = S.colour.side / 2;
        c.fill(vp.rect(cx - half, cy - half, cx + half, cy + half), colourOf(x));
        break;
      }
      case 'rotation': {
        const r = S.rotation;
        const a = ((r.fromDeg + r.spanDeg * x) * Math.PI) / 180;
        // clockwise from vertical: the top end moves right as the angle grows
        const dx = (Math.sin(a) * r.length) / 2;
        const dy = (Math.cos(a) * r.length) / 2;
        c.fill(vp.segment(cx - dx, cy - dy, cx + dx, cy + dy, r.width, 'butt'), ink);
        break;
      }
      case 'thickness': {
        const t = S.thickness;
        const w = t.min + t.span * x;
        c.fill(vp.rect(cx - t.length / 2, cy - w / 2, cx + t.length / 2, cy + w / 2), ink);
        break;
      }
      case 'count': {
        const k = S.count;
        const dots = 1 + (k.max - 1) * x;
        for (let d = 0; d < k.max && d < dots; d++) {
          // the last dot's area is the fractional part, so the total area is linear in v
          const part = Math.min(1, dots - d);
          const dxs = ((d % 3) - 1) * k.dx;
          const dys = d < 3 ? k.dy : -k.dy;
          c.fill(vp.circle(cx + dxs, cy + dys, k.radius * Math.sqrt(part)), ink);
        }
        break;
      }
    }
  }
  return c.data;
}

/** HSV (hue in degrees, s and v in [0, 1]) to RGB bytes. */
function hsv(hue: number, s: number, v: number): RGB {
  const f = (n: number) => {
    const k = (n + hue / 60) % 6;
    return Math.round(255 * (v - v * s * Math.max(0, Math.min(k, 4 - k, 1))));
  };
  return [f(5), f(3), f(1)];
}
