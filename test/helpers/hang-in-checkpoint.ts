/**
 * Trains the tiny preset into the folder argv[2] (4 steps, a checkpoint every 2) and, during the
 * second checkpoint write, after its bytes are in the temp file and before the rename, prints
 * "in-checkpoint-write" and blocks: the faults test kills it there with SIGKILL.
 */
import { writeSync } from 'node:fs';
import { setFileFaultInjector } from '../../src/files.ts';
import { resolveConfig } from '../../src/model/config.ts';
import { setNumThreads } from '../../src/torch/index.ts';
import { openTrainingData } from '../../src/train/data.ts';
import { train } from '../../src/train/train.ts';

const out = process.argv[2];
setNumThreads(1);
let checkpointWrites = 0;
setFileFaultInjector((op, path) => {
  if (op === 'fsync' && path.includes('checkpoint.safetensors.tmp-') && ++checkpointWrites === 2) {
    writeSync(1, 'in-checkpoint-write\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
  }
});
const config = resolveConfig('tiny', {
  train: { steps: 4, checkpointEvery: 2, logEvery: 2, sampleEvery: 1000 },
});
await train({ config, data: await openTrainingData(config), outDir: out });
writeSync(1, 'finished without being killed\n');
