// Starts a run of one face preset from a trained model of another (same networks, 100 latents):
// src/train/transfer.ts permutes the latent axis so each shared attribute keeps what it learned.
//
//   npx ccig train --preset celeba-faces10-small --data DIR --out RUN --steps 1   # a run folder
//   node --import tsx scripts/transfer-attributes.ts SOURCE.safetensors RUN
//   npx ccig resume --out RUN --steps N
//
// The run keeps its step, data order and schedule, with fresh optimizer moments.
import { runCommand } from '../src/cli/util.ts';
import { loadModel, saveCheckpoint } from '../src/train/checkpoint.ts';
import { runPaths } from '../src/train/run-folder.ts';
import { createTrainer } from '../src/train/train.ts';
import { transferWeights } from '../src/train/transfer.ts';

const [src, dir] = process.argv.slice(2);
if (!src || !dir) {
  console.error('usage: transfer-attributes.ts SOURCE.safetensors RUN_DIR');
  process.exit(2);
}
await runCommand(async () => {
  const paths = runPaths(dir);
  const { model: source } = loadModel(src);
  const { model: run, meta } = loadModel(paths.checkpoint);
  const { model, optD, optEG } = createTrainer(meta.config, meta.attributes);
  model.loadStateDict(run.stateDict());
  run.dispose();
  const perm = transferWeights(source, model);
  const names = source.attributes.map((a) => a.name);
  for (const [i, a] of model.attributes.entries()) {
    const j = perm[i];
    console.log(
      `${a.name}: ${j < names.length ? `source ${names[j]}` : `source free latent ${j - names.length}`}`,
    );
  }
  source.dispose();
  saveCheckpoint(paths.checkpoint, model, { d: optD, eg: optEG }, meta);
  model.dispose();
  console.log(`wrote ${paths.checkpoint} (step ${meta.step}, fresh optimizer moments)`);
});
