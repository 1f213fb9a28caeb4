// One rank of test/ddp.test.ts's CCIG step test: node --import tsx ccig-step-worker.ts RANK WORLD PORT
// Prints the run (helpers/ccig-step-fixture.ts) and parameterDrift before and after rank 1 swaps
// two entries of a parameter (which leaves every parameter's sum as it was).
import * as torch from '../../src/torch/index.ts';
import { DataParallel } from '../../src/train/ddp.ts';
import { trainCcigSteps } from './ccig-step-fixture.ts';

const [rank, worldSize, port] = process.argv.slice(2).map(Number);
torch.dist.init({ rank, worldSize, masterPort: port, timeoutMs: 60_000 });
const dp = new DataParallel({ rank, worldSize, bucketBytes: 4096 }); // small buckets: several per step
const { model, ...run } = trainCcigSteps(dp);
const drift = dp.parameterDrift(model);
const w = model.parameters()[0];
const [a, b] = w.flatten().slice(0, 0, 2).toNumbers();
if (rank === 1)
  torch.noGrad(() =>
    w
      .flatten()
      .slice(0, 0, 2)
      .copy_(torch.tensor([b, a])),
  );
const swappedDrift = dp.parameterDrift(model);
console.log(JSON.stringify({ ...run, drift, swappedDrift, swapped: Math.abs(a - b) }));
torch.dist.destroy();
