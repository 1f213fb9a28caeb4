// ccig's side of `npm run bench -- train`, in its own process so that its allocator policy is
// the one its environment asks for (the addon calls mallopt when it loads, unless
// CCIG_KEEP_MALLOC is set). Args: PRESET BATCH SECONDS MIN_STEPS THREADS DEVICE. Prints one
// JSON line: images/s, steps timed, and what the run used.

import { resolveConfig } from '../../src/model/config.ts';
import * as torch from '../../src/torch/index.ts';
import { createTrainer } from '../../src/train/train.ts';

const [preset, batchArg, secondsArg, minStepsArg, threadsArg, deviceArg] = process.argv.slice(2);
const [batch, seconds, minSteps, threads] = [batchArg, secondsArg, minStepsArg, threadsArg].map(Number);
const device = torch.checkDevice(deviceArg);
torch.setNumThreads(threads);
torch.setDefaultDevice(device);

const cfg = resolveConfig(preset);
torch.manualSeed(0);
const attributes = cfg.attributes.map((name) => ({ name, kind: 'continuous' as const, min: 0, max: 1 }));
const trainer = createTrainer(cfg, attributes);
const S = cfg.imageSize;
const x = torch.keep(torch.rand([batch, 3, S, S]).mul(2).sub(1));
const y = torch.keep(torch.rand([batch, cfg.attributes.length]));
const mask = torch.keep(torch.ones([batch, 1]));
const dag = { alpha: 0, rho: 1, lastH: Number.POSITIVE_INFINITY };
// each step reads its losses back (as training does), which waits for the GPU's work
const step = () => torch.scope(() => trainer.step(x, y, mask, dag));
for (let i = 0; i < 3; i++) step();
let n = 0;
const t0 = performance.now();
while (n < minSteps || performance.now() - t0 < seconds * 1000) {
  step();
  n++;
}
const rate = (n * batch) / ((performance.now() - t0) / 1000);
const used = device.startsWith('cuda') ? torch.cudaMemoryUsed() : undefined;
console.log(
  JSON.stringify({
    imagesPerSecond: rate,
    steps: n,
    threads: torch.getNumThreads(),
    ompWaitPolicy: process.env.OMP_WAIT_POLICY ?? null,
    malloc: process.env.CCIG_KEEP_MALLOC
      ? 'glibc defaults'
      : 'mallopt(M_MMAP_MAX=0, M_TRIM_THRESHOLD=INT_MAX)',
    // driver-level bytes in use, libtorch's cached blocks included: not the step's peak allocation
    gpuUsedMiB: used !== undefined ? Math.round(used / 2 ** 20) : undefined,
  }),
);
