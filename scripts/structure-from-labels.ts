// Can the pendulum graph be learned from its labels alone? A NOTEARS-MLP structure search on
// the (logit-scaled, standardized, slightly noised) true labels, with the augmented Lagrangian
// of src/causal/scm.ts. Scores: ls (least squares), nv (per-node log residual variance, as
// GOLEM-NV), ind (least squares + a penalty on correlated residuals and squared residuals).
//   node --import tsx scripts/structure-from-labels.ts ls|nv|ind [hidden=16] [steps=3000] [ind weight=1]
// Findings are recorded in docs/results/pendulum.md.

import { updateDagSchedule } from '../src/causal/scm.ts';
import { generateWorldDataset, worldByName } from '../src/data/world-dataset.ts';
import * as torch from '../src/torch/index.ts';
import { optim } from '../src/torch/index.ts';

torch.setNumThreads(1);
torch.manualSeed(0);
const kind = process.argv[2] ?? 'ls';
const H = Number(process.argv[3] ?? 16);
const steps = Number(process.argv[4] ?? 3000);
const ds = generateWorldDataset(worldByName('pendulum'), { count: 2000, imageSize: 8, seed: 1 });
const m = 4;
const lab = new Float32Array(2000 * m);
for (let i = 0; i < 2000; i++) lab.set(ds.labels(i), i * m);
const a = ds.attributes;
const Y = torch.tensor(lab, { shape: [2000, m] });
const lo = torch.tensor(a.map((x) => x.min));
const span = torch.tensor(a.map((x) => x.max - x.min));
const s = Y.sub(lo).div(span).clamp(0.01, 0.99);
const U0 = s.div(s.rsub(1)).log();
const U = torch.keep(
  U0.sub(U0.mean(0, true))
    .div(U0.var(0, { keepdim: true }).sqrt())
    .add(torch.randn([2000, m]).mul(0.05)),
);
const mask = torch.keep(
  torch
    .ones([m, m])
    .sub(torch.eye(m))
    .unsqueeze(2)
    .expand([m, m, H])
    .reshape([m, m * H])
    .contiguous(),
);
const W1 = torch.keep(torch.randn([m, m * H]).mul(0.1)).requiresGrad_();
W1.maskGrad(mask);
const b1 = torch.keep(torch.zeros([m * H])).requiresGrad_();
const W2 = torch.keep(torch.randn([m, H]).mul(0.1)).requiresGrad_();
const b2 = torch.keep(torch.zeros([m])).requiresGrad_();
const opt = new optim.Adam([W1, b1, W2, b2], { lr: 3e-3 });
let dag = { alpha: 0, rho: 1, lastH: Number.POSITIVE_INFINITY };
const sq = () => W1.mul(mask).square().reshape([m, m, H]).sum(2); // [in, out]
const hOf = () => torch.trace(torch.matrixExp(sq())).sub(m);
for (let step = 1; step <= steps; step++)
  torch.scope(() => {
    const idx = torch.randint(0, 2000, [256]);
    const u = U.indexSelect(0, idx);
    const hid = u.matmul(W1.mul(mask)).add(b1).reshape([256, m, H]).sigmoid();
    const g = hid.mul(W2).sum(2).add(b2);
    const r = u.sub(g);
    let loss =
      kind === 'nv' ? r.square().mean(0).add(1e-4).log().sum().mul(0.5) : r.square().mean(0).sum().mul(0.5);
    if (kind === 'ind') {
      // residuals of a correct SCM are independent: penalize their (and their squares') correlations
      const corr = (e: torch.Tensor) => {
        const c = e.sub(e.mean(0, true));
        const z = c.div(c.square().mean(0, true).add(1e-6).sqrt());
        const C = z.t().matmul(z).div(256);
        return C.sub(torch.eye(m).mul(C)).square().sum();
      };
      loss = loss.add(
        corr(r)
          .add(corr(r.square()))
          .mul(Number(process.argv[5] ?? 1)),
      );
    }
    const h = hOf();
    const pen = h
      .mul(dag.alpha)
      .add(h.square().mul(dag.rho / 2))
      .add(W1.abs().sum().mul(1e-3));
    opt.zeroGrad();
    loss.add(pen).backward();
    opt.step();
    if (step % 100 === 0)
      dag = updateDagSchedule(dag, hOf().item(), { rhoInit: 1, rhoMax: 1e5, rhoGrowth: 3, hShrink: 0.5 });
  });
const A = torch.scope(() => sq().sqrt().toNumbers());
const names = a.map((x) => x.name);
console.log(kind, H, `h=${hOf().item().toExponential(2)}`);
for (let i = 0; i < m; i++)
  console.log(
    names[i].padEnd(16),
    A.slice(i * m, i * m + m)
      .map((v) => v.toFixed(2))
      .join(' '),
  );
