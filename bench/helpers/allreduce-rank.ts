// One rank of `npm run bench -- ddp`: all-reduces a float32 buffer of N elements R times over
// Gloo and prints the mean seconds per all-reduce. Args: RANK WORLD PORT N R
import * as torch from '../../src/torch/index.ts';

const [rank, worldSize, port, n, reps] = process.argv.slice(2).map(Number);
torch.setNumThreads(1);
torch.dist.init({ rank, worldSize, masterPort: port, timeoutMs: 120_000 });
const buf = torch.ones([n]);
torch.dist.allReduce([buf], 'avg'); // warm up the connections
torch.dist.barrier();
const t0 = performance.now();
for (let i = 0; i < reps; i++) torch.dist.allReduce([buf], 'avg');
const seconds = (performance.now() - t0) / 1000 / reps;
if (rank === 0) console.log(JSON.stringify({ seconds }));
torch.dist.destroy();
