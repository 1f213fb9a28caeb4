/**
 * Synthetic causal worlds with exact ground truth. A world is a structural causal model over a
 * few named factors plus a scene that renders any factor values to an image:
 *
 * - every factor i has one exogenous noise u_i; a root's value is its noise (x_i = u_i), a child's
 *   value is its structural equation x_i = f_i(parents, u_i);
 * - sampling draws all noises and evaluates the equations in topological order;
 * - a counterfactual keeps the factual noises, sets the intervened factors, recomputes their
 *   descendants from the equations and keeps every other factor as it was (Pearl's abduction,
 *   action, prediction). Noises can be recovered from values alone (`abduct`), so a labels file
 *   is enough for an exact counterfactual.
 *
 * A new world is its factor definitions (ranges, parents, noise, equation) and a `render`.
 *
 * @example
 *   const s = pendulum.sample(new Rng(1));
 *   const cf = pendulum.counterfactual(s, { light_angle: 120 });
 *   cf.values; // pendulum_angle kept, shadow_length and shadow_position recomputed
 */
import { descendants, findCycle, topologicalOrder } from '../causal/graph.ts';
import { GraphError, OptionError } from '../errors.ts';
import type { Rng } from './rng.ts';

/** Numbers a factor's equation reads, in the order of its `parents`. */
export type ParentValues = readonly number[];

/** Everything that defines one factor of a world. */
export interface FactorDefinition {
  /** Label name, e.g. `light_angle`. */
  readonly name: string;
  /** Smallest and largest value the world can produce (closed range; also the label range). */
  readonly min: number;
  readonly max: number;
  /** Unit of the values, e.g. 'degrees' or 'scene units'. */
  readonly unit: string;
  readonly description: string;
  /** Direct causes; empty for a root. */
  readonly parents: readonly string[];
  /** Draw this factor's exogenous noise. For a root it is the factor's value. */
  noise(rng: Rng): number;
  /** Structural equation of a child: its value from parent values and its own noise. */
  equation?(parents: ParentValues, noise: number): number;
  /** Inverse of the equation in the noise, given the parents and the value (abduction). */
  abduct?(parents: ParentValues, value: number): number;
  /** Noise used where one has to be chosen without a sample (contact sheets): a typical value. */
  readonly typicalNoise?: number;
  /** Values inside [min, max] the world still cannot take: returns why, or undefined if fine. */
  impossible?(value: number): string | undefined;
  /** Grid of noise values for the world's reference grid (CausalVAE's enumeration), if any. */
  readonly grid?: readonly number[];
}

/** What a world states about one factor (its definition without the functions). */
export interface FactorSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly unit: string;
  readonly description: string;
  readonly parents: readonly string[];
  /** True when the factor has no parents. */
  readonly root: boolean;
}

/** Everything that defines a world. */
export interface WorldDefinition {
  readonly name: string;
  readonly description: string;
  readonly factors: readonly FactorDefinition[];
  /** Draw `values` (in factor order, already validated) into a size x size RGB image, HWC uint8. */
  render(values: Float64Array, size: number): Uint8Array;
}

/** One draw of a world: factor values and the exogenous noises that produced them. */
export interface WorldSample {
  /** Factor values in the world's factor order. */
  values: Float64Array;
  /** Exogenous noise per factor, same order (for a root equal to its value). */
  noise: Float64Array;
}

/** Result of a counterfactual: the new sample and its rendered image. */
export interface Counterfactual extends WorldSample {
  image: Uint8Array;
  /** Names of the factors whose value was set or recomputed. */
  changed: string[];
}

/** A set of factor values by name; for interventions, any subset of the factors. */
export type FactorRecord = Record<string, number>;

/** Smallest and largest image side accepted by `render`. */
export const MIN_IMAGE_SIZE = 8;
export const MAX_IMAGE_SIZE = 1024;

/** Slack for range checks, so grid values computed as i * step are not rejected at the ends. */
const RANGE_EPS = 1e-9;

/** A structural causal model with a renderer; build one with `new World(definition)`. */
export class World {
  readonly name: string;
  readonly description: string;
  /** Factors in definition order; values, noises and labels use this order. */
  readonly factors: readonly FactorSpec[];
  /** Factor names in factor order. */
  readonly names: readonly string[];
  /** Parents of each factor by name: the true causal graph. */
  readonly parents: Readonly<Record<string, readonly string[]>>;
  /** Factor indices in a topological order (parents before children). */
  readonly order: readonly number[];
  private readonly defs: readonly FactorDefinition[];
  private readonly parentIdx: readonly (readonly number[])[];
  /** The true graph as an adjacency matrix (see adjacency()). */
  private readonly graph: readonly number[][];
  private readonly renderFn: (values: Float64Array, size: number) => Uint8Array;

  constructor(def: WorldDefinition) {
    this.name = def.name;
    this.description = def.description;
    this.defs = def.factors;
    this.names = def.factors.map((f) => f.name);
    this.renderFn = def.render;
    const index = new Map<string, number>();
    for (const [i, f] of def.factors.entries()) {
      if (index.has(f.name)) throw new GraphError(`${def.name}: factor '${f.name}' is defined twice`);
      if (!(f.min <= f.max)) throw new GraphError(`${def.name}: factor '${f.name}' has min > max`);
      index.set(f.name, i);
    }
    this.parentIdx = def.factors.map((f) =>
      f.parents.map((p) => {
        const j = index.get(p);
        if (j === undefined)
          throw new GraphError(`${def.name}: parent '${p}' of '${f.name}' is not a factor`);
        if (j === index.get(f.name)) throw new GraphError(`${def.name}: '${f.name}' is its own parent`);
        return j;
      }),
    );
    for (const f of def.factors) {
      if (f.parents.length > 0 && !f.equation) {
        throw new GraphError(`${def.name}: child '${f.name}' has parents but no equation`);
      }
    }
    const graph = this.adjacency();
    const cycle = findCycle(graph);
    if (cycle) {
      throw new GraphError(
        `${def.name}: the factors ${cycle.map((i) => this.names[i]).join(', ')} form a cycle`,
      );
    }
    this.graph = graph;
    this.order = topologicalOrder(graph);
    this.factors = def.factors.map((f) => ({
      name: f.name,
      min: f.min,
      max: f.max,
      unit: f.unit,
      description: f.description,
      parents: [...f.parents],
      root: f.parents.length === 0,
    }));
    this.parents = Object.fromEntries(def.factors.map((f) => [f.name, [...f.parents]]));
  }

  /** Index of a factor in factor order; throws OptionError naming the known factors. */
  index(name: string): number {
    const i = this.names.indexOf(name);
    if (i < 0) {
      throw new OptionError(`${this.name}: unknown factor '${name}'; factors are ${this.names.join(', ')}`);
    }
    return i;
  }

  /** Names of the root factors (no parents). */
  get roots(): string[] {
    return this.factors.filter((f) => f.root).map((f) => f.name);
  }

  /** Edges [from, to] of the true graph. */
  edges(): [string, string][] {
    return this.factors.flatMap((f) => f.parents.map((p): [string, string] => [p, f.name]));
  }

  /** Adjacency matrix A, A[i][j] = 1 when factor i causes factor j (docs/method.md's convention). */
  adjacency(): number[][] {
    const m = this.names.length;
    const a = Array.from({ length: m }, () => new Array<number>(m).fill(0));
    for (const [j, ps] of this.parentIdx.entries()) for (const i of ps) a[i][j] = 1;
    return a;
  }

  /** All factors reachable from `name` along the graph's edges (not including `name`). */
  descendants(name: string): string[] {
    return [...this.descendantSet([this.index(name)])].map((i) => this.names[i]);
  }

  /** Draw the exogenous noises of every factor. */
  sampleNoise(rng: Rng): Float64Array {
    const u = new Float64Array(this.defs.length);
    // Draw in factor order, not topological order, so adding a factor at the end of a world's
    // definition does not reshuffle the draws of the others.
    for (const [i, f] of this.defs.entries()) u[i] = f.noise(rng);
    return u;
  }

  /** Factor values produced by the noises `u` (topological evaluation of the equations). */
  solve(u: Float64Array): Float64Array {
    this.checkLength(u, 'noise');
    const x = new Float64Array(u.length);
    for (const i of this.order) x[i] = this.evaluate(i, x, u[i]);
    return x;
  }

  /** A fresh observational sample: noises drawn from `rng`, values from the equations. */
  sample(rng: Rng): WorldSample {
    const noise = this.sampleNoise(rng);
    return { values: this.solve(noise), noise };
  }

  /**
   * An interventional sample: fresh noises, the intervened factors set, their descendants
   * computed from the equations (do-calculus sampling, not a counterfactual).
   */
  sampleDo(rng: Rng, intervention: FactorRecord): WorldSample {
    const noise = this.sampleNoise(rng);
    const factual = this.solve(noise);
    return this.intervene({ values: factual, noise }, intervention).sample;
  }

  /**
   * Recover the noises that produce `values` (exact for roots and for children with an
   * `abduct`; children whose equation ignores noise get 0).
   */
  abduct(values: Float64Array): Float64Array {
    this.checkLength(values, 'values');
    const u = new Float64Array(values.length);
    for (const [i, f] of this.defs.entries()) {
      if (f.parents.length === 0) u[i] = values[i];
      else if (f.abduct) u[i] = f.abduct(this.parentValues(i, values), values[i]);
    }
    return u;
  }

  /**
   * The counterfactual of `factual` under do(intervention): intervened factors set, their
   * descendants recomputed with the factual noises, all other factors kept; then rendered.
   * `factual` is a sample (with its noises) or bare values (noises recovered by `abduct`).
   * Throws OptionError for an unknown factor or an impossible value.
   */
  counterfactual(
    factual: WorldSample | Float64Array | FactorRecord,
    intervention: FactorRecord,
    size = 64,
  ): Counterfactual {
    const { changed, ...sample } = this.counterfactualValues(factual, intervention);
    return { ...sample, image: this.render(sample.values, size), changed };
  }

  /** `counterfactual` without the rendering: values, noises and the names that changed. */
  counterfactualValues(
    factual: WorldSample | Float64Array | FactorRecord,
    intervention: FactorRecord,
  ): WorldSample & { changed: string[] } {
    const { sample, changed } = this.intervene(this.toSample(factual), intervention);
    return { ...sample, changed };
  }

  /** Render factor values (array in factor order, or a record naming every factor) to RGB HWC. */
  render(values: Float64Array | FactorRecord, size = 64): Uint8Array {
    if (!Number.isInteger(size) || size < MIN_IMAGE_SIZE || size > MAX_IMAGE_SIZE) {
      throw new OptionError(
        `Expected an integer in [${MIN_IMAGE_SIZE}, ${MAX_IMAGE_SIZE}] for image size but received ${size}`,
      );
    }
    const v = values instanceof Float64Array ? values : this.fromRecord(values);
    this.validate(v);
    return this.renderFn(v, size);
  }

  /**
   * Throw OptionError if any value is not a finite number inside its factor's range, or is one
   * the world cannot take (e.g. the pendulum's light straight overhead). The message names the
   * world, the factor, the value and the allowed range.
   */
  validate(values: Float64Array): void {
    this.checkLength(values, 'values');
    for (let i = 0; i < values.length; i++) this.checkValue(i, values[i]);
  }

  /** Values by name. */
  toRecord(values: Float64Array): FactorRecord {
    this.checkLength(values, 'values');
    return Object.fromEntries(this.names.map((n, i) => [n, values[i]]));
  }

  /** Values in factor order from a record that names every factor (and nothing else). */
  fromRecord(record: FactorRecord): Float64Array {
    for (const k of Object.keys(record)) this.index(k);
    return Float64Array.from(this.names, (n) => {
      const v = record[n];
      if (v === undefined) throw new OptionError(`${this.name}: missing value for factor '${n}'`);
      return v;
    });
  }

  /** Noise vectors of the world's reference grid (cartesian product of the factors' grids). */
  gridSize(): number {
    return this.defs.reduce((n, f) => n * (f.grid ? f.grid.length : 1), 1);
  }

  /**
   * Noises of grid point `k` (0 <= k < gridSize()): gridded factors take their grid values
   * (the first factor varies slowest), the others draw from `rng`.
   */
  gridNoise(k: number, rng: Rng): Float64Array {
    const n = this.gridSize();
    if (!Number.isInteger(k) || k < 0 || k >= n) {
      throw new OptionError(`${this.name}: grid index must be an integer in [0, ${n - 1}], got ${k}`);
    }
    const u = this.sampleNoise(rng);
    for (let i = this.defs.length - 1; i >= 0; i--) {
      const g = this.defs[i].grid;
      if (!g) continue;
      u[i] = g[k % g.length];
      k = Math.floor(k / g.length);
    }
    return u;
  }

  /** The typical noise of factor i (its `typicalNoise`, else the middle of its range for roots). */
  typicalNoise(name: string): number {
    const f = this.defs[this.index(name)];
    if (f.typicalNoise !== undefined) return f.typicalNoise;
    return f.parents.length === 0 ? (f.min + f.max) / 2 : 0;
  }

  private intervene(f: WorldSample, intervention: FactorRecord): { sample: WorldSample; changed: string[] } {
    const set = new Map<number, number>();
    for (const [name, v] of Object.entries(intervention)) {
      const i = this.index(name);
      this.checkValue(i, v, 'intervention ');
      set.set(i, v);
    }
    const recompute = this.descendantSet([...set.keys()]);
    const values = Float64Array.from(f.values);
    for (const i of this.order) {
      const v = set.get(i);
      if (v !== undefined) values[i] = v;
      else if (recompute.has(i)) values[i] = this.evaluate(i, values, f.noise[i]);
    }
    this.validate(values);
    const changed = this.names.filter((_, i) => set.has(i) || recompute.has(i));
    return { sample: { values, noise: Float64Array.from(f.noise) }, changed };
  }

  private toSample(factual: WorldSample | Float64Array | FactorRecord): WorldSample {
    if (factual instanceof Float64Array) {
      this.validate(factual);
      return { values: factual, noise: this.abduct(factual) };
    }
    if (isSample(factual)) {
      this.validate(factual.values);
      this.checkLength(factual.noise, 'noise');
      return factual;
    }
    const values = this.fromRecord(factual);
    this.validate(values);
    return { values, noise: this.abduct(values) };
  }

  private evaluate(i: number, x: Float64Array, u: number): number {
    const f = this.defs[i];
    if (f.parents.length === 0) return u;
    return f.equation!(this.parentValues(i, x), u);
  }

  private parentValues(i: number, x: Float64Array): number[] {
    return this.parentIdx[i].map((j) => x[j]);
  }

  private descendantSet(start: number[]): Set<number> {
    return new Set(start.flatMap((i) => descendants(this.graph, i)));
  }

  private checkValue(i: number, v: number, what = ''): void {
    const f = this.defs[i];
    const range = `[${fmt(f.min)}, ${fmt(f.max)}] ${f.unit}`;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new OptionError(`${this.name}: ${what}${f.name} must be a finite number in ${range}, got ${v}`);
    }
    if (v < f.min - RANGE_EPS || v > f.max + RANGE_EPS) {
      throw new OptionError(`${this.name}: ${what}${f.name} must be in ${range}, got ${fmt(v)}`);
    }
    const why = f.impossible?.(v);
    if (why) throw new OptionError(`${this.name}: ${what}${f.name} = ${fmt(v)} is impossible: ${why}`);
  }

  private checkLength(a: Float64Array, what: string): void {
    if (!(a instanceof Float64Array) || a.length !== this.defs.length) {
      throw new OptionError(
        `${this.name}: expected a Float64Array of ${this.defs.length} ${what} (${this.names.join(', ')})`,
      );
    }
  }
}

function isSample(x: unknown): x is WorldSample {
  return typeof x === 'object' && x !== null && (x as WorldSample).values instanceof Float64Array;
}

/** Short numeric form for messages: up to 6 significant digits, no trailing zeros. */
function fmt(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(6))) : String(v);
}
