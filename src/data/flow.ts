/**
 * The Flow world of CausalVAE (Yang et al. 2021), as in docs/method.md section 5: a ball in a cup of
 * water raises the water level; water leaves through a hole in the cup's side as a jet, whose
 * reach on the ground grows with the water height and the height of the hole.
 *
 * Factors (floats, in this order; scene units):
 * - `ball_size` r, root: the ball's radius, r = k/30 for CausalVAE's k in [5, 34];
 * - `hole_height` d, root: height of the hole, d = k/3 for k in [6, 14];
 * - `water_height` h = r^3 + u_h, u_h ~ U[1, 3.9] (CausalVAE's h_raw/10, h_raw in [10, 39]);
 * - `water_flow` x = sqrt(2 (0.98 + e) h (d - 0.5)), the jet's reach from the cup wall, with
 *   CausalVAE's jet noise e = 0.01 * max(|n|, 1), n ~ N(0, 1), truncated at |n| <= 3 so the range
 *   is finite. CausalVAE puts this noise in the drawn jet only and labels the noise-free reach;
 *   here the label is the reach of the jet actually drawn, so image and label agree, and the
 *   noise is an ordinary exogenous term that counterfactuals keep.
 * True graph: ball_size -> water_height -> water_flow <- hole_height.
 *
 * Scene (x right, y up), x and y in [0, 20], scaled to fill the square image, as CausalVAE's:
 * water: light-sky-blue rectangle [3, 8] x [0, 5 + h] (CausalVAE's offset of 5 keeps the surface
 * above every hole); ball: firebrick disc at (5.5, r + 0.5) of radius r; cup walls: black lines
 * x = 3 and x = 8 up to y = 19, the right wall open from d to d + 0.4; jet: light-sky-blue
 * parabola from the hole (8, d) to (8 + x, 0.5), leaving horizontally, the curve
 * x(y) = x * sqrt((d - y) / (d - 0.5)) that CausalVAE's formula traces; ground: black line at
 * y = 0.2. Lines are 0.72 units wide (matplotlib linewidth 2 in CausalVAE's 96-dpi figure).
 * Rendering reads all four factors, so do(water_flow = x) draws a jet of reach x.
 */
import { Canvas, COLORS, Viewport } from './raster.ts';
import type { Rng } from './rng.ts';
import { World } from './world.ts';

/** Scene constants (scene units). */
export const FLOW_SCENE = {
  x: [0, 20],
  y: [0, 20],
  cupLeft: 3,
  cupRight: 8,
  cupTop: 19,
  /** The drawn water surface is at waterOffset + water_height. */
  waterOffset: 5,
  ballX: 5.5,
  /** The ball's centre is at ballLift + radius (it rests just above the bottom). */
  ballLift: 0.5,
  holeGap: 0.4,
  jetEndY: 0.5,
  groundY: 0.2,
  lineWidth: 0.72,
} as const;

/** Gravity-like constant of CausalVAE's jet formula. */
export const FLOW_G = 0.98;
/** Ball radius range: k/30, k in [5, 34]. */
export const BALL_SIZE_RANGE = [5 / 30, 34 / 30] as const;
/** Hole height range: k/3, k in [6, 14]. */
export const HOLE_HEIGHT_RANGE = [6 / 3, 14 / 3] as const;
/** Range of the water height's own noise: h_raw/10, h_raw in [10, 39]. */
export const WATER_NOISE_RANGE = [1, 3.9] as const;
/** Range of the jet noise e = 0.01 * max(|n|, 1) with |n| truncated at 3. */
export const JET_NOISE_RANGE = [0.01, 0.03] as const;

/** Water height from ball radius and its noise. */
export function waterHeight(ball: number, noise: number): number {
  return ball ** 3 + noise;
}

/** Reach of the jet from water height, hole height and the jet noise. */
export function waterFlow(water: number, hole: number, noise: number): number {
  return Math.sqrt(2 * (FLOW_G + noise) * water * (hole - FLOW_SCENE.jetEndY));
}

function jetNoise(rng: Rng): number {
  return 0.01 * Math.max(Math.min(Math.abs(rng.normal()), 3), 1);
}

function steps(from: number, to: number, div: number): number[] {
  const out: number[] = [];
  for (let k = from; k <= to; k++) out.push(k / div);
  return out;
}

/** Factor indices in the flow world's value arrays. */
export const FLOW = { ball_size: 0, hole_height: 1, water_height: 2, water_flow: 3 } as const;

const H_MIN = waterHeight(BALL_SIZE_RANGE[0], WATER_NOISE_RANGE[0]);
const H_MAX = waterHeight(BALL_SIZE_RANGE[1], WATER_NOISE_RANGE[1]);

/** Points of the jet: n segments, uniform in the horizontal distance from the wall. */
function jetPoints(hole: number, reach: number, n = 16): number[] {
  const S = FLOW_SCENE;
  const pts: number[] = [];
  for (let k = 0; k <= n; k++) {
    const s = k / n; // x = reach * s  <=>  y = hole - (hole - end) * s^2
    pts.push(S.cupRight + reach * s, hole - (hole - S.jetEndY) * s * s);
  }
  return pts;
}

function render(v: Float64Array, size: number): Uint8Array {
  const S = FLOW_SCENE;
  const r = v[FLOW.ball_size];
  const hole = v[FLOW.hole_height];
  const h = v[FLOW.water_height];
  const reach = v[FLOW.water_flow];
  const vp = new Viewport(size, S.x[0], S.x[1], S.y[0], S.y[1]);
  const c = new Canvas(size, size);
  const w = S.lineWidth;
  c.fill(vp.rect(S.cupLeft, 0, S.cupRight, S.waterOffset + h), COLORS.lightskyblue);
  c.fill(vp.segment(S.cupLeft, 0, S.cupLeft, S.cupTop, w, 'butt'), COLORS.black);
  c.fill(vp.segment(S.cupRight, 0, S.cupRight, hole, w, 'butt'), COLORS.black);
  c.fill(vp.segment(S.cupRight, hole + S.holeGap, S.cupRight, S.cupTop, w, 'butt'), COLORS.black);
  c.fill(vp.circle(S.ballX, S.ballLift + r, r), COLORS.firebrick);
  c.fill(vp.polyline(jetPoints(hole, reach), w), COLORS.lightskyblue);
  c.fill(vp.segment(S.x[0], S.groundY, S.x[1], S.groundY, w, 'butt'), COLORS.black);
  return c.data;
}

/** The Flow world. */
export const flow = new World({
  name: 'flow',
  description: "CausalVAE's flow: a ball raises the water in a cup; water height and hole height set the jet",
  factors: [
    {
      name: 'ball_size',
      min: BALL_SIZE_RANGE[0],
      max: BALL_SIZE_RANGE[1],
      unit: 'scene units',
      description: 'radius of the ball in the cup',
      parents: [],
      noise: (rng) => rng.uniform(BALL_SIZE_RANGE[0], BALL_SIZE_RANGE[1]),
      grid: steps(5, 34, 30),
    },
    {
      name: 'hole_height',
      min: HOLE_HEIGHT_RANGE[0],
      max: HOLE_HEIGHT_RANGE[1],
      unit: 'scene units',
      description: 'height of the hole in the right wall of the cup',
      parents: [],
      noise: (rng) => rng.uniform(HOLE_HEIGHT_RANGE[0], HOLE_HEIGHT_RANGE[1]),
      grid: steps(6, 14, 3),
    },
    {
      name: 'water_height',
      min: H_MIN,
      max: H_MAX,
      unit: 'scene units',
      description: 'water height: ball_size^3 + noise (the surface is drawn 5 units higher)',
      parents: ['ball_size'],
      noise: (rng) => rng.uniform(WATER_NOISE_RANGE[0], WATER_NOISE_RANGE[1]),
      equation: ([r], u) => waterHeight(r, u),
      abduct: ([r], h) => h - r ** 3,
      typicalNoise: (WATER_NOISE_RANGE[0] + WATER_NOISE_RANGE[1]) / 2,
      grid: steps(10, 39, 10),
    },
    {
      name: 'water_flow',
      min: waterFlow(H_MIN, HOLE_HEIGHT_RANGE[0], JET_NOISE_RANGE[0]),
      max: waterFlow(H_MAX, HOLE_HEIGHT_RANGE[1], JET_NOISE_RANGE[1]),
      unit: 'scene units',
      description: 'horizontal reach of the jet: sqrt(2 (0.98 + e) h (hole_height - 0.5))',
      parents: ['water_height', 'hole_height'],
      noise: jetNoise,
      equation: ([h, d], e) => waterFlow(h, d, e),
      abduct: ([h, d], x) => (x * x) / (2 * h * (d - FLOW_SCENE.jetEndY)) - FLOW_G,
      typicalNoise: JET_NOISE_RANGE[0],
    },
  ],
  render,
});
