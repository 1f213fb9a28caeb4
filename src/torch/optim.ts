/**
 * Optimizers over parameter groups, each group with its own hyper-parameters (PyTorch's
 * param_groups). The update of one parameter is one native call (adam_step_, sgd_step_).
 *
 * @example
 *   const opt = new Adam([{ params: g.parameters(), lr: 5e-5 }, { params: [A], lr: 1e-3 }], { betas: [0, 0.999] });
 *   loss.backward(); opt.step(); opt.zeroGrad();
 */
import { CheckpointError, OptionError } from '../errors.ts';
import { native as N } from './native.ts';
import { keep, type Tensor, zerosLike } from './tensor.ts';

export interface AdamOptions {
  /** default 1e-3 */
  lr?: number;
  /** default [0.9, 0.999] */
  betas?: [number, number];
  /** default 1e-8 */
  eps?: number;
  /** default 0 (Adam: L2 added to the gradient; AdamW: decoupled decay) */
  weightDecay?: number;
}

export interface ParamGroup<O> {
  params: Tensor[];
  /** this group's options, over the optimizer's defaults */
  options: Required<O>;
}

/** Serializable optimizer state: tensors by name plus JSON-able metadata. */
export interface OptimizerState {
  tensors: Record<string, Tensor>;
  meta: { kind: string; groups: unknown[]; steps: number[][] };
}

type GroupSpec<O> = Tensor[] | (O & { params: Tensor[] })[];

function positive(name: string, v: number, allowZero = false): void {
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0))
    throw new OptionError(
      `Expected a ${allowZero ? 'non-negative' : 'positive'} number for ${name} but received ${v}`,
    );
}

abstract class Optimizer<O extends object> {
  readonly groups: ParamGroup<Required<O>>[];

  constructor(spec: GroupSpec<O>, defaults: Required<O>) {
    const specs =
      spec.length && !('params' in (spec[0] as object))
        ? [{ params: spec as Tensor[] } as O & { params: Tensor[] }]
        : (spec as (O & { params: Tensor[] })[]);
    this.groups = specs.map(({ params, ...rest }) => {
      const options = { ...defaults, ...(rest as Partial<O>) } as Required<O>;
      this.validate(options);
      return { params, options };
    });
  }

  protected abstract validate(o: Required<O>): void;
  abstract step(): void;
  /** Frees the optimizer's state tensors (moments, momentum buffers); it starts afresh if used again. */
  abstract dispose(): void;
  abstract stateDict(): OptimizerState;
  abstract loadStateDict(s: OptimizerState): void;

  /** Drops every parameter's gradient (set to none, as PyTorch does by default). */
  zeroGrad(): void {
    for (const g of this.groups) for (const p of g.params) p.zeroGrad();
  }

  /** Sets the learning rate of every group (or of group i). */
  setLr(lr: number, group?: number): void {
    positive('lr', lr);
    for (const [i, g] of this.groups.entries())
      if (group === undefined || group === i) (g.options as unknown as { lr: number }).lr = lr;
  }

  protected checkLayout(s: OptimizerState, kind: string): void {
    if (s.meta.kind !== kind) throw new CheckpointError(`optimizer state is for ${s.meta.kind}, not ${kind}`);
    const want = this.groups.map((g) => g.params.length).join(',');
    const got = s.meta.steps.map((x) => x.length).join(',');
    if (want !== got)
      throw new CheckpointError(
        `optimizer state has groups of sizes [${got}] but this optimizer has [${want}]`,
      );
  }
}

/** Adam (Kingma & Ba 2015), or AdamW with decoupled weight decay (Loshchilov & Hutter 2019). */
export class Adam extends Optimizer<AdamOptions> {
  private readonly m: (Tensor | undefined)[][];
  private readonly v: (Tensor | undefined)[][];
  private readonly steps: number[][];
  protected readonly decoupled: boolean = false;

  constructor(params: GroupSpec<AdamOptions>, defaults: AdamOptions = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, ...defaults });
    this.m = this.groups.map((g) => g.params.map(() => undefined));
    this.v = this.groups.map((g) => g.params.map(() => undefined));
    this.steps = this.groups.map((g) => g.params.map(() => 0));
  }

  protected validate(o: Required<AdamOptions>): void {
    positive('lr', o.lr);
    positive('eps', o.eps);
    positive('weightDecay', o.weightDecay, true);
    for (const b of o.betas)
      if (!(b >= 0 && b < 1)) throw new OptionError(`Expected betas in [0, 1) but received [${o.betas}]`);
  }

  step(): void {
    this.groups.forEach((g, gi) => {
      const { lr, betas, eps, weightDecay } = g.options;
      g.params.forEach((p, pi) => {
        if (!N.has_grad(p.handle)) return;
        const m = (this.m[gi][pi] ??= keep(zerosLike(p)));
        const v = (this.v[gi][pi] ??= keep(zerosLike(p)));
        const step = ++this.steps[gi][pi];
        const grad = N.grad(p.handle);
        try {
          N.adam_step_(
            p.handle,
            grad,
            m.handle,
            v.handle,
            step,
            lr,
            betas[0],
            betas[1],
            eps,
            weightDecay,
            this.decoupled,
          );
        } finally {
          N.dispose(grad);
        }
      });
    });
  }

  dispose(): void {
    for (const store of [this.m, this.v])
      for (const row of store)
        row.forEach((t, pi) => {
          t?.dispose();
          row[pi] = undefined;
        });
    for (const row of this.steps) row.fill(0);
  }

  stateDict(): OptimizerState {
    const tensors: Record<string, Tensor> = {};
    this.groups.forEach((g, gi) =>
      g.params.forEach((_, pi) => {
        const m = this.m[gi][pi];
        const v = this.v[gi][pi];
        if (m && v) {
          tensors[`${gi}.${pi}.exp_avg`] = m;
          tensors[`${gi}.${pi}.exp_avg_sq`] = v;
        }
      }),
    );
    return {
      tensors,
      meta: {
        kind: this.constructor.name,
        groups: this.groups.map((g) => g.options),
        steps: this.steps.map((s) => [...s]),
      },
    };
  }

  loadStateDict(s: OptimizerState): void {
    this.checkLayout(s, this.constructor.name);
    this.groups.forEach((g, gi) => {
      Object.assign(g.options, s.meta.groups[gi] as object);
      g.params.forEach((p, pi) => {
        this.steps[gi][pi] = s.meta.steps[gi][pi];
        for (const [key, store] of [
          ['exp_avg', this.m],
          ['exp_avg_sq', this.v],
        ] as const) {
          const src = s.tensors[`${gi}.${pi}.${key}`];
          store[gi][pi]?.dispose();
          store[gi][pi] = undefined;
          if (!src) continue;
          if (src.shape.join() !== p.shape.join())
            throw new CheckpointError(
              `optimizer state ${gi}.${pi}.${key} has shape [${src.shape}], parameter has [${p.shape}]`,
            );
          store[gi][pi] = keep(src.clone());
        }
      });
    });
  }
}

/** AdamW: Adam with decoupled weight decay (default 0.01). */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;
  constructor(params: GroupSpec<AdamOptions>, defaults: AdamOptions = {}) {
    super(params, { weightDecay: 0.01, ...defaults });
  }
}

export interface SGDOptions {
  lr?: number;
  momentum?: number;
  weightDecay?: number;
}

/** Stochastic gradient descent with optional momentum (PyTorch's formulation). */
export class SGD extends Optimizer<SGDOptions> {
  private readonly buf: (Tensor | undefined)[][];

  constructor(params: GroupSpec<SGDOptions>, defaults: SGDOptions = {}) {
    super(params, { lr: 1e-2, momentum: 0, weightDecay: 0, ...defaults });
    this.buf = this.groups.map((g) => g.params.map(() => undefined));
  }

  protected validate(o: Required<SGDOptions>): void {
    positive('lr', o.lr);
    positive('momentum', o.momentum, true);
    positive('weightDecay', o.weightDecay, true);
  }

  step(): void {
    this.groups.forEach((g, gi) => {
      const { lr, momentum, weightDecay } = g.options;
      g.params.forEach((p, pi) => {
        if (!N.has_grad(p.handle)) return;
        const grad = N.grad(p.handle);
        try {
          // a zero buffer makes the first step buf = g, as PyTorch's first step does
          const buf = momentum !== 0 ? (this.buf[gi][pi] ??= keep(zerosLike(p))) : undefined;
          N.sgd_step_(p.handle, grad, buf?.handle, lr, momentum, weightDecay);
        } finally {
          N.dispose(grad);
        }
      });
    });
  }

  dispose(): void {
    for (const row of this.buf)
      row.forEach((t, pi) => {
        t?.dispose();
        row[pi] = undefined;
      });
  }

  stateDict(): OptimizerState {
    const tensors: Record<string, Tensor> = {};
    this.groups.forEach((g, gi) =>
      g.params.forEach((_, pi) => {
        const b = this.buf[gi][pi];
        if (b) tensors[`${gi}.${pi}.momentum_buffer`] = b;
      }),
    );
    return {
      tensors,
      meta: {
        kind: 'SGD',
        groups: this.groups.map((g) => g.options),
        steps: this.groups.map((g) => g.params.map(() => 0)),
      },
    };
  }

  loadStateDict(s: OptimizerState): void {
    this.checkLayout(s, 'SGD');
    this.groups.forEach((g, gi) => {
      Object.assign(g.options, s.meta.groups[gi] as object);
      g.params.forEach((_, pi) => {
        this.buf[gi][pi]?.dispose();
        const src = s.tensors[`${gi}.${pi}.momentum_buffer`];
        this.buf[gi][pi] = src ? keep(src.clone()) : undefined;
      });
    });
  }
}
