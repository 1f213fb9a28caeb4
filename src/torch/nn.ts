/**
 * Neural-network modules in the manner of PyTorch's nn: a Module holds named parameters,
 * buffers and child modules; dotted names (`encoder.conv1.weight`) are the state-dict and
 * safetensors keys. A layer is a typed options record with defaults plus a constructor.
 *
 * @example
 *   const net = new Sequential([new Linear(4, 16), new LeakyReLU(0.2), new Linear(16, 1)]);
 *   const y = net.forward(torch.randn([8, 4]));  // [8, 1]
 */
import { CheckpointError, OptionError } from '../errors.ts';
import { listSome } from '../options.ts';
import {
  batchNorm,
  type Conv2dOptions,
  conv2d,
  convTranspose2d,
  type Device,
  empty,
  keep,
  layerNorm,
  linear,
  noGrad,
  ones,
  scope,
  type Tensor,
  zeros,
} from './tensor.ts';

// ---- init -------------------------------------------------------------------------------------

/** (fanIn, fanOut) of a weight, as PyTorch computes them. */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  const s = t.shape;
  if (s.length < 2) throw new OptionError(`init: fan needs a weight of rank >= 2, got [${s.join(', ')}]`);
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: s[1] * receptive, fanOut: s[0] * receptive };
}

export type Nonlinearity = 'linear' | 'relu' | 'leaky_relu' | 'tanh' | 'sigmoid';

/** Recommended gain for a nonlinearity (torch.nn.init.calculate_gain). */
export function calculateGain(nl: Nonlinearity, param = 0.01): number {
  switch (nl) {
    case 'linear':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu':
      return Math.sqrt(2 / (1 + param * param));
  }
}

/** Weight initializers; each fills t in place without recording gradients and returns it. */
export const init = {
  uniform_: (t: Tensor, low = 0, high = 1) => noGrad(() => t.uniform_(low, high)),
  normal_: (t: Tensor, mean = 0, std = 1) => noGrad(() => t.normal_(mean, std)),
  constant_: (t: Tensor, v: number) => noGrad(() => t.fill_(v)),
  zeros_: (t: Tensor) => noGrad(() => t.zero_()),
  ones_: (t: Tensor) => noGrad(() => t.fill_(1)),
  xavierUniform_(t: Tensor, gain = 1): Tensor {
    const { fanIn, fanOut } = fans(t);
    const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
    return noGrad(() => t.uniform_(-bound, bound));
  },
  xavierNormal_(t: Tensor, gain = 1): Tensor {
    const { fanIn, fanOut } = fans(t);
    return noGrad(() => t.normal_(0, gain * Math.sqrt(2 / (fanIn + fanOut))));
  },
  kaimingUniform_(
    t: Tensor,
    o: { a?: number; mode?: 'fanIn' | 'fanOut'; nonlinearity?: Nonlinearity } = {},
  ): Tensor {
    const { fanIn, fanOut } = fans(t);
    const std =
      calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) /
      Math.sqrt(o.mode === 'fanOut' ? fanOut : fanIn);
    const bound = Math.sqrt(3) * std;
    return noGrad(() => t.uniform_(-bound, bound));
  },
  kaimingNormal_(
    t: Tensor,
    o: { a?: number; mode?: 'fanIn' | 'fanOut'; nonlinearity?: Nonlinearity } = {},
  ): Tensor {
    const { fanIn, fanOut } = fans(t);
    const std =
      calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) /
      Math.sqrt(o.mode === 'fanOut' ? fanOut : fanIn);
    return noGrad(() => t.normal_(0, std));
  },
  orthogonal_: (t: Tensor, gain = 1) => noGrad(() => t.orthogonal_(gain)),
};

// ---- Module -----------------------------------------------------------------------------------

export abstract class Module {
  /** Training mode (batch-norm statistics, spectral-norm power iteration). */
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffers = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  /** Registers a learnable tensor under name; it requires grad and survives scopes. */
  protected registerParameter(name: string, t: Tensor): Tensor {
    keep(t).requiresGrad_(true);
    this.params.set(name, t);
    return t;
  }

  /** Registers (or replaces, disposing the old one) a non-learnable state tensor. */
  protected registerBuffer(name: string, t: Tensor): Tensor {
    const old = this.buffers.get(name);
    if (old && old !== t) old.dispose();
    this.buffers.set(name, keep(t));
    return t;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  protected param(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new Error(`${this.constructor.name} has no parameter ${name}`);
    return t;
  }

  /** The parameter of this name, or undefined (optional ones such as a bias). */
  protected optionalParam(name: string): Tensor | undefined {
    return this.params.get(name);
  }

  protected buffer(name: string): Tensor {
    const t = this.buffers.get(name);
    if (!t) throw new Error(`${this.constructor.name} has no buffer ${name}`);
    return t;
  }

  /** [dotted name, tensor] for every parameter of this module and its children. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this.params) out.push([prefix + n, t]);
    for (const [n, c] of this.children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this.buffers) out.push([prefix + n, t]);
    for (const [n, c] of this.children) out.push(...c.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [n, c] of this.children) out.push(...c.namedModules(`${prefix}${n}.`));
    return out;
  }

  /** Number of learnable scalars. */
  numParameters(): number {
    return this.parameters().reduce((a, t) => a + t.numel, 0);
  }

  /** Parameters and buffers by dotted name (the live tensors, not copies). */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Copies values from a state dict into this module's tensors. With strict (default), missing
   * or unexpected keys are an error; shape mismatches always are.
   */
  loadStateDict(sd: Record<string, Tensor>, { strict = true }: { strict?: boolean } = {}): void {
    const own = this.stateDict();
    const missing = Object.keys(own).filter((k) => !(k in sd));
    const unexpected = Object.keys(sd).filter((k) => !(k in own));
    if (strict && (missing.length || unexpected.length)) {
      throw new CheckpointError(
        `state dict does not match ${this.constructor.name}:` +
          (missing.length ? ` missing ${listSome(missing)};` : '') +
          (unexpected.length ? ` unexpected ${listSome(unexpected)}` : ''),
      );
    }
    for (const [k, t] of Object.entries(own)) {
      const src = sd[k];
      if (!src) continue;
      if (src.shape.join() !== t.shape.join()) {
        throw new CheckpointError(
          `state dict entry ${k} has shape [${src.shape}] but the model expects [${t.shape}]`,
        );
      }
    }
    noGrad(() => {
      for (const [k, t] of Object.entries(own)) if (sd[k]) t.copy_(sd[k]);
    });
  }

  /** Sets training mode here and in every child; returns this. */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Turns gradient recording of every parameter on or off (off for a network held fixed in a step). */
  setTrainable(on: boolean): void {
    for (const p of this.parameters()) p.requiresGrad_(on);
  }

  /** Drops the gradients of every parameter. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /** Moves every parameter and buffer to a device (in place: the module keeps its names). */
  to(device: Device): this {
    for (const [, m] of this.namedModules()) {
      for (const [n, t] of m.params) {
        const moved = noGrad(() => t.to(device));
        t.dispose();
        m.params.set(n, keep(moved).requiresGrad_(true));
      }
      for (const [n, t] of m.buffers) {
        m.buffers.set(n, keep(t.to(device)));
        t.dispose();
      }
    }
    return this;
  }

  /** Frees every parameter and buffer, through each child's own dispose (which may free more). */
  dispose(): void {
    for (const t of [...this.params.values(), ...this.buffers.values()]) t.dispose();
    for (const c of this.children.values()) c.dispose();
  }
}

/** A module with one input and one output. */
export interface Layer {
  forward(x: Tensor): Tensor;
}

// ---- spectral normalization -------------------------------------------------------------------

/**
 * Spectral normalization (Miyato et al. 2018; PyTorch's torch.nn.utils.spectral_norm): the
 * weight is divided by its largest singular value, estimated by one power-iteration step per
 * training forward. Names follow PyTorch: parameter `weight_orig`, buffers `weight_u`, `weight_v`.
 */
class SpectralWeight {
  constructor(
    private readonly owner: {
      param(n: string): Tensor;
      buffer(n: string): Tensor;
      setBuffer(n: string, t: Tensor): void;
    },
    /** The weight dimension that indexes outputs (0 for Linear/Conv2d, 1 for ConvTranspose2d). */
    private readonly outDim: number,
    private readonly eps = 1e-12,
  ) {}

  static init(w: Tensor, outDim: number): { u: Tensor; v: Tensor } {
    return noGrad(() =>
      scope(() => {
        const mat = SpectralWeight.matrix(w, outDim);
        const u = normalize(empty([mat.shape[0]]).normal_());
        const v = normalize(empty([mat.shape[1]]).normal_());
        return { u, v };
      }),
    );
  }

  static matrix(w: Tensor, outDim: number): Tensor {
    const perm = outDim === 0 ? w : w.transpose(0, outDim);
    return perm.reshape([perm.shape[0], -1]);
  }

  /** The normalized weight; updates u, v in training mode. */
  weight(training: boolean): Tensor {
    const w = this.owner.param('weight_orig');
    const mat = SpectralWeight.matrix(w, this.outDim); // [out, in*k*k]
    if (training) {
      const [u, v] = noGrad(() =>
        scope(() => {
          const v = normalize(mat.t().matmul(this.owner.buffer('weight_u')), this.eps);
          const u = normalize(mat.matmul(v), this.eps);
          return [u, v];
        }),
      );
      this.owner.setBuffer('weight_u', u);
      this.owner.setBuffer('weight_v', v);
    }
    const u = this.owner.buffer('weight_u');
    const v = this.owner.buffer('weight_v');
    const sigma = u.matmul(mat.matmul(v)); // scalar, differentiable in w
    return w.div(sigma);
  }
}

function normalize(x: Tensor, eps = 1e-12): Tensor {
  return x.div(x.norm().clamp(eps));
}

/** Base for layers with a `weight` that may be spectrally normalized. */
abstract class WeightedLayer extends Module implements Layer {
  private sn: SpectralWeight | undefined;

  protected initWeight(w: Tensor, spectral: boolean, outDim: number): void {
    if (!spectral) {
      this.registerParameter('weight', w);
      return;
    }
    this.registerParameter('weight_orig', w);
    const { u, v } = SpectralWeight.init(w, outDim);
    this.registerBuffer('weight_u', u);
    this.registerBuffer('weight_v', v);
    this.sn = new SpectralWeight(
      {
        param: (n) => this.param(n),
        buffer: (n) => this.buffer(n),
        setBuffer: (n, t) => this.registerBuffer(n, t),
      },
      outDim,
    );
  }

  /** The weight to use in forward (spectrally normalized when configured). */
  protected effectiveWeight(): Tensor {
    return this.sn ? this.sn.weight(this.training) : this.param('weight');
  }

  protected optionalBias(): Tensor | undefined {
    return this.optionalParam('bias');
  }

  abstract forward(x: Tensor): Tensor;
}

// ---- layers -----------------------------------------------------------------------------------

export interface LinearOptions {
  /** default true */
  bias?: boolean;
  /** Divide the weight by its spectral norm (default false). */
  spectralNorm?: boolean;
}

/** y = x W^T + b. x [..., inFeatures] -> [..., outFeatures]. PyTorch's default init. */
export class Linear extends WeightedLayer {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    o: LinearOptions = {},
  ) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.initWeight(empty([outFeatures, inFeatures]).uniform_(-bound, bound), o.spectralNorm ?? false, 0);
    if (o.bias ?? true) this.registerParameter('bias', empty([outFeatures]).uniform_(-bound, bound));
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.dim - 1] !== this.inFeatures) {
      throw new OptionError(
        `Linear: input must end in ${this.inFeatures} features, got [${x.shape.join(', ')}]`,
      );
    }
    return linear(x, this.effectiveWeight(), this.optionalBias());
  }
}

export interface Conv2dLayerOptions extends Conv2dOptions {
  bias?: boolean;
  spectralNorm?: boolean;
}

/** 2-D convolution layer. [B, inChannels, H, W] -> [B, outChannels, H', W']. */
export class Conv2d extends WeightedLayer {
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    readonly options: Conv2dLayerOptions = {},
  ) {
    super();
    const groups = options.groups ?? 1;
    const bound = 1 / Math.sqrt((inChannels / groups) * kernel * kernel);
    const w = empty([outChannels, inChannels / groups, kernel, kernel]).uniform_(-bound, bound);
    this.initWeight(w, options.spectralNorm ?? false, 0);
    if (options.bias ?? true) this.registerParameter('bias', empty([outChannels]).uniform_(-bound, bound));
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.effectiveWeight(), this.optionalBias(), this.options);
  }
}

export interface ConvTranspose2dLayerOptions extends Conv2dLayerOptions {
  outputPadding?: number;
}

/** Transposed 2-D convolution layer (weight [inChannels, outChannels/groups, k, k]). */
export class ConvTranspose2d extends WeightedLayer {
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    readonly options: ConvTranspose2dLayerOptions = {},
  ) {
    super();
    const groups = options.groups ?? 1;
    const bound = 1 / Math.sqrt((outChannels / groups) * kernel * kernel);
    const w = empty([inChannels, outChannels / groups, kernel, kernel]).uniform_(-bound, bound);
    this.initWeight(w, options.spectralNorm ?? false, 1);
    if (options.bias ?? true) this.registerParameter('bias', empty([outChannels]).uniform_(-bound, bound));
  }

  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.effectiveWeight(), this.optionalBias(), this.options);
  }
}

export interface BatchNormLayerOptions {
  eps?: number;
  momentum?: number;
  /** learnable scale and shift (default true) */
  affine?: boolean;
}

class BatchNormBase extends Module implements Layer {
  constructor(
    readonly numFeatures: number,
    private readonly rank: number,
    readonly options: BatchNormLayerOptions = {},
  ) {
    super();
    if (options.affine ?? true) {
      this.registerParameter('weight', ones([numFeatures]));
      this.registerParameter('bias', zeros([numFeatures]));
    }
    this.registerBuffer('running_mean', zeros([numFeatures]));
    this.registerBuffer('running_var', ones([numFeatures]));
  }

  forward(x: Tensor): Tensor {
    if (x.dim !== this.rank && !(this.rank === 2 && x.dim === 3)) {
      throw new OptionError(
        `${this.constructor.name}: input must be rank ${this.rank}, got [${x.shape.join(', ')}]`,
      );
    }
    const affine = this.options.affine ?? true;
    return batchNorm(x, {
      weight: affine ? this.param('weight') : undefined,
      bias: affine ? this.param('bias') : undefined,
      runningMean: this.buffer('running_mean'),
      runningVar: this.buffer('running_var'),
      training: this.training,
      momentum: this.options.momentum ?? 0.1,
      eps: this.options.eps ?? 1e-5,
    });
  }
}

/** Batch norm over [B, C] (or [B, C, L]). */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, o: BatchNormLayerOptions = {}) {
    super(numFeatures, 2, o);
  }
}

/** Batch norm over [B, C, H, W]. */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, o: BatchNormLayerOptions = {}) {
    super(numFeatures, 4, o);
  }
}

/** Layer norm over the trailing dims. */
export class LayerNorm extends Module implements Layer {
  constructor(
    readonly normalizedShape: number[],
    readonly eps = 1e-5,
  ) {
    super();
    this.registerParameter('weight', ones(normalizedShape));
    this.registerParameter('bias', zeros(normalizedShape));
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, {
      weight: this.param('weight'),
      bias: this.param('bias'),
      eps: this.eps,
    });
  }
}

/** Layers applied in order; children are named 0, 1, 2, ... as in PyTorch. */
export class Sequential extends Module implements Layer {
  readonly layers: (Layer & Module)[];
  constructor(layers: (Layer & Module)[]) {
    super();
    this.layers = layers;
    layers.forEach((l, i) => this.registerModule(String(i), l));
  }
  forward(x: Tensor): Tensor {
    let h = x;
    for (const l of this.layers) h = l.forward(h);
    return h;
  }
}

/** A parameter-free layer from a function (activations, reshapes). */
export class Lambda extends Module implements Layer {
  constructor(
    readonly fn: (x: Tensor) => Tensor,
    readonly label = 'Lambda',
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}

export class ReLU extends Lambda {
  constructor() {
    super((x) => x.relu(), 'ReLU');
  }
}
export class LeakyReLU extends Lambda {
  constructor(slope = 0.01) {
    super((x) => x.leakyRelu(slope), 'LeakyReLU');
  }
}
export class Tanh extends Lambda {
  constructor() {
    super((x) => x.tanh(), 'Tanh');
  }
}
export class Sigmoid extends Lambda {
  constructor() {
    super((x) => x.sigmoid(), 'Sigmoid');
  }
}
export class Flatten extends Lambda {
  constructor() {
    super((x) => x.flatten(1), 'Flatten');
  }
}
