/**
 * NOTEARS acyclicity of a plain matrix, h(A) = tr(exp(A o A)) - m (o = element-wise product), in
 * float64 on the engine (libtorch's matrix_exp), for reporting a learned or given graph. The SCM
 * prior's differentiable h, used in training, is `ScmPrior.acyclicity()`. Not in graph.ts, which
 * stays free of the engine for data/.
 */
import * as torch from '../torch/index.ts';
import { type Adjacency, sideOf } from './graph.ts';

/**
 * h(A) = tr(exp(A o A)) - m, in float64. It is 0 exactly for a DAG and positive otherwise:
 * tr(exp(W)) sums the weights of closed walks, and a DAG has none. Example: a 2-cycle
 * A = [[0, a], [b, 0]] gives h = 2 cosh(ab) - 2.
 */
export function acyclicity(A: Adjacency): number {
  const m = sideOf('acyclicity', A);
  if (m === 0) return 0;
  const W = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) W[i * m + j] = A[i][j] * A[i][j];
  const E = torch.scope(() => torch.matrixExp(torch.tensor(W, { shape: [m, m] })).toArray() as Float64Array);
  // Sum (E_ii - 1) rather than (sum E_ii) - m, so that a tiny h is not lost to cancellation.
  let h = 0;
  for (let i = 0; i < m; i++) h += E[i * m + i] - 1;
  return h;
}
