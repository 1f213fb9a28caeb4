/**
 * The SCM prior over the m causal latents (docs/method.md section 1):
 *
 *   eps ~ N(0, I_m);  u = (I - A^T)^{-1} eps  (row form: u = eps (I - A)^{-1});  z_c = f(u)
 *
 * A[i][j] != 0 means i -> j. Structure modes: `given` (only the super-graph's entries learn; the
 * rest stay exactly 0 through a gradient mask), `learned` (all off-diagonal entries, with the
 * NOTEARS acyclicity h(A) = tr(exp(A o A)) - m under an augmented Lagrangian, plus L1),
 * `none` (A = 0). Mechanisms f: `linear` (positive scale, so invertible) or `nonlinear`
 * (monotone piecewise-linear with exact inverse).
 *
 * Interventions need no loop over a topological order: do(z_i = v) cuts i's incoming edges
 * (column i of A) and fixes eps_i = f_i^{-1}(v); solving u = eps (I - A_do)^{-1}, by m rounds of
 * propagation (`propagate`: exact on a DAG), reaches every path, however many hops (DEAR's
 * one-hop propagation is a bug).
 */
import { GraphError, OptionError } from '../errors.ts';
import { expectOneOf } from '../options.ts';
import * as torch from '../torch/index.ts';
import { nn, type Tensor } from '../torch/index.ts';
import { assertDag, EDGE_THRESHOLD, edges as listEdges } from './graph.ts';

export const STRUCTURE_MODES = ['given', 'learned', 'none'] as const;
export type StructureMode = (typeof STRUCTURE_MODES)[number];
export const MECHANISMS = ['linear', 'nonlinear'] as const;
export type Mechanism = (typeof MECHANISMS)[number];
/** How a node depends on its parents in u-space: linear (u A) or a small MLP per node (NOTEARS-MLP). */
export const PARENT_MODELS = ['linear', 'mlp'] as const;
export type ParentModel = (typeof PARENT_MODELS)[number];
/**
 * Largest |u - parents(u) - eps| that `solve` accepts, in units of max(1, max |u|): float32
 * rounding leaves about 1e-7 of that on a DAG, whose `propagate` is exact.
 */
const SOLVE_TOLERANCE = 1e-5;
/** Newton steps `solve` may take where weights with cycles leave a residual (a DAG needs none). */
const SOLVE_MAX_NEWTON = 20;
/** Parameters of the parent model: they learn at the adjacency's learning rate. */
export const STRUCTURE_PARAMS = ['A', 'W1', 'b1', 'W2', 'b2'];

export interface ScmOptions {
  /** factor names, in latent order */
  nodes: readonly string[];
  mode: StructureMode;
  /** super-graph edges [cause, effect] (mode `given`) */
  edges?: readonly (readonly [string, string])[];
  mechanism: Mechanism;
  /** parent model (default linear) */
  parents?: ParentModel;
  /** hidden units per node of the mlp parent model (default 16) */
  hidden?: number;
  /** knots of the nonlinear mechanism over [-range, range] (default 100, range 5) */
  knots?: number;
  range?: number;
}

/** Builds the 0/1 mask of a super-graph, rejecting unknown names, self-loops and cycles. */
export function superGraphMask(
  nodes: readonly string[],
  edges: readonly (readonly [string, string])[],
): number[][] {
  const m = nodes.length;
  const mask = Array.from({ length: m }, () => new Array<number>(m).fill(0));
  for (const [from, to] of edges) {
    const i = nodes.indexOf(from);
    const j = nodes.indexOf(to);
    for (const [name, k] of [
      [from, i],
      [to, j],
    ] as const)
      if (k < 0) throw new GraphError(`graph names unknown attribute '${name}'; known: ${nodes.join(', ')}`);
    if (i === j) throw new GraphError(`graph has a self-loop on '${from}'`);
    mask[i][j] = 1;
  }
  assertDag(mask, nodes);
  return mask;
}

export class ScmPrior extends nn.Module {
  readonly m: number;
  readonly nodes: readonly string[];
  readonly mode: StructureMode;
  readonly mechanism: Mechanism;
  readonly parentModel: ParentModel;
  /** 1 where A may be non-zero */
  readonly mask: Tensor;
  /** the mask repeated for each hidden unit: [m_in, m_out * hidden] (mlp) */
  private readonly hiddenMask: Tensor | undefined;
  private readonly hidden: number;
  private readonly knots: number;
  private readonly range: number;

  constructor(o: ScmOptions) {
    super();
    this.nodes = o.nodes;
    this.m = o.nodes.length;
    this.mode = expectOneOf(o.mode, STRUCTURE_MODES, 'structure');
    this.mechanism = expectOneOf(o.mechanism, MECHANISMS, 'mechanism');
    this.parentModel = expectOneOf(o.parents ?? 'linear', PARENT_MODELS, 'parents');
    this.hidden = o.hidden ?? 16;
    this.knots = o.knots ?? 100;
    this.range = o.range ?? 5;
    const m = this.m;
    let mask: number[][];
    if (o.mode === 'given') {
      if (!o.edges) throw new OptionError('structure `given` needs a graph (edges [cause, effect])');
      mask = superGraphMask(o.nodes, o.edges);
    } else if (o.mode === 'learned')
      mask = Array.from({ length: m }, (_, i) => Array.from({ length: m }, (_, j) => (i === j ? 0 : 1)));
    else mask = Array.from({ length: m }, () => new Array<number>(m).fill(0));
    this.mask = torch.keep(torch.tensor(mask));
    if (this.parentModel === 'linear') {
      // A starts at 0 (NOTEARS); entries outside the mask never receive gradient
      this.registerParameter('A', torch.zeros([m, m])).maskGrad(this.mask);
      this.hiddenMask = undefined;
    } else {
      // node j: g_j(u) = W2_j . sigmoid(u W1[:, j, :] + b1_j) + b2_j, inputs masked to its parents
      const H = this.hidden;
      const hiddenMask = torch.keep(
        torch.scope(() =>
          this.mask
            .unsqueeze(2)
            .expand([m, m, H])
            .reshape([m, m * H])
            .contiguous(),
        ),
      );
      this.hiddenMask = hiddenMask;
      this.registerParameter(
        'W1',
        torch.scope(() =>
          torch
            .randn([m, m * H])
            .mul(0.05)
            .mul(hiddenMask),
        ),
      ).maskGrad(hiddenMask);
      this.registerParameter('b1', torch.zeros([m * H]));
      this.registerParameter(
        'W2',
        torch.scope(() => torch.randn([m, H]).mul(0.05)),
      );
      this.registerParameter('b2', torch.zeros([m]));
    }
    if (o.mechanism === 'linear') {
      this.registerParameter('log_scale', torch.zeros([m]));
      this.registerParameter('shift', torch.zeros([m]));
    } else {
      // slopes exp(p) + 1e-3 with p = 0 start as (almost) the identity on [-range, range]
      this.registerParameter('log_slopes', torch.zeros([m, this.knots]));
      this.registerParameter('shift', torch.zeros([m]));
    }
  }

  /**
   * `learned` with exact search (config scm.search): the graph found so far becomes the mask of A
   * or of the MLP inputs. Weights of edges it drops are zeroed; those of edges it adds start as the
   * constructor starts them (A at 0, MLP inputs small and random).
   */
  setStructure(adjacency: number[][]): void {
    if (this.mode !== 'learned')
      throw new OptionError(`setStructure is for a learned structure, not '${this.mode}'`);
    assertDag(adjacency, this.nodes);
    const m = this.m;
    if (adjacency.length !== m || adjacency.some((row, i) => row.length !== m || row[i] !== 0))
      throw new OptionError(`setStructure needs an ${m} x ${m} 0/1 matrix with a zero diagonal`);
    torch.scope(() =>
      torch.noGrad(() => {
        const next = torch.tensor(adjacency.map((row) => row.map((v) => (v ? 1 : 0))));
        if (this.hiddenMask) {
          const H = this.hidden;
          const nextHidden = next
            .unsqueeze(2)
            .expand([m, m, H])
            .reshape([m, m * H]);
          const added = nextHidden.sub(this.hiddenMask).clamp(0, 1);
          // (no random draw when nothing is added: restoring a structure leaves the RNG as it was)
          if (added.sum().item() > 0)
            this.param('W1').add_(
              torch
                .randn([m, m * H])
                .mul(0.05)
                .mul(added),
            );
          this.hiddenMask.copy_(nextHidden);
        }
        this.mask.copy_(next);
        this.applyMask();
      }),
    );
  }

  /**
   * Zeroes the structure parameters outside the mask. The mask stops their gradient, but Adam's
   * momentum from before a structure change would still move them: call after each step.
   */
  applyMask(): void {
    torch.noGrad(() => {
      if (this.hiddenMask) this.param('W1').mul_(this.hiddenMask);
      else this.param('A').mul_(this.mask);
    });
  }

  /** 0/1 rows: 1 where the edge's weights (within the mask) are not all exactly zero. */
  weightSupport(): number[][] {
    return this.rowsOf(() => torch.noGrad(() => this.squaredAdjacency().gt(0).to('float32')));
  }

  /** The mask as 0/1 rows: where edges may be. */
  maskArray(): number[][] {
    return this.rowsOf(() => this.mask);
  }

  /** Frees the parameters and the structure masks. */
  override dispose(): void {
    super.dispose();
    this.mask.dispose();
    this.hiddenMask?.dispose();
  }

  /**
   * The adjacency matrix (masked; exactly 0 outside the structure). [m, m]
   * Linear: A. MLP: the L2 norm of each input's first-layer weights (NOTEARS-MLP).
   */
  adjacency(): Tensor {
    if (this.parentModel === 'linear') return this.param('A').mul(this.mask);
    return this.squaredAdjacency().add(1e-12).sqrt().mul(this.mask);
  }

  /** A o A (linear) or the sum of squared first-layer weights per edge (MLP): h's argument. */
  private squaredAdjacency(): Tensor {
    if (this.parentModel === 'linear') return this.adjacency().square();
    return this.param('W1').mul(this.hiddenMask!).square().reshape([this.m, this.m, this.hidden]).sum(2);
  }

  /**
   * The parents' contribution to every node: u A (linear) or g(u) (MLP). [B, m]
   * keep [m] (0/1) cuts the parents of nodes with 0 (interventions).
   */
  private parentTerm(u: Tensor, keep?: Tensor): Tensor {
    if (this.mode === 'none') return torch.zerosLike(u);
    if (this.parentModel === 'linear') {
      const A = keep ? this.adjacency().mul(keep.unsqueeze(0)) : this.adjacency();
      return u.matmul(A);
    }
    const B = u.shape[0];
    const H = this.hidden;
    const hid = u
      .matmul(this.param('W1').mul(this.hiddenMask!))
      .add(this.param('b1'))
      .reshape([B, this.m, H])
      .sigmoid();
    const g = hid.mul(this.param('W2')).sum(2).add(this.param('b2')); // [B, m]
    return keep ? g.mul(keep.unsqueeze(0)) : g;
  }

  /** A as plain numbers, row-major rows. */
  adjacencyArray(): number[][] {
    return this.rowsOf(() => this.adjacency());
  }

  /** An [m, m] tensor made in a scope, as JS rows. */
  private rowsOf(make: () => Tensor): number[][] {
    const flat = torch.scope(() => make().toNumbers());
    return Array.from({ length: this.m }, (_, i) => flat.slice(i * this.m, (i + 1) * this.m));
  }

  /**
   * The edges whose standardized effect (standardizedEffects) exceeds `threshold` (default
   * EDGE_THRESHOLD), by name, each with its weight A[i][j] (linear: the coefficient; MLP: the
   * first-layer weight norm). `u`: the rows to measure the effects on (default the prior's own
   * samples).
   */
  edges(threshold = EDGE_THRESHOLD, u?: Tensor): { from: string; to: string; weight: number }[] {
    const A = this.adjacencyArray();
    const effect = this.standardizedEffects(u);
    return listEdges(effect, threshold).map((e) => ({
      from: this.nodes[e.from],
      to: this.nodes[e.to],
      weight: A[e.from][e.to],
    }));
  }

  /**
   * Each edge's effect in standardized units: the mean over rows of |d parents(u)_j / d u_i|,
   * times sd(u_i) / sd(u_j) (a path coefficient; linear: |A[i][j]| sd_i / sd_j). The one meaning
   * of the edge threshold, whatever the parent model. Rows: `u` [B, m], or 2,000 draws of the
   * prior's own u (seeded; the global RNG is left as it was).
   */
  standardizedEffects(u?: Tensor): number[][] {
    const m = this.m;
    const zero = () => Array.from({ length: m }, () => new Array<number>(m).fill(0));
    if (this.mode === 'none') return zero();
    return torch.scope(() =>
      torch.noGrad(() => {
        let rows = u;
        if (!rows) {
          const saved = torch.getRngState();
          torch.manualSeed(0);
          const eps = torch.randn([2000, m]);
          torch.setRngState(saved);
          saved.dispose();
          rows = this.solve(eps);
        }
        const sd = rows.sub(rows.mean(0, true)).square().mean(0).sqrt().toNumbers();
        const slope =
          this.parentModel === 'linear'
            ? this.adjacency().abs().toNumbers()
            : this.parentJacobian(rows).abs().mean(0).toNumbers();
        const out = zero();
        for (let i = 0; i < m; i++)
          for (let j = 0; j < m; j++) out[i][j] = sd[j] > 1e-12 ? (slope[i * m + j] * sd[i]) / sd[j] : 0;
        return out;
      }),
    );
  }

  // ---- the structural equations (row form) ---------------------------------------------------

  /**
   * m rounds of u <- parents(u) + eps from u = eps: the prior the training step samples. On a DAG
   * (a `given` graph, a searched one, `none`) this is exactly the u that solves u = parents(u) +
   * eps: round k settles every node whose longest path from a root has fewer than k edges, and
   * no path of a DAG on m nodes has m edges. So the linear model gets eps (I - A)^{-1} =
   * eps sum_{k<m} A^k with nothing inverted, and the MLP gets its solution without a Newton
   * iteration: no convergence test, no device-to-host sync. Autograd through the rounds gives the
   * solution's gradient, since the rounds equal the solution for every weight within the DAG mask.
   * Weights that still have cycles (`learned` by NOTEARS, during training) get the sum over the
   * paths of at most m edges (linear: eps sum_{k<=m} A^k): finite where I - A is singular, and
   * the solution as h(A) goes to 0. Interventions and counterfactuals use `solve`, which checks.
   * keep [m] cuts the parents of nodes with 0. [B, m] -> [B, m]
   */
  propagate(eps: Tensor, keep?: Tensor): Tensor {
    if (this.mode === 'none') return eps;
    let u = eps;
    for (let k = 0; k < this.m; k++) u = this.parentTerm(u, keep).add(eps);
    return u;
  }

  /**
   * The u that solves u = parents(u) + eps, checked, so that abduction (`residual`) inverts it:
   * what interventions and counterfactuals use. `propagate`, then one check of the residual (one
   * host sync per call, outside the training step). Where weights with cycles leave a residual,
   * Newton steps follow, each checked; a system they do not solve within SOLVE_MAX_NEWTON steps (a
   * cycle too strong, I - J singular) throws a GraphError instead of returning a wrong u. Gradients:
   * autograd through `propagate` where it solves the system, else one Newton step on the detached
   * solution, which gives the implicit-function-theorem gradient (I - J)^{-1} exactly.
   * keep [m] cuts the parents of nodes with 0. [B, m] -> [B, m]
   */
  solve(eps: Tensor, keep?: Tensor): Tensor {
    const u = this.propagate(eps, keep);
    if (this.mode === 'none' || eps.shape[0] === 0) return u;
    let worst = this.solveError(u, eps, keep);
    if (worst <= SOLVE_TOLERANCE) return u;
    let steps = 0;
    const uStar = torch.noGrad(() => {
      let v = u.detach();
      while (!(worst <= SOLVE_TOLERANCE) && steps < SOLVE_MAX_NEWTON) {
        try {
          v = v.add(this.newtonStep(v, eps, keep));
        } catch (e) {
          throw this.unsolved(`a Newton step failed (${(e as Error).message})`);
        }
        steps++;
        worst = this.solveError(v, eps, keep);
      }
      return v;
    });
    if (!(worst <= SOLVE_TOLERANCE))
      throw this.unsolved(
        `after ${this.m} rounds and ${steps} Newton steps the largest residual is ${worst} (of at most ${SOLVE_TOLERANCE})`,
      );
    // value uStar (to rounding); d/d(eps, params) = d(g + eps)/d(...) (I - J)^{-1}
    return uStar.add(this.newtonStep(uStar, eps, keep, true));
  }

  /** max |u - parents(u) - eps| in units of max(1, max |u|): one host sync. NaN stays NaN. */
  private solveError(u: Tensor, eps: Tensor, keep?: Tensor): number {
    return torch.scope(() =>
      torch.noGrad(() =>
        u.sub(this.parentTerm(u, keep)).sub(eps).abs().max().div(u.abs().max().clamp(1)).item(),
      ),
    );
  }

  /**
   * The Newton step delta with delta (I - J) = -(u - parents(u) - eps) (row form). With
   * `throughResidual`, the residual keeps its graph (the implicit-function gradient); J never does.
   */
  private newtonStep(u: Tensor, eps: Tensor, keep: Tensor | undefined, throughResidual = false): Tensor {
    const residual = u.sub(this.parentTerm(u, keep)).sub(eps);
    const IminusJt = torch.noGrad(() => torch.eye(this.m).sub(this.parentJacobian(u, keep)).transpose(1, 2));
    const r = throughResidual ? residual : residual.detach();
    return torch.solve(IminusJt, r.neg().unsqueeze(2)).squeeze(2);
  }

  /** The GraphError of a system u = parents(u) + eps that `solve` could not solve. */
  private unsolved(why: string): GraphError {
    const h = torch.scope(() => torch.noGrad(() => this.acyclicity().item()));
    return new GraphError(
      `the learned graph still has cycles (h(A) = ${h.toPrecision(3)}) and u = parents(u) + eps was not solved, which interventions and counterfactuals need: ${why}; train until h(A) is near 0, or learn the graph by exact search (scm.search exact)`,
    );
  }

  /** d parents(u)_j / d u_i, per example: [B, m_in, m_out] (A itself for the linear model). */
  private parentJacobian(u: Tensor, keep?: Tensor): Tensor {
    const B = u.shape[0];
    const m = this.m;
    if (this.parentModel === 'linear') {
      const A = keep ? this.adjacency().mul(keep.unsqueeze(0)) : this.adjacency();
      return A.unsqueeze(0).expand([B, m, m]);
    }
    const H = this.hidden;
    const W1 = this.param('W1').mul(this.hiddenMask!);
    const s = u.matmul(W1).add(this.param('b1')).reshape([B, m, H]).sigmoid(); // [B, out, H]
    const slope = s.mul(s.rsub(1)).mul(this.param('W2')); // d g_j / d (hidden pre-activation)
    const J = W1.reshape([m, m, H]).unsqueeze(0).mul(slope.unsqueeze(1)).sum(3); // [B, in, out]
    return keep ? J.mul(keep.reshape([1, 1, m])) : J;
  }

  /** eps = u - parents(u): the exogenous noise that explains u (abduction). */
  residual(u: Tensor): Tensor {
    return u.sub(this.parentTerm(u));
  }

  /** f: u -> z_c, element-wise, invertible. [B, m] */
  f(u: Tensor): Tensor {
    if (this.mechanism === 'linear') return u.mul(this.param('log_scale').exp()).add(this.param('shift'));
    const { knotsX, knotsY, slopes } = this.pieces();
    const h = (2 * this.range) / this.knots;
    // segment index of each u, clamped so values outside [-range, range] extend the edge segments
    const idx = u
      .add(this.range)
      .div(h)
      .floor()
      .clamp(0, this.knots - 1)
      .to('int64'); // [B, m]
    const B = u.shape[0];
    const pick = (t: Tensor) =>
      t.unsqueeze(0).expand([B, this.m, t.shape[1]]).gather(2, idx.unsqueeze(2)).squeeze(2);
    return pick(knotsY).add(pick(slopes).mul(u.sub(pick(knotsX))));
  }

  /** f^{-1}: z_c -> u (exact). [B, m] */
  fInverse(z: Tensor): Tensor {
    if (this.mechanism === 'linear') return z.sub(this.param('shift')).div(this.param('log_scale').exp());
    const { knotsX, knotsY, slopes } = this.pieces();
    const B = z.shape[0];
    // segment: number of left knots at or below z, minus one, clamped
    const left = knotsY.slice(1, 0, this.knots); // [m, K]
    const idx = z
      .unsqueeze(2)
      .ge(left.unsqueeze(0))
      .to('float32')
      .sum(2)
      .sub(1)
      .clamp(0, this.knots - 1)
      .to('int64'); // [B, m]
    const pick = (t: Tensor) =>
      t.unsqueeze(0).expand([B, this.m, t.shape[1]]).gather(2, idx.unsqueeze(2)).squeeze(2);
    return pick(knotsX).add(z.sub(pick(knotsY)).div(pick(slopes)));
  }

  /** Knot positions [m, K+1], values [m, K+1] and slopes [m, K] of the nonlinear f. */
  private pieces(): { knotsX: Tensor; knotsY: Tensor; slopes: Tensor } {
    const K = this.knots;
    const h = (2 * this.range) / K;
    const slopes = this.param('log_slopes').exp().add(1e-3); // [m, K]
    const rise = slopes.mul(h).cumsum(1); // [m, K]
    const start = this.param('shift').sub(this.range).unsqueeze(1); // f(-range) = shift - range
    const knotsY = torch.cat([start, start.add(rise)], 1); // [m, K+1]
    const knotsX = torch
      .linspace(-this.range, this.range, K + 1)
      .unsqueeze(0)
      .expand([this.m, K + 1]);
    return { knotsX, knotsY, slopes };
  }

  // ---- sampling, interventions, counterfactuals ---------------------------------------------

  /** z_c from fresh exogenous noise. [B, m] */
  sample(batch: number): Tensor {
    return this.generate(torch.randn([batch, this.m]));
  }

  /**
   * z_c = f(u) with u = eps (I - A)^{-1}: the causal latents that exogenous noise eps [B, m]
   * produces, as the training step samples them (`propagate`: exact for a DAG, unchecked).
   */
  generate(eps: Tensor): Tensor {
    return this.f(this.propagate(eps));
  }

  /**
   * Causal latents under do(node_i = value_i for each entry): the intervened nodes take their
   * values, descendants follow the SCM, everything else keeps its noise. `eps` is fresh noise
   * (interventional sampling) or abducted noise (counterfactuals). Values are in z_c units.
   */
  intervene(eps: Tensor, interventions: Record<string, number>): Tensor {
    const idx = this.interventionIndices(interventions);
    // the null intervention too: abduction must invert it (a counterfactual of nothing is the factual)
    if (idx.length === 0) return this.f(this.solve(eps));
    const values = new Array<number>(this.m).fill(0);
    for (const [i, v] of idx) values[i] = v;
    const rows = torch.tensor(values).unsqueeze(0).expand([eps.shape[0], this.m]);
    return this.interveneRows(
      eps,
      idx.map(([i]) => i),
      rows,
    );
  }

  /**
   * do(node_i = values[b, i]) for every node i in `nodes`, one value per row b (other columns
   * of `values` are ignored): a counterfactual per image with its own target. [B, m] z_c units.
   */
  interveneRows(eps: Tensor, nodes: readonly number[], values: Tensor): Tensor {
    const keepCol = new Array<number>(this.m).fill(1);
    const onehot = new Array<number>(this.m).fill(0);
    for (const i of nodes) {
      keepCol[i] = 0; // 0 drops the parents of intervened nodes
      onehot[i] = 1;
    }
    const keep = torch.tensor(keepCol);
    // eps_i := f_i^{-1}(v) for intervened i: with no parents left, u_i = eps_i exactly
    const uTarget = this.fInverse(values.contiguous());
    const sel = torch.tensor(onehot).unsqueeze(0);
    const epsDo = eps.mul(sel.rsub(1)).add(uTarget.mul(sel));
    return this.f(this.solve(epsDo, keep));
  }

  /** Exogenous noise that reproduces the given causal latents exactly (abduction). */
  abduct(zc: Tensor): Tensor {
    return this.residual(this.fInverse(zc));
  }

  /** Validates intervention names and values; returns [index, value] pairs. */
  interventionIndices(interventions: Record<string, number>): [number, number][] {
    return Object.entries(interventions).map(([name, v]) => {
      const i = this.nodes.indexOf(name);
      if (i < 0)
        throw new OptionError(`unknown attribute '${name}' in intervention; known: ${this.nodes.join(', ')}`);
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new OptionError(`intervention value for '${name}' must be a finite number, got ${v}`);
      return [i, v];
    });
  }

  // ---- structure learning --------------------------------------------------------------------

  /** NOTEARS acyclicity h(A) = tr(exp(A o A)) - m (differentiable). */
  acyclicity(): Tensor {
    return torch.trace(torch.matrixExp(this.squaredAdjacency())).sub(this.m);
  }

  /**
   * The structure's sparsity penalty: |A|_1 (linear); for the MLP, |W1|_1 plus NOTEARS-MLP's L2
   * term (||W1||^2 + ||W2||^2) / 2. Without the L2 term the MLP can shrink its first layer (the
   * adjacency) under the L1 and the acyclicity penalty while W2 grows to compensate, leaving
   * every edge below the threshold and the cycles unresolved.
   */
  sparsity(): Tensor {
    if (this.parentModel === 'linear') return this.adjacency().abs().sum();
    const W1 = this.param('W1').mul(this.hiddenMask!);
    return W1.abs()
      .sum()
      .add(W1.square().sum().add(this.param('W2').square().sum()).mul(0.5));
  }

  /**
   * SCM-consistency loss on encoder latents: u = f^{-1}(z_c) with f and u held fixed, scored by
   * `structureScore` over the nodes that can have parents. Only the parent model (A, or the
   * MLPs) learns from it: letting f or the encoder learn from it would let them shrink u to zero.
   *
   * `intervened` [B, m] (1 = node set by do() in that row) leaves out those nodes' mechanisms on
   * those rows: an intervened value says nothing about how the node depends on its parents
   * (DCDI, Brouillard et al. 2020; GIES).
   */
  consistencyLoss(
    zc: Tensor,
    intervened?: Tensor,
    score: StructureScore = 'nv',
    sumRows: RowSum = ownRows,
  ): Tensor {
    const u = torch.noGrad(() => this.fInverse(zc.detach()));
    const canHaveParents = this.mask.sum(0).gt(0).to('float32').unsqueeze(0); // [1, m]
    const scored = intervened ? intervened.to('float32').rsub(1).mul(canHaveParents) : canHaveParents;
    return structureScore(score, u, this.residual(u), scored, sumRows);
  }
}

/**
 * Scores of a structure on values u [B, m] with residuals r = u - parents(u), over the rows where
 * each node's mechanism is scored (`scored` [B, m] or [1, m], 1 = scored; masking rows is the
 * likelihood masking of DCDI / GIES). Neither depends on units: multiplying a variable by c
 * multiplies its residual and its spread by c, so the variables' variance order (Reisach et al.
 * 2021, "Beware of the simulated DAG!") does not decide the direction of an edge.
 * - `nv`: the Gaussian log-likelihood with one variance per node, maximized over the variances:
 *   sum_j 1/2 log(mean of r_j^2 over the rows where j is scored) (DCDI's Gaussian model,
 *   GOLEM-NV). Nearly deterministic mechanisms (Pendulum's shadows) count for what they are:
 *   a graph that makes them noisy, or that an intervention breaks, pays log-variance for it.
 * - `ls`: least squares with each node's residual in units of its own batch standard deviation.
 */
export const STRUCTURE_SCORES = ['nv', 'ls'] as const;
export type StructureScore = (typeof STRUCTURE_SCORES)[number];
/**
 * Totals a per-row statistic's sum over every row of the batch: the identity in one process, an
 * all-reduce over the shards in data-parallel training (train/ddp.ts BatchShard.sum), so that a
 * score built from such totals is the score of the whole batch on every shard.
 */
export type RowSum = (x: Tensor) => Tensor;
const ownRows: RowSum = (x) => x;

export function structureScore(
  kind: StructureScore,
  u: Tensor,
  residual: Tensor,
  scored: Tensor,
  sumRows: RowSum = ownRows,
): Tensor {
  const mask = scored.expand(residual.shape);
  if (kind === 'ls') {
    const spread = columnVariance(u, sumRows).add(1e-6).unsqueeze(0); // [1, m]
    const rows = torch.noGrad(() => sumRows(torch.onesLike(u.select(1, 0)).sum()));
    return sumRows(residual.square().div(spread).mul(mask).sum()).div(rows);
  }
  const count = torch.noGrad(() => sumRows(mask.sum(0))); // [m]
  const used = count.gt(0).to('float32');
  // a floor of 1e-4 of the node's spread keeps exact fits from running off to -infinity
  const floor = columnVariance(u, sumRows).mul(1e-4).add(1e-8);
  const variance = sumRows(residual.square().mul(mask).sum(0)).div(count.clamp(1, Number.POSITIVE_INFINITY));
  return variance.add(floor).log().mul(used).sum().mul(0.5);
}

/** The unbiased variance of each column of u [B, m] over every row (sumRows), without gradient. [m] */
function columnVariance(u: Tensor, sumRows: RowSum): Tensor {
  return torch.noGrad(() => {
    const rows = sumRows(torch.onesLike(u.select(1, 0)).sum());
    const mean = sumRows(u.sum(0)).div(rows);
    return sumRows(u.sub(mean).square().sum(0)).div(rows.sub(1));
  });
}

/** State of the augmented Lagrangian for h(A) = 0 (NOTEARS). */
export interface DagSchedule {
  alpha: number;
  rho: number;
  /** h at the last update */
  lastH: number;
}

export interface DagScheduleOptions {
  rhoInit: number;
  rhoMax: number;
  /** multiply rho by this when h has not fallen below hShrink * lastH */
  rhoGrowth: number;
  hShrink: number;
}

/** One outer update of the augmented Lagrangian: alpha += rho h; rho grows if h stalls. */
export function updateDagSchedule(s: DagSchedule, h: number, o: DagScheduleOptions): DagSchedule {
  const rho = h > o.hShrink * s.lastH ? Math.min(o.rhoMax, s.rho * o.rhoGrowth) : s.rho;
  return { alpha: s.alpha + rho * h, rho, lastH: h };
}

/** The structure penalty alpha h + rho/2 h^2 + l1 |A|_1 (a scalar tensor). */
export function structurePenalty(prior: ScmPrior, s: DagSchedule, l1: number): Tensor {
  if (prior.mode !== 'learned') return torch.zeros([]);
  const h = prior.acyclicity();
  return h
    .mul(s.alpha)
    .add(h.square().mul(s.rho / 2))
    .add(prior.sparsity().mul(l1));
}
