// CDM of a Pendulum model read two ways: by the project's whole-image oracle (as `ccig eval`) and
// by band-restricted readers trained as CDG-VAE trains its CDM classifier (src/eval/band-readers.ts),
// beside CDG-VAE's published numbers. Only the band readers' column is like CDG-VAE's.
//   node --import tsx scripts/cdm-bands.ts CHECKPOINT [--n 1000] [--steps 600] [--train 4000]
//     [--oracle models/oracle-pendulum-64.safetensors] [--threads N]
import { parseArgs } from 'node:util';
import { generateWorldDataset, type WorldDataset, worldByName } from '../src/data/world-dataset.ts';
import { cdmSection } from '../src/eval/axioms.ts';
import { trainBandReaders } from '../src/eval/band-readers.ts';
import { createContext } from '../src/eval/context.ts';
import { loadOracle } from '../src/eval/oracle.ts';
import * as torch from '../src/torch/index.ts';
import { loadModel } from '../src/train/checkpoint.ts';
import { openTrainingData } from '../src/train/data.ts';

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    n: { type: 'string', default: '1000' },
    steps: { type: 'string', default: '600' },
    train: { type: 'string', default: '4000' },
    oracle: { type: 'string', default: 'models/oracle-pendulum-64.safetensors' },
    threads: { type: 'string' },
  },
});
if (positionals.length !== 1) {
  console.error(
    'usage: node --import tsx scripts/cdm-bands.ts CHECKPOINT [--n 1000] [--steps 600] [--train 4000]',
  );
  process.exit(2);
}
if (o.threads) torch.setNumThreads(Number(o.threads));

const { model, meta } = loadModel(positionals[0]);
const data = await openTrainingData(meta.config);
const world = data.world ? (data.test as WorldDataset) : undefined;
if (!world || meta.config.data.world !== 'pendulum') {
  console.error('cdm-bands: a Pendulum model is needed');
  process.exit(2);
}
// the readers learn from fresh renders (a seed of their own), as the oracle does
const renders = generateWorldDataset(worldByName('pendulum'), {
  count: Number(o.train),
  imageSize: meta.config.imageSize,
  seed: 4242,
});
const t0 = performance.now();
const bands = trainBandReaders(renders, data.test, { steps: Number(o.steps) });
const trainSeconds = (performance.now() - t0) / 1000;
const oracle = loadOracle(o.oracle);
model.eval();
const { ours, banded } = torch.scope(() => {
  const ctx = createContext(model, data.test, oracle, { n: Number(o.n), world, seed: 0 });
  return { ours: cdmSection(ctx), banded: cdmSection({ ...ctx, oracle: bands.oracle }) };
});
const names = meta.config.attributes;
const f = (v: number) => v.toFixed(3);

console.log(
  `Band readers: ${o.steps} steps of 64 on ${Number(o.train).toLocaleString('en')} renders (${trainSeconds.toFixed(0)} s); held-out mean |error| / range: ${names.map((a) => `${a} ${f(bands.heldOutError[a])}`).join(', ')}`,
);
console.log(
  `\nCDM (lower), ${Math.min(Number(o.n), data.test.size)} test images: rows do(s), columns the factor read; each cell whole-image oracle | band readers\n`,
);
console.log(`| do(s) \\ c | ${names.join(' | ')} |`);
console.log(`| --- |${' --- |'.repeat(names.length)}`);
names.forEach((s, i) =>
  console.log(
    `| ${s} | ${names.map((_, c) => `${f(ours.lower[i][c])} \\| ${f(banded.lower[i][c])}`).join(' | ')} |`,
  ),
);

// CDG-VAE's published Pendulum CDM (an-seunghwan/CDG-VAE assets/CDM/CG.txt and IR.txt, the first of
// each pair), as in scripts/results-table.ts: CDM(c, s) reads factor c under do(s)
const THEIRS: [string, string, number][] = [
  ['pendulum_angle', 'pendulum_angle', 0.897],
  ['light_angle', 'light_angle', 0.877],
  ['light_angle', 'shadow_position', 0.0],
  ['pendulum_angle', 'shadow_length', 0.0],
];
console.log('\n| CDM(read c, do s) | CDG-VAE (published) | ours, band readers | ours, whole-image oracle |');
console.log('| --- | --- | --- | --- |');
for (const [c, s, theirs] of THEIRS) {
  const [ci, si] = [names.indexOf(c), names.indexOf(s)];
  console.log(`| CDM(${c}, ${s}) | ${f(theirs)} | ${f(banded.lower[si][ci])} | ${f(ours.lower[si][ci])} |`);
}
bands.dispose();
model.dispose();
