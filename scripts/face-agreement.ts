// What bounds "reconstructions keep every attribute": how often the oracle, the encoder and the
// CelebA labels agree with each other on the held-out faces, per attribute and on all at once.
// The reconstruction draws the encoder's reading, so the oracle can keep an attribute on it only
// about as often as it agrees with the encoder on the face itself.
//   node --import tsx scripts/face-agreement.ts CHECKPOINT --data ../shared/datasets/celeba-8k [--oracle-steps 3000]
import { getOracle } from '../src/cli/eval.ts';
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
model.eval();
const data = await openTrainingData(meta.config, { path: dataPath });
const oracle = getOracle(model, data.train, data.test, {
  steps: Number(flag('--oracle-steps') ?? 3000),
  quiet: true,
});
oracle.eval();

const N = data.test.size;
const S = model.config.imageSize;
const m = model.m;
const batch = data.test.batch(Array.from({ length: N }, (_, i) => i));
const x = torch.tensor(batch.images, { shape: [N, 3, S, S] });
// binary readings, row-major [N, m]: the label, the oracle on the face, the encoder's latent
// (above the latent of 0.5), the oracle on the reconstruction G(mu_E(x))
const { onFace, encoder, onRecon } = torch.scope(() =>
  torch.noGrad(() => {
    const mus = x.split(128, 0).map((xb) => model.encode(xb).mu);
    const recon = torch.cat(
      mus.map((mu) => model.decode(mu)),
      0,
    );
    const threshold = torch.tensor(model.attributes.map((_, j) => model.labelToLatent(j, 0.5)));
    const muC = torch.cat(
      mus.map((mu) => mu.slice(1, 0, m)),
      0,
    );
    return {
      onFace: oracle.predict(x).gt(0.5).to('float32').toFloat32Array(),
      encoder: muC.gt(threshold).to('float32').toFloat32Array(),
      onRecon: oracle.predict(recon).gt(0.5).to('float32').toFloat32Array(),
    };
  }),
);
const label = batch.labels;

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
