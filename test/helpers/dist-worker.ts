// One rank of test/dist.test.ts: node --import tsx dist-worker.ts SCENARIO RANK WORLD PORT TIMEOUT_MS
// Prints one JSON line with what it saw.
import * as torch from '../../src/torch/index.ts';

const [scenario, rankArg, worldArg, portArg, timeoutArg] = process.argv.slice(2);
const rank = Number(rankArg);
const worldSize = Number(worldArg);
const options = { rank, worldSize, masterPort: Number(portArg), timeoutMs: Number(timeoutArg) };
const { dist } = torch;
const say = (o: object) => console.log(JSON.stringify(o));

const t0 = performance.now();
try {
  dist.init(options);
  if (scenario === 'collectives') {
    const a = torch.tensor([rank + 1, 10 * (rank + 1)]);
    const b = torch.tensor([rank, rank]);
    dist.allReduce([a, b], 'sum');
    const avg = torch.tensor([2 * rank]);
    dist.allReduce([avg], 'avg');
    const c = torch.tensor([rank * 7 + 1]);
    dist.broadcast([c], 1);
    dist.barrier();
    say({
      sum: a.toNumbers(),
      sum2: b.toNumbers(),
      avg: avg.toNumbers(),
      bcast: c.toNumbers(),
      rank: dist.rank(),
    });
    dist.destroy();
  } else if (scenario === 'peer-dies') {
    dist.barrier();
    if (rank === 1) process.exit(9); // gone without a word, as a killed process
    await new Promise((r) => setTimeout(r, 300));
    dist.allReduce([torch.ones([4])]);
    say({ error: null });
  }
} catch (e) {
  say({ error: (e as Error).message, name: (e as Error).name, ms: performance.now() - t0 });
}
