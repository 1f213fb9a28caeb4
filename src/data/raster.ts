/**
 * A tiny anti-aliased rasteriser for the synthetic worlds: filled circles, thick line segments
 * (butt or round caps), rectangles, their unions and intersections, blended onto an RGB canvas.
 *
 * Shapes are signed-distance functions in pixel coordinates. A pixel's coverage is the fraction
 * of a 4 x 4 grid of sub-samples that falls inside; pixels whose centre is farther than 0.54 px
 * from the edge (the sub-samples lie within 0.531 px of the centre) are decided from the centre
 * alone, so the result is exactly that of full 4 x 4 supersampling at the cost of only the edge
 * pixels. Everything is plain double arithmetic: the same input gives the same bytes.
 *
 * @example
 *   const c = new Canvas(64, 64);
 *   c.fill(circle(32, 32, 10), [178, 34, 34]);
 *   c.fill(segment(0, 60, 64, 60, 3, 'butt'), [0, 0, 0]);
 */

/** An RGB colour, 0-255 per channel. */
export type RGB = readonly [number, number, number];

/** Colours used by the worlds (matplotlib's named colours). */
export const COLORS = {
  white: [255, 255, 255],
  black: [0, 0, 0],
  firebrick: [178, 34, 34],
  orange: [255, 165, 0],
  lightskyblue: [135, 206, 250],
  forestgreen: [34, 139, 34],
  saddlebrown: [139, 69, 19],
  darkviolet: [148, 0, 211],
} as const satisfies Record<string, RGB>;

/**
 * A shape in pixel coordinates: x to the right, y down, pixel (i, j) covers [i, i+1) x [j, j+1).
 * `sd` is negative inside; its magnitude must never exceed the true distance to the boundary
 * (exact for primitives, a safe bound for unions and intersections).
 */
export interface Shape {
  /** Bounding box [x0, y0, x1, y1] in pixels; empty when x1 <= x0 or y1 <= y0. */
  readonly box: readonly [number, number, number, number];
  sd(x: number, y: number): number;
  /** Set when the shape is exactly the axis-aligned rectangle `box` (a faster fill, same pixels). */
  readonly axisAligned?: boolean;
}

const EMPTY: Shape = { box: [0, 0, 0, 0], sd: () => Number.POSITIVE_INFINITY };

/** Filled disc of radius r centred at (cx, cy). */
export function circle(cx: number, cy: number, r: number): Shape {
  if (!(r > 0)) return EMPTY;
  return {
    box: [cx - r, cy - r, cx + r, cy + r],
    sd: (x, y) => Math.hypot(x - cx, y - cy) - r,
  };
}

/** Axis-aligned filled rectangle [x0, x1] x [y0, y1]. */
export function rect(x0: number, y0: number, x1: number, y1: number): Shape {
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const hx = Math.abs(x1 - x0) / 2;
  const hy = Math.abs(y1 - y0) / 2;
  if (hx === 0 || hy === 0) return EMPTY;
  return {
    box: [cx - hx, cy - hy, cx + hx, cy + hy],
    sd: (x, y) => boxSd(x - cx, y - cy, hx, hy),
    axisAligned: true,
  };
}

/** Signed distance of local point (px, py) to a centred box with half extents (hx, hy). */
function boxSd(px: number, py: number, hx: number, hy: number): number {
  const qx = Math.abs(px) - hx;
  const qy = Math.abs(py) - hy;
  const ox = Math.max(qx, 0);
  const oy = Math.max(qy, 0);
  return Math.sqrt(ox * ox + oy * oy) + Math.min(Math.max(qx, qy), 0);
}

/** How a thick segment ends: flat at the end points, or with a half-disc beyond them. */
export type Cap = 'butt' | 'round';

/** Thick line segment from (ax, ay) to (bx, by), `width` pixels across. */
export function segment(ax: number, ay: number, bx: number, by: number, width: number, cap: Cap): Shape {
  const h = width / 2;
  if (!(h > 0)) return EMPTY;
  const dx = bx - ax;
  const dy = by - ay;
  const len = Math.hypot(dx, dy);
  if (cap === 'round') {
    if (len === 0) return circle(ax, ay, h);
    const l2 = len * len;
    return {
      box: [Math.min(ax, bx) - h, Math.min(ay, by) - h, Math.max(ax, bx) + h, Math.max(ay, by) + h],
      sd: (x, y) => {
        let t = ((x - ax) * dx + (y - ay) * dy) / l2;
        t = Math.min(1, Math.max(0, t));
        return Math.hypot(x - ax - t * dx, y - ay - t * dy) - h;
      },
    };
  }
  if (len === 0) return EMPTY;
  if (dx === 0) return rect(ax - h, Math.min(ay, by), ax + h, Math.max(ay, by));
  if (dy === 0) return rect(Math.min(ax, bx), ay - h, Math.max(ax, bx), ay + h);
  // Butt caps: an oriented box; the bounding box is that of its four corners.
  const ux = dx / len;
  const uy = dy / len;
  const cx = (ax + bx) / 2;
  const cy = (ay + by) / 2;
  const ex = Math.abs(uy) * h;
  const ey = Math.abs(ux) * h;
  return {
    box: [Math.min(ax, bx) - ex, Math.min(ay, by) - ey, Math.max(ax, bx) + ex, Math.max(ay, by) + ey],
    sd: (x, y) => {
      const px = x - cx;
      const py = y - cy;
      return boxSd(px * ux + py * uy, -px * uy + py * ux, len / 2, h);
    },
  };
}

/** Thick polyline through `points` ([x0, y0, x1, y1, ...]) with round joins and caps. */
export function polyline(points: readonly number[], width: number): Shape {
  const h = width / 2;
  const n = Math.floor(points.length / 2);
  if (!(h > 0) || n === 0) return EMPTY;
  if (n === 1) return circle(points[0], points[1], h);
  const p = Float64Array.from(points.slice(0, 2 * n));
  const box: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  for (let k = 0; k < n; k++) {
    box[0] = Math.min(box[0], p[2 * k] - h);
    box[1] = Math.min(box[1], p[2 * k + 1] - h);
    box[2] = Math.max(box[2], p[2 * k] + h);
    box[3] = Math.max(box[3], p[2 * k + 1] + h);
  }
  // One loop over the segments (a union of capsules), on squared distances: far faster than a
  // union of n closures, and the same set.
  return {
    box,
    sd: (x, y) => {
      let best = Number.POSITIVE_INFINITY;
      for (let k = 0; k + 1 < n; k++) {
        const ax = p[2 * k];
        const ay = p[2 * k + 1];
        const dx = p[2 * k + 2] - ax;
        const dy = p[2 * k + 3] - ay;
        const l2 = dx * dx + dy * dy;
        let t = l2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / l2 : 0;
        t = Math.min(1, Math.max(0, t));
        const ex = x - ax - t * dx;
        const ey = y - ay - t * dy;
        const d2 = ex * ex + ey * ey;
        if (d2 < best) best = d2;
      }
      return Math.sqrt(best) - h;
    },
  };
}

/** Union of shapes (drawn as one: overlaps are not blended twice). */
export function union(...shapes: Shape[]): Shape {
  const parts = shapes.filter((s) => !isEmpty(s));
  if (parts.length === 0) return EMPTY;
  if (parts.length === 1) return parts[0];
  const box: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const s of parts) {
    box[0] = Math.min(box[0], s.box[0]);
    box[1] = Math.min(box[1], s.box[1]);
    box[2] = Math.max(box[2], s.box[2]);
    box[3] = Math.max(box[3], s.box[3]);
  }
  return {
    box,
    sd: (x, y) => {
      let d = Number.POSITIVE_INFINITY;
      for (const s of parts) {
        // A part lies inside its box, so its distance is at least the distance to the box
        // (and at least the larger axis gap): skip parts that cannot lower d.
        const b = s.box;
        const gap = Math.max(b[0] - x, x - b[2], b[1] - y, y - b[3]);
        if (gap >= d) continue;
        const v = s.sd(x, y);
        if (v < d) d = v;
      }
      return d;
    },
  };
}

/** Intersection of two shapes, e.g. a shape clipped to the scene's rectangle. */
export function intersect(a: Shape, b: Shape): Shape {
  const box: [number, number, number, number] = [
    Math.max(a.box[0], b.box[0]),
    Math.max(a.box[1], b.box[1]),
    Math.min(a.box[2], b.box[2]),
    Math.min(a.box[3], b.box[3]),
  ];
  if (box[2] <= box[0] || box[3] <= box[1]) return EMPTY;
  if (a.axisAligned && b.axisAligned) return rect(box[0], box[1], box[2], box[3]);
  return { box, sd: (x, y) => Math.max(a.sd(x, y), b.sd(x, y)) };
}

function isEmpty(s: Shape): boolean {
  return !(s.box[2] > s.box[0] && s.box[3] > s.box[1]);
}

/** Sub-sample offsets of the 4 x 4 grid inside a pixel. */
const SUB = [0.125, 0.375, 0.625, 0.875];
/** Farthest sub-sample from the pixel centre is sqrt(2) * 0.375 = 0.5303 px. */
const DECIDED = 0.54;

/** An RGB image, HWC uint8, that shapes are blended onto in drawing order. */
export class Canvas {
  /** Pixels, row-major, 3 bytes per pixel. */
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: RGB = COLORS.white,
  ) {
    this.data = new Uint8Array(width * height * 3);
    const [r, g, b] = background;
    if (r === g && g === b) this.data.fill(r);
    else for (let i = 0; i < this.data.length; i += 3) this.data.set(background, i);
  }

  /** Blend `shape` in `color` with anti-aliased edges. */
  fill(shape: Shape, color: RGB): void {
    const [x0, y0, x1, y1] = shape.box;
    const i0 = Math.max(0, Math.floor(x0));
    const j0 = Math.max(0, Math.floor(y0));
    const i1 = Math.min(this.width, Math.ceil(x1));
    const j1 = Math.min(this.height, Math.ceil(y1));
    const [r, g, b] = color;
    const d = this.data;
    if (shape.axisAligned) {
      this.fillRect(shape.box, color, i0, j0, i1, j1);
      return;
    }
    for (let j = j0; j < j1; j++) {
      for (let i = i0; i < i1; i++) {
        const centre = shape.sd(i + 0.5, j + 0.5);
        let cov: number;
        if (centre >= DECIDED) continue;
        if (centre <= -DECIDED) cov = 1;
        else {
          let n = 0;
          for (const sy of SUB) for (const sx of SUB) if (shape.sd(i + sx, j + sy) < 0) n++;
          if (n === 0) continue;
          cov = n / 16;
        }
        const k = (j * this.width + i) * 3;
        if (cov === 1) {
          d[k] = r;
          d[k + 1] = g;
          d[k + 2] = b;
        } else {
          d[k] = Math.round(d[k] + (r - d[k]) * cov);
          d[k + 1] = Math.round(d[k + 1] + (g - d[k + 1]) * cov);
          d[k + 2] = Math.round(d[k + 2] + (b - d[k + 2]) * cov);
        }
      }
    }
  }

  /**
   * Axis-aligned rectangle: the 4 x 4 sub-sample count is (columns inside) x (rows inside), the
   * same test as the signed distance (strictly inside), without evaluating it 16 times.
   */
  private fillRect(box: readonly number[], color: RGB, i0: number, j0: number, i1: number, j1: number): void {
    const [x0, y0, x1, y1] = box;
    const inside = (p: number, lo: number, hi: number) => {
      let n = 0;
      for (const s of SUB) if (p + s > lo && p + s < hi) n++;
      return n;
    };
    const [r, g, b] = color;
    const d = this.data;
    for (let j = j0; j < j1; j++) {
      const ny = inside(j, y0, y1);
      if (ny === 0) continue;
      for (let i = i0; i < i1; i++) {
        const n = ny * inside(i, x0, x1);
        if (n === 0) continue;
        const k = (j * this.width + i) * 3;
        if (n === 16) {
          d[k] = r;
          d[k + 1] = g;
          d[k + 2] = b;
        } else {
          const cov = n / 16;
          d[k] = Math.round(d[k] + (r - d[k]) * cov);
          d[k + 1] = Math.round(d[k + 1] + (g - d[k + 1]) * cov);
          d[k + 2] = Math.round(d[k + 2] + (b - d[k + 2]) * cov);
        }
      }
    }
  }
}

/**
 * Maps a rectangular scene (x right, y up, scene units) into a square image of `size` pixels
 * with one uniform scale: the larger extent fills the image, the smaller is centred. Builders
 * take scene coordinates and return pixel-space shapes clipped to the scene rectangle, so
 * nothing is drawn outside the scene (as matplotlib clips to the axes).
 */
export class Viewport {
  /** Pixels per scene unit. */
  readonly scale: number;
  private readonly ox: number;
  private readonly oy: number;
  private readonly clip: Shape;

  constructor(
    readonly size: number,
    x0: number,
    x1: number,
    y0: number,
    y1: number,
  ) {
    this.scale = size / Math.max(x1 - x0, y1 - y0);
    this.ox = size / 2 - ((x0 + x1) / 2) * this.scale;
    this.oy = size / 2 + ((y0 + y1) / 2) * this.scale;
    this.clip = rect(this.px(x0), this.py(y1), this.px(x1), this.py(y0));
  }

  /** Pixel x of scene x. */
  px(x: number): number {
    return this.ox + x * this.scale;
  }

  /** Pixel y of scene y (y up in the scene, down in the image). */
  py(y: number): number {
    return this.oy - y * this.scale;
  }

  circle(cx: number, cy: number, r: number): Shape {
    return intersect(circle(this.px(cx), this.py(cy), r * this.scale), this.clip);
  }

  rect(x0: number, y0: number, x1: number, y1: number): Shape {
    return intersect(rect(this.px(x0), this.py(y1), this.px(x1), this.py(y0)), this.clip);
  }

  segment(ax: number, ay: number, bx: number, by: number, width: number, cap: Cap): Shape {
    const s = segment(this.px(ax), this.py(ay), this.px(bx), this.py(by), width * this.scale, cap);
    return intersect(s, this.clip);
  }

  polyline(points: readonly number[], width: number): Shape {
    const p = points.map((v, i) => (i % 2 === 0 ? this.px(v) : this.py(v)));
    return intersect(polyline(p, width * this.scale), this.clip);
  }
}
