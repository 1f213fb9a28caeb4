// What bounds "reconstructions keep every attribute": how often the oracle, the encoder and the
// CelebA labels agree with each other on the held-out faces, per attribute and on all at once.
// The reconstruction draws the encoder's reading, so the oracle can keep an attribute on it only
// about as often as it agrees with the encoder on the face itself.
//   node --import tsx scripts/face-agreement.ts CHECKPOINT --data ../shared/datasets/celeba-8k [--oracle-steps 3000]
import { getOracle } from '../src/cli/eval.ts';
import { createContext } from '../src/eval/context.ts';
import * as torch from '../src/torch/index.ts';
import { loadModel } from '../src/train/checkpoint.ts';
import { openTrainingData } from '../src/train/data.ts';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const checkpoint = args[0];
const dataPath = flag('--data');
if (!checkpoint || !dataPath) {
  console.error('usage: face-agreement.ts CHECKPOINT --data CELEBA_DIR [--oracle-steps N]');
  process.exit(2);
}
torch.setNumThreads(1);
const { model, meta } = loadModel(checkpoint);
const data = await openTrainingData(meta.config, { path: dataPath });
const oracle = getOracle(model, data.train, data.test, {
  steps: Number(flag('--oracle-steps') ?? 3000),
  quiet: true,
});
// the evaluation's own context: the test faces encoded once, the oracle on them and on G(mu)
const ctx = createContext(model, data.test, oracle, { n: data.test.size, seed: 0 });
const { n: N, m } = ctx;
// the encoder's reading: its causal latent above the latent of label 0.5
const encoder = torch.scope(() =>
  ctx.mu
    .slice(1, 0, m)
    .sub(torch.tensor(model.attributes.map((_, j) => model.labelToLatent(j, 0.5))))
    .toFloat32Array()
    .map((v) => (v > 0 ? 1 : 0)),
);
// the oracle's values (probabilities) as 0/1 at 0.5, as the evaluation reads them
const binary = (p: Float32Array) => p.map((v) => (v > 0.5 ? 1 : 0));
const onFace = binary(ctx.real.values);
const onRecon = binary(ctx.reconstruction.values);
const label = ctx.labels;

const pairs: [string, ArrayLike<number>, ArrayLike<number>][] = [
  ['oracle(face) = label', onFace, label],
  ['encoder = label', encoder, label],
  ['encoder = oracle(face)', encoder, onFace],
  ['oracle(reconstruction) = encoder', onRecon, encoder],
  ['oracle(reconstruction) = oracle(face) ("kept")', onRecon, onFace],
];
const agree = (a: ArrayLike<number>, b: ArrayLike<number>, j: number) => {
  let k = 0;
  for (let r = 0; r < N; r++) if (a[r * m + j] === b[r * m + j]) k++;
  return k / N;
};
const agreeAll = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let k = 0;
  for (let r = 0; r < N; r++) {
    let all = true;
    for (let j = 0; j < m; j++) all &&= a[r * m + j] === b[r * m + j];
    if (all) k++;
  }
  return k / N;
};
const names = model.config.attributes;
console.log(`${N} held-out faces, step ${meta.step}\n`);
console.log(`| agreement | ${names.join(' | ')} | all ${m} at once |`);
console.log(`| --- | ${names.map(() => '---').join(' | ')} | --- |`);
for (const [what, a, b] of pairs)
  console.log(
    `| ${what} | ${names.map((_, j) => agree(a, b, j).toFixed(3)).join(' | ')} | ${agreeAll(a, b).toFixed(3)} |`,
  );
model.dispose();
