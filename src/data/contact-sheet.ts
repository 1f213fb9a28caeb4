/**
 * Contact sheets: a grid of renders over two factors of a world (by default its first two
 * roots), for a person to look at. Rows vary the first factor from its minimum (top) to its
 * maximum (bottom), columns the second from left to right, at the centres of equal cells, so no
 * value lands on a range end or an excluded point by construction. Other roots sit at the middle
 * of their range and children use their typical noise, so children follow the equations.
 *
 * @example
 *   await writeContactSheet(pendulum, '/tmp/pendulum.png', { rows: 8, cols: 8, tile: 96 });
 */
import { OptionError } from '../errors.ts';
import { tileGrid, writePng } from './grid.ts';
import type { World } from './world.ts';

export interface ContactSheetOptions {
  /** Factors on the rows and columns (default: the first two roots). */
  factors?: readonly [string, string];
  /** Grid rows and columns (default 8 x 8). */
  rows?: number;
  cols?: number;
  /** Tile side in pixels (default 64). */
  tile?: number;
  /** Grey gap between tiles in pixels (default 2). */
  gap?: number;
}

/** A rendered sheet: RGB HWC pixels and the factor values along each axis. */
export interface ContactSheet {
  width: number;
  height: number;
  pixels: Uint8Array;
  factors: [string, string];
  rowValues: number[];
  colValues: number[];
}

/** Render a contact sheet in memory. Tiles whose values the world cannot render stay grey. */
export function contactSheet(world: World, options: ContactSheetOptions = {}): ContactSheet {
  const rows = positiveInt(options.rows ?? 8, 'rows');
  const cols = positiveInt(options.cols ?? 8, 'cols');
  const tile = positiveInt(options.tile ?? 64, 'tile');
  const gap = options.gap ?? 2;
  if (!Number.isInteger(gap) || gap < 0)
    throw new OptionError(`Expected an integer >= 0 for gap but received ${gap}`);
  const roots = world.roots;
  const [fa, fb] = options.factors ?? [roots[0], roots[1] ?? roots[0]];
  const ia = world.index(fa);
  const ib = world.index(fb);
  if (ia === ib) throw new OptionError(`contact sheet: the two factors must differ, got '${fa}' twice`);
  const at = (i: number, k: number, n: number) => {
    const f = world.factors[i];
    return f.min + ((k + 0.5) / n) * (f.max - f.min);
  };
  const rowValues = Array.from({ length: rows }, (_, k) => at(ia, k, rows));
  const colValues = Array.from({ length: cols }, (_, k) => at(ib, k, cols));
  const baseNoise = Float64Array.from(world.names, (n) => world.typicalNoise(n));
  // tiles the world cannot render (an impossible combination) stay grey
  const grey = new Uint8Array(tile * tile * 3).fill(200);
  const tiles: Uint8Array[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      // Set the chosen factors by intervention, so a child on an axis is set and only its
      // descendants follow; for roots this is the same as choosing their noise.
      const u = Float64Array.from(baseNoise);
      try {
        const cf = world.counterfactual(
          { values: world.solve(u), noise: u },
          { [fa]: rowValues[r], [fb]: colValues[c] },
          tile,
        );
        tiles.push(cf.image);
      } catch (e) {
        if (!(e instanceof OptionError)) throw e;
        tiles.push(grey);
      }
    }
  }
  const { width, height, pixels } = tileGrid(tiles, tile, cols, gap);
  return { width, height, pixels, factors: [fa, fb], rowValues, colValues };
}

/** Render a contact sheet and write it as a PNG. */
export async function writeContactSheet(
  world: World,
  path: string,
  options: ContactSheetOptions = {},
): Promise<ContactSheet> {
  const sheet = contactSheet(world, options);
  await writePng(path, sheet);
  return sheet;
}

function positiveInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 1)
    throw new OptionError(`Expected a positive integer for ${name} but received ${v}`);
  return v;
}

/** Options of factorSheet. */
export interface FactorSheetOptions {
  /** values per row (default 8) */
  cols?: number;
  /** tile side in pixels (default 64) */
  tile?: number;
  /** grey gap between tiles in pixels (default 2) */
  gap?: number;
}

/** A rendered factor sheet: RGB HWC pixels, the factor of each row, the swept fractions of the range. */
export interface FactorSheet {
  width: number;
  height: number;
  pixels: Uint8Array;
  rows: string[];
  fractions: number[];
}

/**
 * A sheet of what each factor looks like: row k sweeps factor k from its minimum (left) to its
 * maximum (right), at the centres of equal cells, with every other factor at the middle of its
 * range; values are drawn as given (no equations), so a row shows one factor's visual property
 * alone. Tiles the world cannot render stay grey.
 *
 * @example
 *   const sheet = factorSheet(randomWorld({ nodes: 6 }), { cols: 8 });
 */
export function factorSheet(world: World, options: FactorSheetOptions = {}): FactorSheet {
  const cols = positiveInt(options.cols ?? 8, 'cols');
  const tile = positiveInt(options.tile ?? 64, 'tile');
  const gap = options.gap ?? 2;
  if (!Number.isInteger(gap) || gap < 0)
    throw new OptionError(`Expected an integer >= 0 for gap but received ${gap}`);
  const middle = Float64Array.from(world.factors, (f) => (f.min + f.max) / 2);
  const fractions = Array.from({ length: cols }, (_, c) => (c + 0.5) / cols);
  const grey = new Uint8Array(tile * tile * 3).fill(200);
  const tiles: Uint8Array[] = [];
  for (const [k, f] of world.factors.entries()) {
    for (const t of fractions) {
      const v = Float64Array.from(middle);
      v[k] = f.min + t * (f.max - f.min);
      try {
        tiles.push(world.render(v, tile));
      } catch (e) {
        if (!(e instanceof OptionError)) throw e;
        tiles.push(grey);
      }
    }
  }
  return { ...tileGrid(tiles, tile, cols, gap), rows: [...world.names], fractions };
}

/** Render a factor sheet and write it as a PNG. */
export async function writeFactorSheet(
  world: World,
  path: string,
  options: FactorSheetOptions = {},
): Promise<FactorSheet> {
  const sheet = factorSheet(world, options);
  await writePng(path, sheet);
  return sheet;
}
