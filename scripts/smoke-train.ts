import { generateWorldDataset, splitWorldDataset, worldByName } from '../src/data/world-dataset.ts';
import { resolveConfig } from '../src/model/config.ts';
import { train } from '../src/train/train.ts';

const preset = process.argv[2] ?? 'tiny';
const structure = process.argv[3] ?? 'given';
const steps = Number(process.argv[4] ?? 20);
const cfg = resolveConfig(preset, { scm: { structure }, train: { steps } });
const ds = generateWorldDataset(worldByName('pendulum'), {
  count: cfg.data.worldSize,
  imageSize: 64,
  seed: 0,
});
const { train: tr, test } = splitWorldDataset(ds, { testFraction: 0.1, seed: 0 });
const t0 = performance.now();
const r = await train({
  config: cfg,
  data: { train: tr, test },
  outDir: `/tmp/run-${preset}-${structure}`,
  onProgress: (p) => {
    if (p.step % 10 === 0) console.log(p.step, p.imagesPerSecond.toFixed(0), JSON.stringify(p.losses));
  },
});
console.log(r, ((performance.now() - t0) / 1000).toFixed(1), 's');
