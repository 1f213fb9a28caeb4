/**
 * Tensor: one libtorch tensor owned through one native handle.
 *
 * Memory is released deterministically: `t.dispose()`, or `scope(fn)`, which frees every
 * tensor created inside fn except those it returns or marks with `keep()`. A
 * FinalizationRegistry frees forgotten tensors as a backstop. The native bytes of tensors that
 * only a finalizer might free (created outside any scope, kept, or returned from the outermost
 * scope) are reported to V8 so its garbage collector feels them; a scope's temporaries are not,
 * since reporting every activation made V8 run full collections several times per step.
 *
 * @example
 *   const y = scope(() => torch.randn([2, 3]).mul(2).add(1).sum());  // intermediates freed
 *   console.log(y.item());
 */
import { OptionError } from '../errors.ts';
import { expectOneOf } from '../options.ts';
import {
  DTYPE_CODES,
  DTYPES,
  type DType,
  native as N,
  REDUCTION_NAMES,
  REDUCTIONS,
  type Reduction,
} from './native.ts';

export { DTYPES, type DType, type Reduction } from './native.ts';

export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
export type TypedArray = Float32Array | Float64Array | BigInt64Array | Uint8Array | Int32Array;

const DTYPE_NAMES: DType[] = [];
for (const [name, code] of Object.entries(DTYPE_CODES)) DTYPE_NAMES[code] = name as DType;

// ---- memory -----------------------------------------------------------------------------------

const registry = new FinalizationRegistry<number>((handle) => N.dispose(handle));
const scopes: Tensor[][] = [];

function wrap(handle: number): Tensor {
  return new Tensor(handle);
}

/** Runs fn; disposes every tensor created inside it except the ones it returns or keeps. */
export function scope<T>(fn: () => T): T {
  const frame: Tensor[] = [];
  scopes.push(frame);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of frame) if (!t.kept) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise)
    throw new OptionError('scope: fn must be synchronous (it returned a Promise)');
  const returned = new Set<Tensor>();
  collectTensors(result, returned, 0);
  const outer = scopes[scopes.length - 1];
  for (const t of frame) {
    if (returned.has(t)) {
      if (outer) outer.push(t);
      else N.track_external(t.handle);
    } else if (!t.kept) t.dispose();
  }
  return result;
}

function collectTensors(value: unknown, out: Set<Tensor>, depth: number): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if (value instanceof Tensor) out.add(value);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, out, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collectTensors(v, out, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype)
    for (const v of Object.values(value)) collectTensors(v, out, depth + 1);
}

/** Marks a tensor so no enclosing scope disposes it; returns it. */
export function keep<T extends Tensor>(t: T): T {
  if (!t.kept) N.track_external(t.handle);
  t.kept = true;
  return t;
}

/** Number of tensors alive in the native table of this thread (for leak tests). */
export function liveTensors(): number {
  return N.live_count();
}

/** Runs fn with autograd recording on or off, restoring the previous mode after. */
function withGradEnabled<T>(on: boolean, fn: () => T): T {
  const prev = N.set_grad_enabled(on);
  try {
    return fn();
  } finally {
    N.set_grad_enabled(prev);
  }
}

/** Runs fn with autograd recording off (like torch.no_grad()). */
export function noGrad<T>(fn: () => T): T {
  return withGradEnabled(false, fn);
}

/** Runs fn with autograd recording on, also inside noGrad (like torch.enable_grad()). */
export function enableGrad<T>(fn: () => T): T {
  return withGradEnabled(true, fn);
}

// ---- argument helpers -------------------------------------------------------------------------

function pair(v: number | readonly number[], name: string, op: string): number[] {
  if (typeof v === 'number') return [v, v];
  if (v.length !== 2)
    throw new OptionError(`${op}: ${name} must be a number or [h, w], got [${v.join(', ')}]`);
  return [v[0], v[1]];
}

function fmtShape(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

function expectRank(t: Tensor, rank: number, what: string, op: string, layout: string): void {
  if (t.dim !== rank)
    throw new OptionError(`${op}: ${what} must be rank ${rank} ${layout}, got ${fmtShape(t.shape)}`);
}

function dtypeCode(dtype: DType | undefined, fallback: DType = 'float32'): number {
  return DTYPE_CODES[expectOneOf(dtype ?? fallback, DTYPES, 'dtype')];
}

function reductionCode(r: Reduction | undefined): number {
  return REDUCTIONS[expectOneOf(r ?? 'mean', REDUCTION_NAMES, 'reduction')];
}

export interface CreateOptions {
  /** default float32 */
  dtype?: DType;
  /** default: the default device (see setDefaultDevice), 'cpu' unless changed */
  device?: Device;
}

// ---- the default device -----------------------------------------------------------------------

/** Where creation functions put tensors when no device is named; undefined means the CPU. */
let defaultDeviceArg: Device | undefined;

/** Checks a device name ('cpu', 'cuda', 'cuda:N') against what this libtorch can use. */
export function checkDevice(name: string): Device {
  const m = /^(cpu|cuda)(?::(\d+))?$/.exec(name);
  if (!m || (m[1] === 'cpu' && m[2] !== undefined))
    throw new OptionError(`Expected cpu, cuda or cuda:N for device but received '${name}'`);
  if (m[1] === 'cuda') {
    const count = N.cuda_device_count();
    if (count === 0)
      throw new OptionError(
        `device '${name}': CUDA is not available (libtorch ${N.version()} was built without CUDA, or no GPU is visible); use --device cpu`,
      );
    if (m[2] !== undefined && Number(m[2]) >= count)
      throw new OptionError(`device '${name}': there ${count === 1 ? 'is 1 GPU' : `are ${count} GPUs`}`);
  }
  return name as Device;
}

/**
 * Sets the device that creation functions (zeros, randn, tensor, ...) use when none is named,
 * as PyTorch's torch.set_default_device does: modules, optimizer states and data batches
 * created afterwards live there. Returns the previous default.
 */
export function setDefaultDevice(device: Device): Device {
  const prev = getDefaultDevice();
  const d = checkDevice(device);
  defaultDeviceArg = d === 'cpu' ? undefined : d;
  return prev;
}

export function getDefaultDevice(): Device {
  return defaultDeviceArg ?? 'cpu';
}

/** Runs fn with another default device, then restores the previous one. */
export function withDefaultDevice<T>(device: Device, fn: () => T): T {
  const prev = setDefaultDevice(device);
  try {
    return fn();
  } finally {
    setDefaultDevice(prev);
  }
}

// ---- the Tensor class -------------------------------------------------------------------------

export class Tensor {
  private h: number;
  private cachedShape: number[] | undefined;
  /** When true, no scope disposes this tensor (see keep()). */
  kept = false;

  /** Wraps a native handle; use the factory functions in `torch` instead. */
  constructor(handle: number) {
    this.h = handle;
    registry.register(this, handle, this);
    const frame = scopes[scopes.length - 1];
    if (frame) frame.push(this);
    else N.track_external(handle);
  }

  /** The native handle; throws once disposed. */
  get handle(): number {
    if (this.h < 0) throw new Error('tensor is disposed');
    return this.h;
  }

  get isDisposed(): boolean {
    return this.h < 0;
  }

  /** Frees the native tensor now. Idempotent. */
  dispose(): void {
    if (this.h < 0) return;
    registry.unregister(this);
    N.dispose(this.h);
    this.h = -1;
  }

  // -- introspection
  get shape(): number[] {
    this.cachedShape ??= N.shape(this.handle);
    return this.cachedShape;
  }
  get dim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  get dtype(): DType {
    return DTYPE_NAMES[N.dtype(this.handle)];
  }
  get device(): string {
    return N.device(this.handle);
  }
  size(dim: number): number {
    const s = this.shape;
    const d = dim < 0 ? s.length + dim : dim;
    if (d < 0 || d >= s.length)
      throw new OptionError(`size: dim ${dim} out of range for shape ${fmtShape(s)}`);
    return s[d];
  }
  /** The single value of a one-element tensor. */
  item(): number {
    return N.item(this.handle);
  }
  /** A copy of the values, flattened, as the matching typed array. */
  toArray(): TypedArray {
    return N.to_buffer(this.handle);
  }
  /** A copy of the values as a flat float32 array (converting if needed). */
  toFloat32Array(): Float32Array {
    if (this.dtype === 'float32') return N.to_buffer(this.handle) as Float32Array;
    return scope(() => this.to('float32').toArray() as Float32Array);
  }
  /** Values as plain numbers, flattened. */
  toNumbers(): number[] {
    const a = this.toArray();
    return a instanceof BigInt64Array ? Array.from(a, Number) : Array.from(a);
  }
  toString(): string {
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}, ${this.device})`;
  }

  // -- elementwise arithmetic; the other operand broadcasts, or is a number
  add(o: Tensor | number, alpha = 1): Tensor {
    return typeof o === 'number'
      ? wrap(N.add_s(this.handle, o * alpha))
      : wrap(N.add(this.handle, o.handle, alpha));
  }
  sub(o: Tensor | number, alpha = 1): Tensor {
    return typeof o === 'number'
      ? wrap(N.sub_s(this.handle, o * alpha))
      : wrap(N.sub(this.handle, o.handle, alpha));
  }
  /** o - this */
  rsub(o: number): Tensor {
    return wrap(N.rsub_s(this.handle, o));
  }
  mul(o: Tensor | number): Tensor {
    return typeof o === 'number' ? wrap(N.mul_s(this.handle, o)) : wrap(N.mul(this.handle, o.handle));
  }
  div(o: Tensor | number): Tensor {
    return typeof o === 'number' ? wrap(N.div_s(this.handle, o)) : wrap(N.div(this.handle, o.handle));
  }
  /** o / this */
  rdiv(o: number): Tensor {
    return wrap(N.rdiv_s(this.handle, o));
  }
  pow(o: Tensor | number): Tensor {
    return typeof o === 'number' ? wrap(N.pow_s(this.handle, o)) : wrap(N.pow(this.handle, o.handle));
  }
  maximum(o: Tensor): Tensor {
    return wrap(N.maximum(this.handle, o.handle));
  }
  minimum(o: Tensor): Tensor {
    return wrap(N.minimum(this.handle, o.handle));
  }
  neg(): Tensor {
    return wrap(N.neg(this.handle));
  }
  abs(): Tensor {
    return wrap(N.abs(this.handle));
  }
  sign(): Tensor {
    return wrap(N.sign(this.handle));
  }
  exp(): Tensor {
    return wrap(N.exp(this.handle));
  }
  log(): Tensor {
    return wrap(N.log(this.handle));
  }
  sqrt(): Tensor {
    return wrap(N.sqrt(this.handle));
  }
  rsqrt(): Tensor {
    return wrap(N.rsqrt(this.handle));
  }
  square(): Tensor {
    return wrap(N.square(this.handle));
  }
  reciprocal(): Tensor {
    return wrap(N.reciprocal(this.handle));
  }
  sin(): Tensor {
    return wrap(N.sin(this.handle));
  }
  cos(): Tensor {
    return wrap(N.cos(this.handle));
  }
  floor(): Tensor {
    return wrap(N.floor(this.handle));
  }
  round(): Tensor {
    return wrap(N.round(this.handle));
  }
  isfinite(): Tensor {
    return wrap(N.isfinite(this.handle));
  }
  clamp(min?: number, max?: number): Tensor {
    return wrap(N.clamp(this.handle, min, max));
  }
  maskedFill(mask: Tensor, value: number): Tensor {
    return wrap(N.masked_fill(this.handle, mask.handle, value));
  }

  // -- comparisons (bool results)
  eq(o: Tensor | number): Tensor {
    return typeof o === 'number' ? wrap(N.eq_s(this.handle, o)) : wrap(N.eq(this.handle, o.handle));
  }
  ne(o: Tensor | number): Tensor {
    return typeof o === 'number' ? wrap(N.ne_s(this.handle, o)) : wrap(N.ne(this.handle, o.handle));
  }
  lt(o: Tensor | number): Tensor {
    return typeof o === 'number' ? wrap(N.lt_s(this.handle, o)) : wrap(N.lt(this.handle, o.handle));
  }
  le(o: Tensor | number): Tensor {
    return typeof o === 'number' ? wrap(N.le_s(this.handle, o)) : wrap(N.le(this.handle, o.handle));
  }
  gt(o: Tensor | number): Tensor {
    return typeof o === 'number' ? wrap(N.gt_s(this.handle, o)) : wrap(N.gt(this.handle, o.handle));
  }
  ge(o: Tensor | number): Tensor {
    return typeof o === 'number' ? wrap(N.ge_s(this.handle, o)) : wrap(N.ge(this.handle, o.handle));
  }
  logicalAnd(o: Tensor): Tensor {
    return wrap(N.logical_and(this.handle, o.handle));
  }
  logicalOr(o: Tensor): Tensor {
    return wrap(N.logical_or(this.handle, o.handle));
  }
  logicalNot(): Tensor {
    return wrap(N.logical_not(this.handle));
  }

  // -- activations
  relu(): Tensor {
    return wrap(N.relu(this.handle));
  }
  leakyRelu(slope = 0.01): Tensor {
    return wrap(N.leaky_relu(this.handle, slope));
  }
  elu(alpha = 1): Tensor {
    return wrap(N.elu(this.handle, alpha));
  }
  gelu(): Tensor {
    return wrap(N.gelu(this.handle));
  }
  tanh(): Tensor {
    return wrap(N.tanh(this.handle));
  }
  sigmoid(): Tensor {
    return wrap(N.sigmoid(this.handle));
  }
  softplus(beta = 1, threshold = 20): Tensor {
    return wrap(N.softplus(this.handle, beta, threshold));
  }
  logSigmoid(): Tensor {
    return wrap(N.log_sigmoid(this.handle));
  }
  softmax(dim: number): Tensor {
    return wrap(N.softmax(this.handle, dim));
  }
  logSoftmax(dim: number): Tensor {
    return wrap(N.log_softmax(this.handle, dim));
  }

  // -- reductions: all elements, or along dims
  sum(dims?: number | number[], keepdim = false): Tensor {
    if (dims === undefined) return wrap(N.sum(this.handle));
    return wrap(N.sum_dim(this.handle, typeof dims === 'number' ? [dims] : dims, keepdim));
  }
  mean(dims?: number | number[], keepdim = false): Tensor {
    if (dims === undefined) return wrap(N.mean(this.handle));
    return wrap(N.mean_dim(this.handle, typeof dims === 'number' ? [dims] : dims, keepdim));
  }
  /** Variance along dims (unbiased by default, like PyTorch). */
  var(dims: number | number[], { unbiased = true, keepdim = false } = {}): Tensor {
    return wrap(N.var_dim(this.handle, typeof dims === 'number' ? [dims] : dims, unbiased, keepdim));
  }
  /** Maximum of all elements. */
  max(): Tensor {
    return wrap(N.max(this.handle));
  }
  /** Minimum of all elements. */
  min(): Tensor {
    return wrap(N.min(this.handle));
  }
  /** Maximum along dim: { values, indices }. */
  maxDim(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [v, i] = N.max_dim(this.handle, dim, keepdim);
    return { values: wrap(v), indices: wrap(i) };
  }
  /** Minimum along dim: { values, indices }. */
  minDim(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [v, i] = N.min_dim(this.handle, dim, keepdim);
    return { values: wrap(v), indices: wrap(i) };
  }
  argmax(dim: number, keepdim = false): Tensor {
    return wrap(N.argmax(this.handle, dim, keepdim));
  }
  logsumexp(dims: number | number[], keepdim = false): Tensor {
    return wrap(N.logsumexp(this.handle, typeof dims === 'number' ? [dims] : dims, keepdim));
  }
  /** Running sum along dim. */
  cumsum(dim: number): Tensor {
    return wrap(N.cumsum(this.handle, dim));
  }
  /** Frobenius / 2-norm of all elements. */
  norm(): Tensor {
    return wrap(N.norm(this.handle));
  }

  // -- linear algebra
  matmul(o: Tensor): Tensor {
    return wrap(N.matmul(this.handle, o.handle));
  }
  mm(o: Tensor): Tensor {
    return wrap(N.mm(this.handle, o.handle));
  }
  bmm(o: Tensor): Tensor {
    return wrap(N.bmm(this.handle, o.handle));
  }
  /** Transpose of a 2-D tensor. */
  t(): Tensor {
    expectRank(this, 2, 'input', 't', '[rows, cols]');
    return wrap(N.transpose(this.handle, 0, 1));
  }

  // -- shape
  reshape(shape: readonly number[]): Tensor {
    return wrap(N.reshape(this.handle, shape as number[]));
  }
  view(shape: readonly number[]): Tensor {
    return wrap(N.view(this.handle, shape as number[]));
  }
  permute(dims: readonly number[]): Tensor {
    return wrap(N.permute(this.handle, dims as number[]));
  }
  transpose(d0: number, d1: number): Tensor {
    return wrap(N.transpose(this.handle, d0, d1));
  }
  squeeze(dim: number): Tensor {
    return wrap(N.squeeze(this.handle, dim));
  }
  unsqueeze(dim: number): Tensor {
    return wrap(N.unsqueeze(this.handle, dim));
  }
  flatten(start = 0, end = -1): Tensor {
    return wrap(N.flatten(this.handle, start, end));
  }
  expand(shape: readonly number[]): Tensor {
    return wrap(N.expand(this.handle, shape as number[]));
  }
  repeat(reps: readonly number[]): Tensor {
    return wrap(N.repeat(this.handle, reps as number[]));
  }
  /** Elements start..end (exclusive) along dim, like t[..., start:end:step]. Negative indices count from the end. */
  slice(dim: number, start = 0, end = Number.MAX_SAFE_INTEGER, step = 1): Tensor {
    return wrap(N.slice(this.handle, dim, start, end, step));
  }
  /** Index `index` along dim, removing that dim. */
  select(dim: number, index: number): Tensor {
    return wrap(N.select(this.handle, dim, index));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return wrap(N.index_select(this.handle, dim, index.handle));
  }
  gather(dim: number, index: Tensor): Tensor {
    return wrap(N.gather(this.handle, dim, index.handle));
  }
  scatter(dim: number, index: Tensor, src: Tensor): Tensor {
    return wrap(N.scatter(this.handle, dim, index.handle, src.handle));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return wrap(N.scatter_add(this.handle, dim, index.handle, src.handle));
  }
  maskedSelect(mask: Tensor): Tensor {
    return wrap(N.masked_select(this.handle, mask.handle));
  }
  /** Splits into pieces of `size` (last may be smaller) or of the given sizes, along dim. */
  split(size: number | readonly number[], dim = 0): Tensor[] {
    let sizes: number[];
    if (typeof size === 'number') {
      const n = this.size(dim);
      sizes = [];
      for (let i = 0; i < n; i += size) sizes.push(Math.min(size, n - i));
    } else sizes = [...size];
    return N.split(this.handle, sizes, dim).map(wrap);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return N.chunk(this.handle, chunks, dim).map(wrap);
  }

  // -- copies, dtype, device
  detach(): Tensor {
    return wrap(N.detach(this.handle));
  }
  clone(): Tensor {
    return wrap(N.clone(this.handle));
  }
  contiguous(): Tensor {
    return wrap(N.contiguous(this.handle));
  }
  /** Converts to a dtype ('float32', ...) or moves to a device ('cpu', 'cuda', 'cuda:1'). */
  to(target: DType | Device): Tensor {
    if (target in DTYPE_CODES) return wrap(N.to_dtype(this.handle, DTYPE_CODES[target as DType]));
    if (target === 'cpu' || target.startsWith('cuda')) return wrap(N.to_device(this.handle, target));
    throw new OptionError(
      `to: expected a dtype (${Object.keys(DTYPE_CODES).join(', ')}) or a device (cpu, cuda[:N]) but received '${target}'`,
    );
  }

  // -- autograd
  get requiresGrad(): boolean {
    return N.requires_grad(this.handle);
  }
  /** Turns gradient tracking on or off for this (leaf) tensor; returns this. */
  requiresGrad_(on = true): this {
    N.requires_grad_(this.handle, on);
    return this;
  }
  /** The accumulated gradient, or undefined before any backward. A new handle each call. */
  get grad(): Tensor | undefined {
    return N.has_grad(this.handle) ? wrap(N.grad(this.handle)) : undefined;
  }
  /** Sets (or clears, with undefined) the gradient. */
  setGrad(g: Tensor | undefined): void {
    N.set_grad(this.handle, g?.handle);
  }
  /** Drops the accumulated gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    N.zero_grad(this.handle);
  }
  /** Backpropagates from this tensor (a scalar, or with the given output gradient). */
  backward(grad?: Tensor, { retainGraph }: { retainGraph?: boolean } = {}): void {
    N.backward(this.handle, grad?.handle, retainGraph);
  }
  /** Every gradient flowing into this tensor is multiplied by mask (0 keeps an entry fixed). */
  maskGrad(mask: Tensor): this {
    N.register_grad_mask(this.handle, mask.handle);
    return this;
  }

  // -- in place (return this)
  zero_(): this {
    N.zero_(this.handle);
    return this;
  }
  fill_(v: number): this {
    N.fill_(this.handle, v);
    return this;
  }
  copy_(src: Tensor): this {
    N.copy_(this.handle, src.handle);
    return this;
  }
  add_(o: Tensor, alpha = 1): this {
    N.add_(this.handle, o.handle, alpha);
    return this;
  }
  mul_(o: Tensor | number): this {
    if (typeof o === 'number') N.mul_s_(this.handle, o);
    else N.mul_(this.handle, o.handle);
    return this;
  }
  clamp_(min?: number, max?: number): this {
    N.clamp_(this.handle, min, max);
    return this;
  }
  normal_(mean = 0, std = 1): this {
    N.normal_(this.handle, mean, std);
    return this;
  }
  uniform_(low = 0, high = 1): this {
    N.uniform_(this.handle, low, high);
    return this;
  }
  /** Fills with a (semi-)orthogonal matrix times gain (Saxe et al. 2013). */
  orthogonal_(gain = 1): this {
    N.orthogonal_(this.handle, gain);
    return this;
  }
}

// ---- creation ---------------------------------------------------------------------------------

function checkShape(shape: readonly number[], op: string): number[] {
  for (const s of shape)
    if (!Number.isInteger(s) || s < 0)
      throw new OptionError(`${op}: shape must hold non-negative integers, got ${fmtShape(shape)}`);
  return shape as number[];
}

export function zeros(shape: readonly number[], o: CreateOptions = {}): Tensor {
  return wrap(N.zeros(checkShape(shape, 'zeros'), dtypeCode(o.dtype), o.device ?? defaultDeviceArg));
}
export function ones(shape: readonly number[], o: CreateOptions = {}): Tensor {
  return wrap(N.ones(checkShape(shape, 'ones'), dtypeCode(o.dtype), o.device ?? defaultDeviceArg));
}
export function empty(shape: readonly number[], o: CreateOptions = {}): Tensor {
  return wrap(N.empty(checkShape(shape, 'empty'), dtypeCode(o.dtype), o.device ?? defaultDeviceArg));
}
export function full(shape: readonly number[], value: number, o: CreateOptions = {}): Tensor {
  return wrap(N.full(checkShape(shape, 'full'), value, dtypeCode(o.dtype), o.device ?? defaultDeviceArg));
}
/** Standard normal samples from the global generator (see manualSeed). */
export function randn(shape: readonly number[], o: CreateOptions = {}): Tensor {
  return wrap(N.randn(checkShape(shape, 'randn'), dtypeCode(o.dtype), o.device ?? defaultDeviceArg));
}
/** Uniform [0, 1) samples. */
export function rand(shape: readonly number[], o: CreateOptions = {}): Tensor {
  return wrap(N.rand(checkShape(shape, 'rand'), dtypeCode(o.dtype), o.device ?? defaultDeviceArg));
}
/** Integers uniform in [low, high). */
export function randint(low: number, high: number, shape: readonly number[], o: CreateOptions = {}): Tensor {
  return wrap(
    N.randint(
      low,
      high,
      checkShape(shape, 'randint'),
      dtypeCode(o.dtype, 'int64'),
      o.device ?? defaultDeviceArg,
    ),
  );
}
/** A random permutation of 0..n-1 (int64). */
export function randperm(n: number, o: CreateOptions = {}): Tensor {
  return wrap(N.randperm(n, dtypeCode(o.dtype, 'int64'), o.device ?? defaultDeviceArg));
}
/** arange(end) or arange(start, end, step), float32 unless a dtype is given. */
export function arange(start: number, end?: number, step = 1, o: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  return wrap(N.arange(start, end, step, dtypeCode(o.dtype), o.device ?? defaultDeviceArg));
}
export function linspace(start: number, end: number, steps: number, o: CreateOptions = {}): Tensor {
  return wrap(N.linspace(start, end, steps, dtypeCode(o.dtype), o.device ?? defaultDeviceArg));
}
export function eye(n: number, o: CreateOptions = {}): Tensor {
  return wrap(N.eye(n, dtypeCode(o.dtype), o.device ?? defaultDeviceArg));
}
export function zerosLike(t: Tensor): Tensor {
  return wrap(N.zeros_like(t.handle));
}
export function onesLike(t: Tensor): Tensor {
  return wrap(N.ones_like(t.handle));
}
export function randnLike(t: Tensor): Tensor {
  return wrap(N.randn_like(t.handle));
}
/** Bernoulli samples with the given probabilities. */
export function bernoulli(p: Tensor): Tensor {
  return wrap(N.bernoulli(p.handle));
}

type Nested = number | boolean | readonly Nested[];

/**
 * A tensor from a typed array (with a shape) or from nested number arrays.
 * Float32Array -> float32, Float64Array -> float64, BigInt64Array -> int64, Int32Array -> int32,
 * Uint8Array -> uint8; nested arrays -> float32 unless dtype says otherwise. On a CUDA device
 * the values travel through pinned host memory with an asynchronous copy.
 * @example tensor([[1, 2], [3, 4]])  // shape [2, 2]
 */
export function tensor(
  data: TypedArray | Nested,
  o: { shape?: readonly number[]; dtype?: DType; device?: Device } = {},
): Tensor {
  const device = o.device ?? defaultDeviceArg;
  if (ArrayBuffer.isView(data)) {
    const arr = data as TypedArray;
    const natural: DType =
      arr instanceof Float32Array
        ? 'float32'
        : arr instanceof Float64Array
          ? 'float64'
          : arr instanceof BigInt64Array
            ? 'int64'
            : arr instanceof Int32Array
              ? 'int32'
              : 'uint8';
    const shape = o.shape ?? [arr.length];
    const t = wrap(N.from_buffer(arr, checkShape(shape, 'tensor'), DTYPE_CODES[natural], device));
    if (o.dtype && o.dtype !== natural) {
      const c = t.to(o.dtype);
      t.dispose();
      return c;
    }
    return t;
  }
  const shape: number[] = [];
  let probe: Nested = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0] as Nested;
  }
  const flat = (Array.isArray(data) ? (data as unknown[]).flat(Number.POSITIVE_INFINITY) : [data]) as (
    | number
    | boolean
  )[];
  const n = shape.reduce((a, b) => a * b, 1);
  if (flat.length !== n)
    throw new OptionError(
      `tensor: nested arrays are ragged (shape ${fmtShape(shape)} needs ${n} values, got ${flat.length})`,
    );
  const dtype = o.dtype ?? 'float32';
  const f64 = Float64Array.from(flat, Number);
  const t = wrap(N.from_buffer(f64, shape, DTYPE_CODES.float64, device));
  if (dtype === 'float64') return t;
  const c = t.to(dtype);
  t.dispose();
  return c;
}

// ---- free functions over several tensors ------------------------------------------------------

export function cat(list: readonly Tensor[], dim = 0): Tensor {
  if (list.length === 0) throw new OptionError('cat: needs at least one tensor');
  return wrap(
    N.cat(
      list.map((t) => t.handle),
      dim,
    ),
  );
}
export function stack(list: readonly Tensor[], dim = 0): Tensor {
  if (list.length === 0) throw new OptionError('stack: needs at least one tensor');
  return wrap(
    N.stack(
      list.map((t) => t.handle),
      dim,
    ),
  );
}
/** Elementwise cond ? a : b. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  return wrap(N.where(cond.handle, a.handle, b.handle));
}
/** Inverse of a square matrix (or a batch of them). */
export function inverse(a: Tensor): Tensor {
  return wrap(N.inverse(a.handle));
}
/** X with A X = B. */
export function solve(a: Tensor, b: Tensor): Tensor {
  return wrap(N.solve(a.handle, b.handle));
}
/** Matrix exponential (differentiable). */
export function matrixExp(a: Tensor): Tensor {
  return wrap(N.matrix_exp(a.handle));
}
/**
 * Eigen-decomposition of a symmetric matrix [..., n, n] (its lower triangle is read): eigenvalues
 * ascending, eigenvectors as the columns of `vectors`, so a = vectors diag(values) vectors^T.
 */
export function eigh(a: Tensor): { values: Tensor; vectors: Tensor } {
  const [values, vectors] = N.eigh(a.handle);
  return { values: wrap(values), vectors: wrap(vectors) };
}
/**
 * Reduced QR decomposition a = Q R of [..., m, n]: Q [..., m, k] with orthonormal columns and R
 * [..., k, n] upper triangular, k = min(m, n).
 */
export function qr(a: Tensor): { Q: Tensor; R: Tensor } {
  const [Q, R] = N.qr(a.handle);
  return { Q: wrap(Q), R: wrap(R) };
}
/** log |det(a)| of a square matrix (differentiable). */
export function logAbsDet(a: Tensor): Tensor {
  return wrap(N.logabsdet(a.handle));
}
export function trace(a: Tensor): Tensor {
  expectRank(a, 2, 'input', 'trace', '[n, n]');
  return wrap(N.trace(a.handle));
}

// ---- nn.functional ----------------------------------------------------------------------------

export interface Conv2dOptions {
  stride?: number | readonly number[];
  padding?: number | readonly number[];
  dilation?: number | readonly number[];
  groups?: number;
}

/** 2-D convolution. x [B, Cin, H, W], weight [Cout, Cin/groups, kH, kW], bias [Cout]. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, o: Conv2dOptions = {}): Tensor {
  expectRank(x, 4, 'input', 'conv2d', '[B, C, H, W]');
  expectRank(weight, 4, 'weight', 'conv2d', '[Cout, Cin/groups, kH, kW]');
  return wrap(
    N.conv2d(
      x.handle,
      weight.handle,
      bias?.handle,
      pair(o.stride ?? 1, 'stride', 'conv2d'),
      pair(o.padding ?? 0, 'padding', 'conv2d'),
      pair(o.dilation ?? 1, 'dilation', 'conv2d'),
      o.groups ?? 1,
    ),
  );
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: number | readonly number[];
}

/** Transposed 2-D convolution. x [B, Cin, H, W], weight [Cin, Cout/groups, kH, kW]. */
export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor,
  o: ConvTranspose2dOptions = {},
): Tensor {
  expectRank(x, 4, 'input', 'conv_transpose2d', '[B, C, H, W]');
  expectRank(weight, 4, 'weight', 'conv_transpose2d', '[Cin, Cout/groups, kH, kW]');
  return wrap(
    N.conv_transpose2d(
      x.handle,
      weight.handle,
      bias?.handle,
      pair(o.stride ?? 1, 'stride', 'conv_transpose2d'),
      pair(o.padding ?? 0, 'padding', 'conv_transpose2d'),
      pair(o.outputPadding ?? 0, 'outputPadding', 'conv_transpose2d'),
      o.groups ?? 1,
      pair(o.dilation ?? 1, 'dilation', 'conv_transpose2d'),
    ),
  );
}

/** x @ weight^T + bias. x [..., in], weight [out, in]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  return wrap(N.linear(x.handle, weight.handle, bias?.handle));
}

export interface BatchNormOptions {
  weight?: Tensor;
  bias?: Tensor;
  runningMean?: Tensor;
  runningVar?: Tensor;
  /** Use batch statistics and update the running ones (default true). */
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/** Batch normalization over dim 1 of [B, C] or [B, C, ...]. */
export function batchNorm(x: Tensor, o: BatchNormOptions = {}): Tensor {
  if (x.dim < 2)
    throw new OptionError(`batch_norm: input must be rank >= 2 [B, C, ...], got ${fmtShape(x.shape)}`);
  return wrap(
    N.batch_norm(
      x.handle,
      o.weight?.handle,
      o.bias?.handle,
      o.runningMean?.handle,
      o.runningVar?.handle,
      o.training ?? true,
      o.momentum ?? 0.1,
      o.eps ?? 1e-5,
    ),
  );
}

/** Layer normalization over the trailing `normalizedShape` dims. */
export function layerNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  o: { weight?: Tensor; bias?: Tensor; eps?: number } = {},
): Tensor {
  return wrap(
    N.layer_norm(x.handle, normalizedShape as number[], o.weight?.handle, o.bias?.handle, o.eps ?? 1e-5),
  );
}

export interface Pool2dOptions {
  stride?: number | readonly number[];
  padding?: number | readonly number[];
}

export function avgPool2d(x: Tensor, kernel: number | readonly number[], o: Pool2dOptions = {}): Tensor {
  expectRank(x, 4, 'input', 'avg_pool2d', '[B, C, H, W]');
  const k = pair(kernel, 'kernel', 'avg_pool2d');
  return wrap(
    N.avg_pool2d(
      x.handle,
      k,
      pair(o.stride ?? k, 'stride', 'avg_pool2d'),
      pair(o.padding ?? 0, 'padding', 'avg_pool2d'),
    ),
  );
}

export function maxPool2d(x: Tensor, kernel: number | readonly number[], o: Pool2dOptions = {}): Tensor {
  expectRank(x, 4, 'input', 'max_pool2d', '[B, C, H, W]');
  const k = pair(kernel, 'kernel', 'max_pool2d');
  return wrap(
    N.max_pool2d(
      x.handle,
      k,
      pair(o.stride ?? k, 'stride', 'max_pool2d'),
      pair(o.padding ?? 0, 'padding', 'max_pool2d'),
    ),
  );
}

export function adaptiveAvgPool2d(x: Tensor, size: number | readonly number[]): Tensor {
  expectRank(x, 4, 'input', 'adaptive_avg_pool2d', '[B, C, H, W]');
  return wrap(N.adaptive_avg_pool2d(x.handle, pair(size, 'size', 'adaptive_avg_pool2d')));
}

const INTERPOLATE_MODES = ['nearest', 'bilinear'] as const;

export interface InterpolateOptions {
  size?: number | readonly number[];
  scaleFactor?: number;
  /** default 'nearest' */
  mode?: (typeof INTERPOLATE_MODES)[number];
  alignCorners?: boolean;
}

/** Resizes [B, C, H, W] to a size or by a scale factor. */
export function interpolate(x: Tensor, o: InterpolateOptions): Tensor {
  expectRank(x, 4, 'input', 'interpolate', '[B, C, H, W]');
  let size: number[];
  if (o.size !== undefined) size = pair(o.size, 'size', 'interpolate');
  else if (o.scaleFactor !== undefined)
    size = [Math.floor(x.shape[2] * o.scaleFactor), Math.floor(x.shape[3] * o.scaleFactor)];
  else throw new OptionError('interpolate: give size or scaleFactor');
  const mode = expectOneOf(o.mode ?? 'nearest', INTERPOLATE_MODES, 'mode');
  if (mode === 'nearest') return wrap(N.upsample_nearest2d(x.handle, size));
  return wrap(N.upsample_bilinear2d(x.handle, size, o.alignCorners ?? false));
}

/** Binary cross-entropy on logits (numerically stable). */
export function bceWithLogits(
  input: Tensor,
  target: Tensor,
  o: { weight?: Tensor; reduction?: Reduction } = {},
): Tensor {
  return wrap(N.bce_with_logits(input.handle, target.handle, o.weight?.handle, reductionCode(o.reduction)));
}
export function mseLoss(a: Tensor, b: Tensor, o: { reduction?: Reduction } = {}): Tensor {
  return wrap(N.mse_loss(a.handle, b.handle, reductionCode(o.reduction)));
}
export function l1Loss(a: Tensor, b: Tensor, o: { reduction?: Reduction } = {}): Tensor {
  return wrap(N.l1_loss(a.handle, b.handle, reductionCode(o.reduction)));
}
export function dropout(x: Tensor, p: number, training: boolean): Tensor {
  return wrap(N.dropout(x.handle, p, training));
}
