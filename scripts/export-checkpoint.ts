// Writes a weights-only copy of a training checkpoint (no optimizer state): what models/ ships.
//   node --import tsx scripts/export-checkpoint.ts runs/pendulum-small-given/checkpoint.safetensors models/pendulum-small.safetensors
import { runCommand } from '../src/cli/util.ts';
import { loadModel, saveCheckpoint } from '../src/train/checkpoint.ts';

const [src, dst] = process.argv.slice(2);
if (!src || !dst) {
  console.error('usage: export-checkpoint.ts SRC DST');
  process.exit(2);
}
// errors as the ccig command gives them: one line naming the file, exit 2 or 4 (README, Troubleshooting)
await runCommand(async () => {
  const { model, meta } = loadModel(src);
  saveCheckpoint(dst, model, {}, meta);
  console.log(`wrote ${dst} (step ${meta.step}, weights only)`);
});
