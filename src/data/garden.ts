/**
 * The Garden world: a third synthetic world, built so that its causal graph can be learned from
 * observational data. Unlike Pendulum, whose children are noise-free and (locally) invertible
 * functions of the roots, every child here has its own additive noise and every edge is
 * nonlinear, and the two causes of the plant act through mechanisms that cannot be inverted.
 * Such nonlinear additive-noise models are identifiable from the observational distribution
 * (Hoyer et al. 2009; Peters et al. 2014); docs/results/structure.md measures how well structure
 * learning on the labels finds the graph.
 *
 * A sun moves along an arc over a garden; a thermometer shows the air temperature; a plant grows
 * with the light it gets and the warmth; its flower grows with the plant.
 *
 * Factors (floats, in this order):
 * - `sun_angle` theta, root, degrees: the sun's position on its arc, from the +x axis (below 90
 *   the sun is on the right), uniform on [20, 140];
 * - `temperature` T, root, degrees Celsius, uniform on [5, 35];
 * - `plant_height` h = 2.2 + 8 light(theta) growth(T) + u_h, scene units, with the light
 *   sin(theta)^2 (strongest with the sun overhead) and the growth 0.3 + 0.7 exp(-((T - 22)/8)^2)
 *   (a thermal optimum at 22 C); u_h ~ N(0, 0.7^2) truncated at 2.5 sigma. Neither cause can be
 *   read back from the height alone: two sun positions give the same light, two temperatures
 *   the same growth;
 * - `flower_size` r = 1.1 + 1.6 sigmoid((h - 5.8) / 0.7) + u_r, the flower's radius in scene
 *   units, u_r ~ N(0, 0.3^2) truncated at 2.5 sigma: the flower opens once the plant is tall
 *   enough, a steep threshold that the height's other causes cannot stand in for.
 * True graph: sun_angle -> plant_height <- temperature (a v-structure) and plant_height ->
 * flower_size (so sun_angle -> plant_height -> flower_size is a chain); all three edges are
 * nonlinear, the first two not even monotone.
 *
 * Scene (x right, y up), x and y in [0, 20], scaled to fill the square image, drawn in this
 * order: ground: saddle-brown strip [0, 20] x [0, 1]; thermometer at x = 2.3: a black tube
 * (1.5 wide, round ends) from y = 2.4 to 10.2 with a white bore (0.9 wide), a black bulb of
 * radius 1.2 at (2.3, 2.4) filled firebrick to radius 0.9, and a firebrick column 0.8 wide from
 * the bulb's centre up to 2.4 + 0.22 T; sun: orange disc of radius 1.4 at
 * (10 + 9 cos theta, 9.5 + 9 sin theta); plant: forest-green stem 0.6 wide from (10.5, 1) to
 * (10.5, 1 + h); flower: dark-violet disc of radius r centred on the stem's top. For every value in
 * the factors' ranges the sun, the thermometer and the plant never overlap (checked in the
 * tests), so an intervention leaves the pixels of every object it does not cause as they were.
 *
 * Rendering reads all four factors: do(flower_size = 2) draws that flower on any stem.
 */
import { Canvas, COLORS, Viewport } from './raster.ts';
import type { Rng } from './rng.ts';
import { World } from './world.ts';

const DEG = Math.PI / 180;

/** Scene constants (scene units). */
export const GARDEN_SCENE = {
  x: [0, 20],
  y: [0, 20],
  groundY: 1,
  thermometer: {
    x: 2.3,
    bulbY: 2.4,
    tubeTop: 10.2,
    tubeWidth: 1.5,
    boreWidth: 0.9,
    bulbRadius: 1.2,
    liquidRadius: 0.9,
    columnWidth: 0.8,
    /** Column length per degree Celsius. */
    perDegree: 0.22,
  },
  /** Centre and radius of the sun's arc. */
  arc: { cx: 10, cy: 9.5, radius: 9 },
  sunRadius: 1.4,
  plantX: 10.5,
  stemWidth: 0.6,
} as const;

/** Sun angle range (degrees). */
export const SUN_ANGLE_RANGE = [20, 140] as const;
/** Temperature range (degrees Celsius) and the plant's optimum. */
export const TEMPERATURE_RANGE = [5, 35] as const;
export const OPTIMAL_TEMPERATURE = 22;
/** Standard deviations of the children's noises, truncated at TRUNCATION of them. */
export const PLANT_NOISE_SD = 0.7;
export const FLOWER_NOISE_SD = 0.3;
export const TRUNCATION = 2.5;

/** Light reaching the plant, in [0, 1]: sin(sun_angle)^2, 1 with the sun overhead. */
export function light(sunAngle: number): number {
  return Math.sin(sunAngle * DEG) ** 2;
}

/** Growth factor of the temperature, in (0.3, 1]: 1 at the optimum of 22 C. */
export function growth(temperature: number): number {
  return 0.3 + 0.7 * Math.exp(-(((temperature - OPTIMAL_TEMPERATURE) / 8) ** 2));
}

/** Plant height from sun angle (degrees), temperature (C) and the plant's noise. */
export function plantHeight(sunAngle: number, temperature: number, noise: number): number {
  return 2.2 + 8 * light(sunAngle) * growth(temperature) + noise;
}

/** Flower radius from plant height and the flower's noise. */
export function flowerSize(height: number, noise: number): number {
  return 1.1 + 1.6 / (1 + Math.exp(-(height - 5.8) / 0.7)) + noise;
}

/** Centre of the sun for a sun angle in degrees. */
export function sunCentre(sunAngle: number): [number, number] {
  const { cx, cy, radius } = GARDEN_SCENE.arc;
  return [cx + radius * Math.cos(sunAngle * DEG), cy + radius * Math.sin(sunAngle * DEG)];
}

/** Top of the thermometer's column for a temperature. */
export function columnTop(temperature: number): number {
  const t = GARDEN_SCENE.thermometer;
  return t.bulbY + t.perDegree * temperature;
}

/** N(0, sd^2) truncated at +-TRUNCATION sd by rejection (the density stays Gaussian inside). */
function truncatedNormal(rng: Rng, sd: number): number {
  for (;;) {
    const n = rng.normal();
    if (Math.abs(n) <= TRUNCATION) return n * sd;
  }
}

function steps(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let k = 0; from + k * step <= to + 1e-9; k++) out.push(from + k * step);
  return out;
}

// Ranges of the children. h is increasing in light and growth (both positive); the light is
// smallest at the ends of the sun's range and 1 at 90 degrees, the growth smallest at the end
// of the temperature range farther from the optimum and 1 at the optimum; r is increasing in h.
const H_NOISE = TRUNCATION * PLANT_NOISE_SD;
const R_NOISE = TRUNCATION * FLOWER_NOISE_SD;
const LIGHT_MIN = Math.min(...SUN_ANGLE_RANGE.map(light));
const GROWTH_MIN = Math.min(...TEMPERATURE_RANGE.map(growth));
const H_MIN = 2.2 + 8 * LIGHT_MIN * GROWTH_MIN - H_NOISE;
const H_MAX = plantHeight(90, OPTIMAL_TEMPERATURE, H_NOISE);
const R_MIN = flowerSize(H_MIN, -R_NOISE);
const R_MAX = flowerSize(H_MAX, R_NOISE);

/** Factor indices in the garden's value arrays. */
export const GARDEN = { sun_angle: 0, temperature: 1, plant_height: 2, flower_size: 3 } as const;

function render(v: Float64Array, size: number): Uint8Array {
  const S = GARDEN_SCENE;
  const th = S.thermometer;
  const vp = new Viewport(size, S.x[0], S.x[1], S.y[0], S.y[1]);
  const c = new Canvas(size, size);
  const g = S.groundY;
  c.fill(vp.rect(S.x[0], S.y[0], S.x[1], g), COLORS.saddlebrown);
  c.fill(vp.segment(th.x, th.bulbY, th.x, th.tubeTop, th.tubeWidth, 'round'), COLORS.black);
  c.fill(vp.segment(th.x, th.bulbY, th.x, th.tubeTop, th.boreWidth, 'round'), COLORS.white);
  c.fill(vp.circle(th.x, th.bulbY, th.bulbRadius), COLORS.black);
  c.fill(vp.circle(th.x, th.bulbY, th.liquidRadius), COLORS.firebrick);
  const half = th.columnWidth / 2;
  c.fill(vp.rect(th.x - half, th.bulbY, th.x + half, columnTop(v[GARDEN.temperature])), COLORS.firebrick);
  const [sx, sy] = sunCentre(v[GARDEN.sun_angle]);
  c.fill(vp.circle(sx, sy, S.sunRadius), COLORS.orange);
  const top = g + v[GARDEN.plant_height];
  c.fill(vp.segment(S.plantX, g, S.plantX, top, S.stemWidth, 'butt'), COLORS.forestgreen);
  c.fill(vp.circle(S.plantX, top, v[GARDEN.flower_size]), COLORS.darkviolet);
  return c.data;
}

/** The Garden world. */
export const garden = new World({
  name: 'garden',
  description: 'sunlight and warmth make a plant grow; its flower grows with the plant',
  factors: [
    {
      name: 'sun_angle',
      min: SUN_ANGLE_RANGE[0],
      max: SUN_ANGLE_RANGE[1],
      unit: 'degrees',
      description: "the sun's position on its arc, from the +x axis; below 90 the sun is on the right",
      parents: [],
      noise: (rng) => rng.uniform(SUN_ANGLE_RANGE[0], SUN_ANGLE_RANGE[1]),
      grid: steps(SUN_ANGLE_RANGE[0], SUN_ANGLE_RANGE[1], 5),
    },
    {
      name: 'temperature',
      min: TEMPERATURE_RANGE[0],
      max: TEMPERATURE_RANGE[1],
      unit: 'degrees Celsius',
      description: 'air temperature, shown by the thermometer',
      parents: [],
      noise: (rng) => rng.uniform(TEMPERATURE_RANGE[0], TEMPERATURE_RANGE[1]),
      grid: steps(TEMPERATURE_RANGE[0], TEMPERATURE_RANGE[1], 1),
    },
    {
      name: 'plant_height',
      min: H_MIN,
      max: H_MAX,
      unit: 'scene units',
      description:
        'height of the stem: 2.2 + 8 sin(sun_angle)^2 (0.3 + 0.7 exp(-((temperature - 22)/8)^2)) + noise',
      parents: ['sun_angle', 'temperature'],
      noise: (rng) => truncatedNormal(rng, PLANT_NOISE_SD),
      equation: ([t, temp], u) => plantHeight(t, temp, u),
      abduct: ([t, temp], h) => h - plantHeight(t, temp, 0),
    },
    {
      name: 'flower_size',
      min: R_MIN,
      max: R_MAX,
      unit: 'scene units',
      description: "the flower's radius: 1.1 + 1.6 sigmoid((plant_height - 5.8) / 0.7) + noise",
      parents: ['plant_height'],
      noise: (rng) => truncatedNormal(rng, FLOWER_NOISE_SD),
      equation: ([h], u) => flowerSize(h, u),
      abduct: ([h], r) => r - flowerSize(h, 0),
    },
  ],
  render,
});
