// One rank of test/ddp.test.ts: node --import tsx ddp-worker.ts RANK WORLD PORT
import * as torch from '../../src/torch/index.ts';
import { DataParallel } from '../../src/train/ddp.ts';
import { flatBuffers, flatParameters, globalBatch, makeModel, STEPS, trainStep } from './ddp-fixture.ts';

const [rank, worldSize, port] = process.argv.slice(2).map(Number);
torch.dist.init({ rank, worldSize, masterPort: port, timeoutMs: 30_000 });
const dp = new DataParallel({ rank, worldSize, bucketBytes: 64 }); // tiny buckets: several per step
// every rank starts from another random model and other running statistics; rank 0's must win
const { model, opt } = makeModel(100 + rank);
torch.noGrad(() => model.namedBuffers()[0][1].fill_(rank + 0.25));
dp.broadcastModule(model);
const start = { params: flatParameters(model), buffers: flatBuffers(model) };
for (let s = 0; s < STEPS; s++)
  trainStep(model, opt, dp.shard(globalBatch(s)), () => dp.averageGradients(model.parameters()));
console.log(
  JSON.stringify({ start, params: flatParameters(model), loss: dp.averageNumbers([rank, 2 * rank]) }),
);
torch.dist.destroy();
