/**
 * `npm run bench -- train`: images/s of one full CCIG training step (D step + E and G/prior
 * step) for pendulum-small and celeba-smile at batch 64, the GFLOPS that rate means, the matmul
 * GFLOPS of this machine in the same run, and the same step written in PyTorch (bench/pytorch/
 * step.py, Debian's python3-torch over the same libtorch) when it is installed.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CcigConfig, latentDim, resolveConfig } from '../src/model/config.ts';
import { stageWidths } from '../src/model/encoder.ts';
import * as torch from '../src/torch/index.ts';
import { createTrainer } from '../src/train/train.ts';

const here = dirname(fileURLToPath(import.meta.url));
const BATCH = 64;
const SECONDS = 8;

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

function pytorch(cfg: CcigConfig): { rate: number; version: string } | null {
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
  ].map(String);
  const r = spawnSync('/usr/bin/python3', [join(here, 'pytorch/step.py'), ...args], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
  return { rate: j.imagesPerSecond, version: j.torch };
}

export default async function trainBench(): Promise<void> {
  const m = torch.randn([2048, 2048]);
  m.matmul(m).dispose();
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) m.matmul(m).dispose();
  const matmul = (5 * 2 * 2048 ** 3) / ((performance.now() - t0) / 1000) / 1e9;
  console.log(
    `\ntraining-step benchmark — batch ${BATCH}, ${torch.getNumThreads()} threads, ${SECONDS} s per row; matmul 2048: ${matmul.toFixed(1)} GFLOPS\n`,
  );
  console.log('preset          ccig img/s  GFLOPS  PyTorch img/s  ccig / PyTorch');
  for (const preset of ['pendulum-small', 'celeba-smile-small', 'celeba-smile']) {
    const cfg = resolveConfig(preset);
    const rate = ours(cfg);
    // the FLOP count follows the plain conv stages; DEAR's networks get no figure
    const gflops = cfg.net.arch === 'dear' ? Number.NaN : (rate * stepFlops(cfg)) / 1e9;
    const py = pytorch(cfg);
    console.log(
      `${preset.padEnd(15)} ${rate.toFixed(1).padStart(10)}  ${gflops.toFixed(1).padStart(6)}  ${py ? py.rate.toFixed(1).padStart(13) : 'not installed'.padStart(13)}  ${py ? (rate / py.rate).toFixed(2).padStart(14) : ''}`,
    );
  }
  console.log('\nGFLOPS counts the convolutions and linear layers of the step (backward ~ 2x forward).');
  console.log(
    'PyTorch: bench/pytorch/step.py, the same step on Debian python3-torch (apt-get install python3-torch).',
  );
}
