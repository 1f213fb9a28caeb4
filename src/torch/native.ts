/**
 * Loads the native addon (build/Release/ccig.node) and describes its functions.
 * Only this file and native/ccig.cc know the handle-level protocol; everything else uses
 * the Tensor class. Tensor handles are integers into a per-thread table in C++.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeError, OutOfMemoryError } from '../errors.ts';

type H = number; // tensor handle
type Opt<T> = T | undefined;

/** dtype codes shared with native/ccig.cc (Args::dtype). */
export const DTYPE_CODES = { float32: 0, float64: 1, int64: 2, bool: 3, uint8: 4, int32: 5 } as const;
export type DType = keyof typeof DTYPE_CODES;
export const DTYPES = Object.keys(DTYPE_CODES) as DType[];

/** Reduction codes (at::Reduction). */
export const REDUCTIONS = { none: 0, mean: 1, sum: 2 } as const;
export type Reduction = keyof typeof REDUCTIONS;
export const REDUCTION_NAMES = Object.keys(REDUCTIONS) as Reduction[];

type Create = (shape: number[], dtype: number, device: Opt<string>) => H;
type Unary = (a: H) => H;
type Binary = (a: H, b: H) => H;
type WithScalar = (a: H, s: number) => H;

export interface Native {
  // creation
  zeros: Create;
  ones: Create;
  empty: Create;
  randn: Create;
  rand: Create;
  full(shape: number[], value: number, dtype: number, device: Opt<string>): H;
  randint(low: number, high: number, shape: number[], dtype: number, device: Opt<string>): H;
  randperm(n: number, dtype: number, device: Opt<string>): H;
  arange(start: number, end: number, step: number, dtype: number, device: Opt<string>): H;
  linspace(start: number, end: number, steps: number, dtype: number, device: Opt<string>): H;
  eye(n: number, dtype: number, device: Opt<string>): H;
  zeros_like: Unary;
  ones_like: Unary;
  randn_like: Unary;
  bernoulli: Unary;
  from_buffer(data: ArrayBufferView, shape: number[], dtype: number, device: Opt<string>): H;
  to_buffer(a: H): Float32Array | Float64Array | BigInt64Array | Uint8Array | Int32Array;
  // elementwise
  add(a: H, b: H, alpha?: number): H;
  sub(a: H, b: H, alpha?: number): H;
  mul: Binary;
  div: Binary;
  pow: Binary;
  maximum: Binary;
  minimum: Binary;
  add_s: WithScalar;
  sub_s: WithScalar;
  rsub_s: WithScalar;
  mul_s: WithScalar;
  div_s: WithScalar;
  rdiv_s: WithScalar;
  pow_s: WithScalar;
  eq: Binary;
  ne: Binary;
  lt: Binary;
  le: Binary;
  gt: Binary;
  ge: Binary;
  eq_s: WithScalar;
  ne_s: WithScalar;
  lt_s: WithScalar;
  le_s: WithScalar;
  gt_s: WithScalar;
  ge_s: WithScalar;
  logical_and: Binary;
  logical_or: Binary;
  logical_not: Unary;
  where(cond: H, a: H, b: H): H;
  clamp(a: H, min: Opt<number>, max: Opt<number>): H;
  masked_fill(a: H, mask: H, value: number): H;
  neg: Unary;
  abs: Unary;
  sign: Unary;
  exp: Unary;
  log: Unary;
  sqrt: Unary;
  rsqrt: Unary;
  square: Unary;
  reciprocal: Unary;
  sin: Unary;
  cos: Unary;
  floor: Unary;
  round: Unary;
  isfinite: Unary;
  // activations
  relu: Unary;
  leaky_relu: WithScalar;
  elu: WithScalar;
  gelu: Unary;
  tanh: Unary;
  sigmoid: Unary;
  softplus(a: H, beta: number, threshold: number): H;
  log_sigmoid: Unary;
  softmax(a: H, dim: number): H;
  log_softmax(a: H, dim: number): H;
  dropout(a: H, p: number, train: boolean): H;
  // reductions
  sum: Unary;
  mean: Unary;
  max: Unary;
  min: Unary;
  sum_dim(a: H, dims: number[], keepdim: boolean): H;
  mean_dim(a: H, dims: number[], keepdim: boolean): H;
  var_dim(a: H, dims: number[], unbiased: boolean, keepdim: boolean): H;
  argmax(a: H, dim: number, keepdim: boolean): H;
  logsumexp(a: H, dims: number[], keepdim: boolean): H;
  norm: Unary;
  cumsum(a: H, dim: number): H;
  max_dim(a: H, dim: number, keepdim: boolean): [H, H];
  min_dim(a: H, dim: number, keepdim: boolean): [H, H];
  // linear algebra
  matmul: Binary;
  mm: Binary;
  bmm: Binary;
  linear(x: H, w: H, b: Opt<H>): H;
  inverse: Unary;
  solve: Binary;
  matrix_exp: Unary;
  trace: Unary;
  logabsdet: Unary;
  eigh(a: H): [H, H];
  qr(a: H): [H, H];
  // shape
  reshape(a: H, shape: number[]): H;
  view(a: H, shape: number[]): H;
  permute(a: H, dims: number[]): H;
  transpose(a: H, d0: number, d1: number): H;
  squeeze(a: H, dim: number): H;
  unsqueeze(a: H, dim: number): H;
  flatten(a: H, start: number, end: number): H;
  expand(a: H, shape: number[]): H;
  repeat(a: H, reps: number[]): H;
  cat(list: H[], dim: number): H;
  stack(list: H[], dim: number): H;
  split(a: H, sizes: number[], dim: number): H[];
  chunk(a: H, chunks: number, dim: number): H[];
  slice(a: H, dim: number, start: number, end: number, step: number): H;
  select(a: H, dim: number, index: number): H;
  index_select(a: H, dim: number, index: H): H;
  gather(a: H, dim: number, index: H): H;
  scatter(a: H, dim: number, index: H, src: H): H;
  scatter_add(a: H, dim: number, index: H, src: H): H;
  masked_select(a: H, mask: H): H;
  // nn functional
  conv2d(x: H, w: H, b: Opt<H>, stride: number[], padding: number[], dilation: number[], groups: number): H;
  conv_transpose2d(
    x: H,
    w: H,
    b: Opt<H>,
    stride: number[],
    padding: number[],
    outputPadding: number[],
    groups: number,
    dilation: number[],
  ): H;
  batch_norm(
    x: H,
    weight: Opt<H>,
    bias: Opt<H>,
    runningMean: Opt<H>,
    runningVar: Opt<H>,
    training: boolean,
    momentum: number,
    eps: number,
  ): H;
  layer_norm(x: H, shape: number[], weight: Opt<H>, bias: Opt<H>, eps: number): H;
  avg_pool2d(x: H, kernel: number[], stride: number[], padding: number[]): H;
  max_pool2d(x: H, kernel: number[], stride: number[], padding: number[]): H;
  adaptive_avg_pool2d(x: H, size: number[]): H;
  upsample_nearest2d(x: H, size: number[]): H;
  upsample_bilinear2d(x: H, size: number[], alignCorners: boolean): H;
  bce_with_logits(input: H, target: H, weight: Opt<H>, reduction: number): H;
  mse_loss(a: H, b: H, reduction: number): H;
  l1_loss(a: H, b: H, reduction: number): H;
  // copies, dtype, device, autograd
  detach: Unary;
  clone: Unary;
  contiguous: Unary;
  to_dtype(a: H, dtype: number): H;
  to_device(a: H, device: string): H;
  alias: Unary;
  grad: Unary;
  has_grad(a: H): boolean;
  requires_grad(a: H): boolean;
  requires_grad_(a: H, on: boolean): void;
  zero_grad(a: H): void;
  set_grad(a: H, g: Opt<H>): void;
  backward(a: H, grad: Opt<H>, retainGraph: Opt<boolean>): void;
  register_grad_mask(a: H, mask: H): void;
  set_grad_enabled(on: boolean): boolean;
  // in place
  zero_(a: H): void;
  fill_(a: H, v: number): void;
  copy_(a: H, src: H): void;
  add_(a: H, b: H, alpha: number): void;
  mul_(a: H, b: H): void;
  mul_s_(a: H, s: number): void;
  clamp_(a: H, min: Opt<number>, max: Opt<number>): void;
  normal_(a: H, mean: number, std: number): void;
  uniform_(a: H, low: number, high: number): void;
  orthogonal_(a: H, gain: number): void;
  adam_step_(
    p: H,
    g: H,
    m: H,
    v: H,
    step: number,
    lr: number,
    b1: number,
    b2: number,
    eps: number,
    wd: number,
    decoupled: boolean,
  ): void;
  sgd_step_(p: H, g: H, buf: Opt<H>, lr: number, momentum: number, wd: number): void;
  // introspection and runtime
  shape(a: H): number[];
  dtype(a: H): number;
  device(a: H): string;
  item(a: H): number;
  dispose(a: H): void;
  live_count(): number;
  track_external(a: H): void;
  set_num_threads(n: number): void;
  get_num_threads(): number;
  manual_seed(seed: number): void;
  get_rng_state(device: Opt<string>): H;
  set_rng_state(state: H, device: Opt<string>): void;
  cuda_device_count(): number;
  cuda_devices(): { index: number; name: string; totalBytes: number }[] & { driver?: number };
  cuda_memory_used(): number;
  cuda_synchronize(): void;
  version(): string;
  config(): string;
  bench_native_add(a: H, b: H, n: number): number;
  /** "gloo", "gloo,nccl" or "" */
  dist_backends(): string;
  // present when dist_backends() is not empty
  dist_init?(
    backend: string,
    rank: number,
    worldSize: number,
    host: string,
    port: number,
    timeoutMs: number,
  ): void;
  dist_all_reduce?(tensors: H[], average: boolean): void;
  dist_broadcast?(tensors: H[], root: number): void;
  dist_barrier?(): void;
  dist_destroy?(): void;
  set_error_class(
    nativeError: new (message: string) => Error,
    outOfMemory: new (message: string) => Error,
  ): void;
}

function load(): Native {
  // libgomp's worker threads spin after each parallel region by default; on a 2-core machine
  // they starve OpenBLAS's threads and V8's, and convolutions ran 40x slower (measured: 4 vs
  // 196 GFLOPS). Sleeping waiters fix it. Read once by libgomp when the addon loads, so it is
  // set here, before; a value the user set wins.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
  const path = join(root, 'build/Release/ccig.node');
  if (!existsSync(path)) buildOnFirstUse(root, path);
  try {
    return createRequire(import.meta.url)(path) as Native;
  } catch (e) {
    const msg = (e as Error).message;
    throw new NativeError(`the ccig native addon failed to load: ${msg}

Possible solutions:
- libtorch or OpenBLAS missing at run time: sudo apt-get install -y libtorch-dev libopenblas0-pthread
- built against another libtorch or Node version: npm run build:native`);
  }
}

/**
 * Builds the addon the first time ccig is used where it was not built at install: npm 11 skips
 * a dependency's install script until the user approves it (`npm install-scripts approve ccig`),
 * so an installed ccig usually arrives without build/. The compiler's output goes to stderr, so
 * `--json` output on stdout stays clean. CCIG_NO_BUILD=1 turns this off.
 */
function buildOnFirstUse(root: string, path: string): void {
  const script = join(root, 'scripts/build-native.mjs');
  if (process.env.CCIG_NO_BUILD === '1' || !existsSync(script))
    throw new NativeError(`the ccig native addon is not built (${path} is missing).

Possible solutions:
- In a checkout: npm run build        (needs libtorch; see below)
- As a dependency: unset CCIG_NO_BUILD (ccig builds it on first use), or approve its install
  script (npm install-scripts approve ccig) and reinstall
- libtorch itself: sudo apt-get install -y libtorch-dev libopenblas0-pthread  (Debian/Ubuntu),
  or python3 -m pip install torch, or export LIBTORCH=/path/to/libtorch`);
  process.stderr.write(
    'ccig: the native addon is not built yet; building it now (once, about a minute)...\n',
  );
  const r = spawnSync(process.execPath, [script], { cwd: root, stdio: ['ignore', 2, 2] });
  if (r.status !== 0 || !existsSync(path))
    throw new NativeError(
      'building the ccig native addon failed (the reason is printed above); fix it and run again: ccig builds the addon on first use',
    );
  process.stderr.write(`ccig: built ${path}\n`);
}

export const native: Native = load();
native.set_error_class(NativeError, OutOfMemoryError);
// libtorch starts with one intra-op thread unless told otherwise.
native.set_num_threads(availableParallelism());
