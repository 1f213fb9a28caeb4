// Makes a weights-only checkpoint (what models/ ships, what a GPU window brings back) resumable:
// writes a run folder whose checkpoint holds those weights, the same step, schedule and data
// order, and fresh optimizer moments (Adam restarts its estimates; with beta1 = 0 only the
// second moment starts over). `ccig resume --out DIR` then continues the run.
//   node --import tsx scripts/warm-start.ts WEIGHTS.safetensors DIR
import { runCommand } from '../src/cli/util.ts';
import { writeFileAtomic } from '../src/files.ts';
import { loadModel, restoreSearchedGraph, saveCheckpoint } from '../src/train/checkpoint.ts';
import { prepareRunFolder, runPaths } from '../src/train/run-folder.ts';
import { createTrainer } from '../src/train/train.ts';

const [src, dir] = process.argv.slice(2);
if (!src || !dir) {
  console.error('usage: warm-start.ts WEIGHTS DIR');
  process.exit(2);
}
await runCommand(async () => {
  const { model: weights, meta } = loadModel(src);
  const { model, optD, optEG } = createTrainer(meta.config, meta.attributes);
  model.loadStateDict(weights.stateDict());
  // a graph learned by exact search: the searched graph, as loadModel restored it
  restoreSearchedGraph(model, weights.prior.mask);
  weights.dispose();
  prepareRunFolder(dir);
  const paths = runPaths(dir);
  writeFileAtomic(paths.config, `${JSON.stringify(meta.config, null, 2)}\n`, 'write the run config');
  writeFileAtomic(paths.log, '', 'start the log');
  saveCheckpoint(paths.checkpoint, model, { d: optD, eg: optEG }, meta);
  model.dispose();
  console.log(`wrote ${paths.checkpoint} (step ${meta.step}, fresh optimizer moments)`);
});
