/**
 * The Pendulum world of CausalVAE (Yang et al. 2021), as in docs/method.md section 5: a pendulum hangs
 * from a pivot, a sun shines on it, and its shadow falls on the ground line.
 *
 * Factors (labels are floats, in this order):
 * - `pendulum_angle` theta, degrees, root: CausalVAE's grid i * 0.9 (i * pi/200 rad), i in [-40, 43];
 * - `light_angle` phi, degrees, root: j * 0.9, j in [60, 147], j != 100 (90 degrees, the sun
 *   straight overhead, makes tan(phi) infinite and is rejected);
 * - `shadow_length` shade = max(3, |p0 - p1|), scene units, child of both angles;
 * - `shadow_position` mid = (p0 + p1) / 2, scene units, child of both angles.
 *
 * Scene (x right, y up): x in [0, 20], y in [-1, 21]. With proj(x, y, base) =
 * (base - (y - x tan phi)) / tan phi, the x where the light ray through (x, y) meets height `base`:
 * pivot (10, 10.5); bob centre (10 + 8 sin theta, 10.5 - 8 cos theta), radius 1.5, firebrick;
 * rod from pivot to bob, black; sun: orange disc of radius 3 at (proj(10, 10.5, 20.5), 20.5);
 * p0 = proj(10, 10.5, -0.5), p1 = proj(ball edge, -0.5) with the ball edge at radius 9.5;
 * shadow: black line at y = -0.5 from mid - shade/2 to mid + shade/2. Drawn in CausalVAE's order
 * (rod, bob, sun, shadow); the objects never overlap.
 *
 * Image mapping: one uniform scale, size/22 pixels per scene unit, so the scene's height fills
 * the square image and its 20-unit width is centred (1 unit of white margin left and right).
 * Everything is clipped to the scene rectangle, as matplotlib clips to the axes: the sun is cut
 * by the top edge, a long shadow by the sides.
 *
 * Line width: CausalVAE draws rod and shadow with matplotlib linewidth 3 (points) in a 1-inch,
 * 96-dpi figure whose axes span about 74 px for the 20-unit scene: 4 px = 1.1 scene units. We
 * use 1.1 scene units with flat (butt) ends, as matplotlib strokes a two-point polygon.
 *
 * Rendering reads all four factors: the rod and bob come from pendulum_angle, the sun from
 * light_angle, and the shadow is drawn from shadow_position and shadow_length as given. So after
 * an intervention on a shadow factor (do(shadow_length = 5)) the image shows that shadow even
 * though no light ray would cast it: that is what the factors mean.
 */
import { Canvas, COLORS, Viewport } from './raster.ts';
import type { Rng } from './rng.ts';
import { World } from './world.ts';

const DEG = Math.PI / 180;

/** CausalVAE's angle step: pi/200 rad = 0.9 degrees. */
export const ANGLE_STEP_DEG = 0.9;
/** Pendulum angle range (degrees): i * 0.9 for i in [-40, 43]. */
export const PENDULUM_ANGLE_RANGE = [-40 * ANGLE_STEP_DEG, 43 * ANGLE_STEP_DEG] as const;
/** Light angle range (degrees): j * 0.9 for j in [60, 147]. */
export const LIGHT_ANGLE_RANGE = [60 * ANGLE_STEP_DEG, 147 * ANGLE_STEP_DEG] as const;
/**
 * Half-width (degrees) of the band around 90 that continuous sampling avoids: half a grid step,
 * so the continuous light angle covers the same cells as the grid without j = 100.
 */
export const LIGHT_EXCLUDED_BAND_DEG = ANGLE_STEP_DEG / 2;

/** Scene constants (scene units). */
export const PENDULUM_SCENE = {
  x: [0, 20],
  y: [-1, 21],
  pivot: [10, 10.5],
  rodLength: 8,
  bobRadius: 1.5,
  /** Distance from the pivot to the ball's far edge, used for the shadow. */
  edgeRadius: 9.5,
  sunHeight: 20.5,
  sunRadius: 3,
  groundY: -0.5,
  lineWidth: 1.1,
  minShadow: 3,
} as const;

/** proj(x, y, base): where the light ray at angle phi (radians) through (x, y) reaches height base. */
export function proj(phi: number, x: number, y: number, base: number): number {
  const t = Math.tan(phi);
  return (base - (y - x * t)) / t;
}

/** Derived geometry of one pendulum scene; angles in degrees. */
export interface PendulumGeometry {
  bob: [number, number];
  sunX: number;
  p0: number;
  p1: number;
  /** Shadow position (centre of the shadow). */
  mid: number;
  /** Shadow length. */
  shade: number;
}

/** The scene geometry of docs/method.md section 5 for angles theta and phi in degrees. */
export function pendulumGeometry(thetaDeg: number, phiDeg: number): PendulumGeometry {
  const S = PENDULUM_SCENE;
  const th = thetaDeg * DEG;
  const ph = phiDeg * DEG;
  const [cx, cy] = S.pivot;
  const bob: [number, number] = [cx + S.rodLength * Math.sin(th), cy - S.rodLength * Math.cos(th)];
  const ex = cx + S.edgeRadius * Math.sin(th);
  const ey = cy - S.edgeRadius * Math.cos(th);
  const p0 = proj(ph, cx, cy, S.groundY);
  const p1 = proj(ph, ex, ey, S.groundY);
  return {
    bob,
    sunX: proj(ph, cx, cy, S.sunHeight),
    p0,
    p1,
    mid: (p0 + p1) / 2,
    shade: Math.max(S.minShadow, Math.abs(p0 - p1)),
  };
}

// Label ranges of the children. shadow_position is increasing in theta (its derivative is
// 4.75 sin(phi - theta) / sin(phi) > 0) and linear in cot(phi), and shadow_length =
// max(3, 9.5 |cos(phi - theta)| / sin(phi)) peaks at a corner too (checked on a dense grid in
// the tests), so the ranges are the extremes over the four corners of the root domain.
const corners = PENDULUM_ANGLE_RANGE.flatMap((t) => LIGHT_ANGLE_RANGE.map((p) => pendulumGeometry(t, p)));
const SHADE_MAX = Math.max(...corners.map((g) => g.shade));
const MID_MIN = Math.min(...corners.map((g) => g.mid));
const MID_MAX = Math.max(...corners.map((g) => g.mid));

function gridValues(from: number, to: number, skip?: number): number[] {
  const out: number[] = [];
  for (let k = from; k <= to; k++) if (k !== skip) out.push(k * ANGLE_STEP_DEG);
  return out;
}

function sampleLight(rng: Rng): number {
  const [lo, hi] = LIGHT_ANGLE_RANGE;
  // Rejection keeps the density uniform outside the excluded band.
  for (;;) {
    const v = rng.uniform(lo, hi);
    if (Math.abs(v - 90) >= LIGHT_EXCLUDED_BAND_DEG) return v;
  }
}

/** Factor indices in the pendulum's value arrays. */
export const PENDULUM = { pendulum_angle: 0, light_angle: 1, shadow_length: 2, shadow_position: 3 } as const;

function render(v: Float64Array, size: number): Uint8Array {
  const S = PENDULUM_SCENE;
  const g = pendulumGeometry(v[PENDULUM.pendulum_angle], v[PENDULUM.light_angle]);
  const shade = v[PENDULUM.shadow_length];
  const mid = v[PENDULUM.shadow_position];
  const vp = new Viewport(size, S.x[0], S.x[1], S.y[0], S.y[1]);
  const c = new Canvas(size, size);
  const [px, py] = S.pivot;
  c.fill(vp.segment(px, py, g.bob[0], g.bob[1], S.lineWidth, 'butt'), COLORS.black);
  c.fill(vp.circle(g.bob[0], g.bob[1], S.bobRadius), COLORS.firebrick);
  c.fill(vp.circle(g.sunX, S.sunHeight, S.sunRadius), COLORS.orange);
  c.fill(
    vp.segment(mid - shade / 2, S.groundY, mid + shade / 2, S.groundY, S.lineWidth, 'butt'),
    COLORS.black,
  );
  return c.data;
}

/** The Pendulum world. Children are deterministic (noise 0). */
export const pendulum = new World({
  name: 'pendulum',
  description: "CausalVAE's pendulum: pendulum and light angles cast a shadow (length and position)",
  factors: [
    {
      name: 'pendulum_angle',
      min: PENDULUM_ANGLE_RANGE[0],
      max: PENDULUM_ANGLE_RANGE[1],
      unit: 'degrees',
      description: 'angle of the rod from the vertical, positive to the right',
      parents: [],
      noise: (rng) => rng.uniform(PENDULUM_ANGLE_RANGE[0], PENDULUM_ANGLE_RANGE[1]),
      grid: gridValues(-40, 43),
    },
    {
      name: 'light_angle',
      min: LIGHT_ANGLE_RANGE[0],
      max: LIGHT_ANGLE_RANGE[1],
      unit: 'degrees',
      description: 'elevation of the light rays from the +x axis; below 90 the sun is on the right',
      parents: [],
      noise: sampleLight,
      impossible: (v) =>
        Math.abs(v - 90) < 1e-9
          ? 'the light is straight overhead, tan(light_angle) is infinite and the shadow projection is undefined'
          : undefined,
      grid: gridValues(60, 147, 100),
    },
    {
      name: 'shadow_length',
      min: PENDULUM_SCENE.minShadow,
      max: SHADE_MAX,
      unit: 'scene units',
      description: 'length of the shadow on the ground line: max(3, |p0 - p1|)',
      parents: ['pendulum_angle', 'light_angle'],
      noise: () => 0,
      equation: ([t, p]) => pendulumGeometry(t, p).shade,
    },
    {
      name: 'shadow_position',
      min: MID_MIN,
      max: MID_MAX,
      unit: 'scene units',
      description: 'x of the centre of the shadow: (p0 + p1) / 2',
      parents: ['pendulum_angle', 'light_angle'],
      noise: () => 0,
      equation: ([t, p]) => pendulumGeometry(t, p).mid,
    },
  ],
  render,
});
