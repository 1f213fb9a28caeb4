/**
 * `npm run bench -- train [--device cpu|cuda] [--batch N] [--presets a,b] [--seconds S]`:
 * images/s of one full CCIG training step (D step + E and G/prior step) for each preset
 * (default pendulum-small, celeba-smile-small and celeba-smile at batch 64 on the CPU), the GFLOPS that rate means,
 * the matmul GFLOPS of the device in the same run, and the same step written in PyTorch
 * (bench/pytorch/step.py, run by the python3 on PATH: Debian's python3-torch over the same
 * libtorch, or a pip torch with CUDA) on the same device, when it is installed.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type CcigConfig, latentDim, resolveConfig } from '../src/model/config.ts';
import { stageWidths } from '../src/model/encoder.ts';
import * as torch from '../src/torch/index.ts';
import { createTrainer } from '../src/train/train.ts';

const here = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    device: { type: 'string', default: 'cpu' },
    batch: { type: 'string', default: '64' },
    presets: { type: 'string', default: 'pendulum-small,celeba-smile-small,celeba-smile' },
    seconds: { type: 'string', default: '8' },
  },
  allowPositionals: true,
});
const DEVICE = torch.checkDevice(flags.device);
const BATCH = Number(flags.batch);
const SECONDS = Number(flags.seconds);
const PRESETS = flags.presets.split(',');
torch.setDefaultDevice(DEVICE);

/** Forward FLOPs per image of encoder, generator and discriminator (2 x multiply-adds). */
function forwardFlops(cfg: CcigConfig): { e: number; g: number; d: number } {
  const S = cfg.imageSize;
  const w = stageWidths(S, cfg.net.channels);
  const z = latentDim(cfg);
  let e = 0;
  let d = 0;
  let size: number = S;
  let cin = 3;
  for (const c of w) {
    size /= 2;
    e += 2 * size * size * c * cin * 16;
    cin = c;
  }
  d = e;
  e += 2 * (cin * 16 * cfg.net.fc + cfg.net.fc * 2 * z);
  d +=
    2 *
    (cin * cfg.net.dFc +
      z * cfg.net.dFc +
      cfg.net.dFc ** 2 +
      2 * cfg.net.dFc * cfg.net.dJointFc +
      cfg.net.dJointFc +
      2 * cfg.net.dFc);
  const rev = [...w].reverse();
  let g = 2 * (z * cfg.net.fc + cfg.net.fc * rev[0] * 16);
  size = 4;
  rev.forEach((c, i) => {
    size *= 2;
    const cout = i + 1 < rev.length ? rev[i + 1] : 3;
    g += 2 * size * size * cout * c * 9;
  });
  return { e, g, d };
}

/** FLOPs per image of one training step: D step (E, G forward; D forward x2 + backward) and
 *  E+G step (E, G forward+backward; D forward x2 + input gradients). Backward ~ 2x forward. */
export function stepFlops(cfg: CcigConfig): number {
  const { e, g, d } = forwardFlops(cfg);
  // cycle: a second G forward + backward on the detached z, E forward on it + its input gradients
  const cycle = cfg.train.lambdaCyc > 0 ? 3 * g + 2 * e : 0;
  return e + g + 6 * d + (3 * e + 3 * g + 4 * d) + cycle;
}

function ours(cfg: CcigConfig): number {
  torch.manualSeed(0);
  const attributes = cfg.attributes.map((name) => ({ name, kind: 'continuous' as const, min: 0, max: 1 }));
  const trainer = createTrainer(cfg, attributes);
  const S = cfg.imageSize;
  const x = torch.keep(torch.rand([BATCH, 3, S, S]).mul(2).sub(1));
  const y = torch.keep(torch.rand([BATCH, cfg.attributes.length]));
  const mask = torch.keep(torch.ones([BATCH, 1]));
  const dag = { alpha: 0, rho: 1, lastH: Number.POSITIVE_INFINITY };
  // each step reads its losses back (as training does), which waits for the GPU's work
  const step = () => torch.scope(() => trainer.step(x, y, mask, dag));
  for (let i = 0; i < 3; i++) step();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    step();
    n++;
  }
  const rate = (n * BATCH) / ((performance.now() - t0) / 1000);
  trainer.model.dispose();
  return rate;
}

interface PytorchResult {
  rate: number;
  version: string;
  /** torch.cuda.max_memory_allocated, MiB (GPU runs) */
  peakMiB?: number;
}

function pytorch(cfg: CcigConfig): PytorchResult | null {
  const args = [
    cfg.net.channels,
    cfg.net.fc,
    cfg.net.dFc,
    cfg.net.dJointFc,
    latentDim(cfg),
    cfg.attributes.length,
    BATCH,
    SECONDS,
    torch.getNumThreads(),
    cfg.train.lambdaCyc.toFixed(1),
    cfg.net.arch ?? 'dcgan',
    DEVICE,
  ].map(String);
  const r = spawnSync('python3', [join(here, 'pytorch/step.py'), ...args], { encoding: 'utf8' });
  if (r.status !== 0) {
    if (r.stderr && !/No module named 'torch'/.test(r.stderr))
      console.error(`bench/pytorch/step.py failed:\n${r.stderr.trim().split('\n').slice(-5).join('\n')}`);
    return null;
  }
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
  return { rate: j.imagesPerSecond, version: j.torch, peakMiB: j.peakMiB };
}

export default async function trainBench(): Promise<void> {
  const m = torch.randn([2048, 2048]);
  m.matmul(m).dispose();
  torch.synchronize();
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) m.matmul(m).dispose();
  torch.synchronize();
  const matmul = (5 * 2 * 2048 ** 3) / ((performance.now() - t0) / 1000) / 1e9;
  m.dispose();
  const engine = torch.engineInfo();
  const where = DEVICE.startsWith('cuda')
    ? `${engine.devices[0]?.name ?? 'GPU'}, libtorch ${engine.version} (CUDA ${engine.cuda})`
    : `${torch.getNumThreads()} threads, libtorch ${engine.version}`;
  console.log(
    `\ntraining-step benchmark — ${DEVICE}: ${where}; batch ${BATCH}, ${SECONDS} s per row; matmul 2048 fp32: ${matmul.toFixed(1)} GFLOPS\n`,
  );
  console.log('preset             ccig img/s  GFLOPS  PyTorch img/s  ccig / PyTorch  GPU MiB ccig / PyTorch');
  for (const preset of PRESETS) {
    const cfg = resolveConfig(preset);
    const rate = ours(cfg);
    // driver-level bytes in use (libtorch keeps its cached blocks), so the peak of the run so far
    const used = DEVICE.startsWith('cuda') ? torch.cudaMemoryUsed() : undefined;
    // the FLOP count follows the plain conv stages; DEAR's networks get no figure
    const gflops = cfg.net.arch === 'dear' ? Number.NaN : (rate * stepFlops(cfg)) / 1e9;
    const py = pytorch(cfg);
    const mem = used !== undefined ? `${Math.round(used / 2 ** 20)} / ${py?.peakMiB ?? '-'}` : '';
    console.log(
      `${preset.padEnd(18)} ${rate.toFixed(1).padStart(10)}  ${(Number.isNaN(gflops) ? '–' : gflops.toFixed(1)).padStart(6)}  ${py ? py.rate.toFixed(1).padStart(13) : 'not installed'.padStart(13)}  ${py ? (rate / py.rate).toFixed(2).padStart(14) : ''.padStart(14)}  ${mem.padStart(22)}`,
    );
  }
  console.log('\nGFLOPS counts the convolutions and linear layers of the step (backward ~ 2x forward).');
  console.log(
    'PyTorch: bench/pytorch/step.py, the same step (losses read back each step, as here) in the python3 on PATH.',
  );
  if (DEVICE.startsWith('cuda'))
    console.log(
      'GPU MiB: ccig = memory the driver reports in use after the row (libtorch caches freed blocks); PyTorch = torch.cuda.max_memory_reserved.',
    );
}
