// A small regression problem trained the same way by one process (full batch) and by each rank of
// test/ddp.test.ts (its shard): a model with parameters and buffers, Adam, fixed data.
import * as torch from '../../src/torch/index.ts';
import { nn, optim, type Tensor } from '../../src/torch/index.ts';

export const GLOBAL_BATCH = 8;
export const STEPS = 5;

export function makeModel(seed: number) {
  torch.manualSeed(seed);
  const model = new nn.Sequential([new nn.Linear(3, 5), new nn.BatchNorm1d(5), new nn.Linear(5, 2)]);
  model.eval(); // batch norm from running statistics: the forward does not depend on the shard
  return { model, opt: new optim.Adam(model.parameters(), { lr: 0.05 }) };
}

/** Inputs and targets of global rows `rows` (deterministic). */
export function rows(indices: number[]): { x: Tensor; y: Tensor } {
  const x = indices.flatMap((i) => [Math.sin(i), Math.cos(2 * i), (i % 5) / 5]);
  const y = indices.flatMap((i) => [Math.sin(i) + 0.5 * Math.cos(2 * i), (i % 5) / 5 - Math.sin(i)]);
  return {
    x: torch.tensor(Float32Array.from(x), { shape: [indices.length, 3] }),
    y: torch.tensor(Float32Array.from(y), { shape: [indices.length, 2] }),
  };
}

export function globalBatch(step: number): number[] {
  return Array.from({ length: GLOBAL_BATCH }, (_, i) => (step * 3 + i * 7) % 50);
}

export function trainStep(
  model: nn.Sequential,
  opt: optim.Adam,
  indices: number[],
  syncGradients: () => void,
): void {
  torch.scope(() => {
    const { x, y } = rows(indices);
    const loss = torch.mseLoss(model.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    syncGradients();
    opt.step();
  });
}

export const flatParameters = (m: nn.Module) => m.parameters().flatMap((p) => p.toNumbers());
export const flatBuffers = (m: nn.Module) => m.namedBuffers().flatMap(([, b]) => b.toNumbers());
