/**
 * Finite-difference gradient check in float64: compares autograd's gradient of
 * sum(w * f(inputs)) (w fixed random weights) with central differences.
 */

import type { Tensor } from '../../src/torch/index.ts';
import * as torch from '../../src/torch/index.ts';

export interface GradcheckResult {
  maxAbsErr: number;
  maxRelErr: number;
}

export function gradcheck(
  f: (xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  { eps = 1e-6 }: { eps?: number } = {},
): GradcheckResult {
  return torch.scope(() => {
    const leaves = inputs.map((x) => x.detach().clone().requiresGrad_());
    const out = f(leaves);
    const w = torch.randn(out.shape, { dtype: 'float64' });
    out.mul(w).sum().backward();
    const analytic = leaves.map((l) =>
      l.grad ? (l.grad.toArray() as Float64Array) : new Float64Array(l.numel),
    );
    let maxAbsErr = 0;
    let maxRelErr = 0;
    const values = inputs.map((x) => x.toArray() as Float64Array);
    const evalAt = (): number =>
      torch.noGrad(() =>
        torch.scope(() => {
          const xs = values.map((v, i) => torch.tensor(v, { shape: inputs[i].shape }));
          return f(xs).mul(w).sum().item();
        }),
      );
    values.forEach((v, i) => {
      for (let k = 0; k < v.length; k++) {
        const orig = v[k];
        v[k] = orig + eps;
        const fp = evalAt();
        v[k] = orig - eps;
        const fm = evalAt();
        v[k] = orig;
        const numeric = (fp - fm) / (2 * eps);
        const err = Math.abs(numeric - analytic[i][k]);
        maxAbsErr = Math.max(maxAbsErr, err);
        maxRelErr = Math.max(maxRelErr, err / Math.max(1e-3, Math.abs(numeric)));
      }
    });
    return { maxAbsErr, maxRelErr };
  });
}
