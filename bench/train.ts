/**
 * `npm run bench -- train [--device cpu|cuda] [--batch N] [--presets a,b] [--seconds S]
 * [--repeats R] [--threads T] [--python PATH]`: images/s of one full CCIG training step (D step +
 * E and G/prior step) for each preset (default pendulum-small, celeba-smile-small and celeba-smile
 * at batch 64 on the CPU), the GFLOPS that rate means, the matmul GFLOPS of the device in the same
 * run, and the same step written in PyTorch (bench/pytorch/step.py, run by the first python3 that
 * has torch: --python, python3 on PATH, /usr/bin/python3 with Debian's python3-torch over the same
 * libtorch, or a pip torch with CUDA) on the same device.
 *
 * Both sides run in their own processes with the same settings, printed with the results: the
 * threads, OMP_WAIT_POLICY=PASSIVE, and the same glibc allocator policy: first the addon's (it
 * calls mallopt(M_MMAP_MAX, 0) and mallopt(M_TRIM_THRESHOLD, INT_MAX) when it loads; the twin gets
 * MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647), then glibc's defaults on both
 * (CCIG_KEEP_MALLOC=1 skips the addon's mallopt). Each row times at least S seconds and 30 steps,
 * R times (default 3), alternating the sides; it prints the median and the range.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type CcigConfig, latentDim, resolveConfig } from '../src/model/config.ts';
import { stageWidths } from '../src/model/encoder.ts';
import * as torch from '../src/torch/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    device: { type: 'string', default: 'cpu' },
    batch: { type: 'string', default: '64' },
    presets: { type: 'string', default: 'pendulum-small,celeba-smile-small,celeba-smile' },
    seconds: { type: 'string', default: '8' },
    repeats: { type: 'string', default: '3' },
    threads: { type: 'string' },
    python: { type: 'string' },
  },
  allowPositionals: true,
});
const DEVICE = torch.checkDevice(flags.device);
const BATCH = Number(flags.batch);
const SECONDS = Number(flags.seconds);
const REPEATS = Number(flags.repeats);
const MIN_STEPS = 30;
const THREADS = flags.threads ? Number(flags.threads) : torch.getNumThreads();
const PRESETS = flags.presets.split(',');
torch.setDefaultDevice(DEVICE);

/** The two allocator policies, each given to both sides. */
const POLICIES = [
  {
    name: 'mallopt',
    ccig: {},
    twin: { MALLOC_MMAP_MAX_: '0', MALLOC_TRIM_THRESHOLD_: '2147483647' },
  },
  { name: 'glibc defaults', ccig: { CCIG_KEEP_MALLOC: '1' }, twin: {} },
] as const;

/** The settings both sides run with; CCIG_KEEP_MALLOC and MALLOC_* come from the policy only. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OMP_WAIT_POLICY: 'PASSIVE',
    OMP_NUM_THREADS: String(THREADS),
  };
  for (const k of ['CCIG_KEEP_MALLOC', 'MALLOC_MMAP_MAX_', 'MALLOC_TRIM_THRESHOLD_']) delete env[k];
  return env;
}

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

interface SideResult {
  imagesPerSecond: number;
  steps: number;
  threads: number;
  ompWaitPolicy: string | null;
  malloc: string;
  torch?: string;
  /** ccig: driver-level bytes in use after the row (libtorch's cache included) */
  gpuUsedMiB?: number;
  /** twin: torch.cuda.max_memory_allocated over the timed steps */
  peakAllocatedMiB?: number;
}

/** The last line of a child's output as JSON, or null with its error said once. */
function lastJson(r: ReturnType<typeof spawnSync>, what: string): SideResult | null {
  if (r.status !== 0) {
    const err = String(r.stderr ?? '').trim();
    if (!/No module named 'torch'/.test(err))
      console.error(`${what} failed:\n${err.split('\n').slice(-5).join('\n')}`);
    return null;
  }
  return JSON.parse(String(r.stdout).trim().split('\n').pop()!);
}

function ours(preset: string, env: Record<string, string>): SideResult | null {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(here, 'helpers/train-rate.ts'),
      preset,
      String(BATCH),
      String(SECONDS),
      String(MIN_STEPS),
      String(THREADS),
      DEVICE,
    ],
    { encoding: 'utf8', env: { ...baseEnv(), ...env } },
  );
  return lastJson(r, `ccig's step (${preset})`);
}

/** The first python with torch: --python, python3 on PATH, Debian's /usr/bin/python3. */
function findPython(): string | null {
  const candidates = flags.python ? [flags.python] : ['python3', '/usr/bin/python3'];
  for (const py of candidates)
    if (spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) return py;
  return null;
}

function pytorch(python: string, cfg: CcigConfig, env: Record<string, string>): SideResult | null {
  const names = cfg.attributes;
  // A's mask: the given graph's edges, or every off-diagonal entry for a learned graph
  const mask = names.flatMap((from, i) =>
    names.map((to, j) =>
      cfg.scm.structure === 'given'
        ? cfg.scm.edges.some(([a, b]) => a === from && b === to)
          ? 1
          : 0
        : i === j
          ? 0
          : 1,
    ),
  );
  const args = [
    cfg.net.channels,
    cfg.net.fc,
    cfg.net.dFc,
    cfg.net.dJointFc,
    latentDim(cfg),
    cfg.attributes.length,
    BATCH,
    SECONDS,
    THREADS,
    cfg.train.lambdaCyc.toFixed(1),
    cfg.net.arch ?? 'dcgan',
    DEVICE,
    MIN_STEPS,
    cfg.train.continuousSupervision === 'mse' ? 'mse' : 'bce',
    cfg.train.lambdaScm.toFixed(1),
    mask.join(','),
  ].map(String);
  const r = spawnSync(python, [join(here, 'pytorch/step.py'), ...args], {
    encoding: 'utf8',
    env: { ...baseEnv(), ...env },
  });
  return lastJson(r, `bench/pytorch/step.py (${cfg.preset})`);
}

/** Median and range of some rates, e.g. "312.4 (298.1-320.0)". */
function summary(rates: number[]): string {
  if (rates.length === 0) return '-';
  const s = [...rates].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return `${median.toFixed(1)} (${s[0].toFixed(0)}-${s[s.length - 1].toFixed(0)})`;
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** What the twin does differently from ccig's step for this preset, said under the table. */
function differences(cfg: CcigConfig): string[] {
  const out: string[] = [];
  if (cfg.scm.parents === 'mlp') out.push('MLP parents in ccig, linear A in the twin');
  if (cfg.scm.mechanism !== 'linear') out.push(`${cfg.scm.mechanism} mechanisms in ccig, linear in the twin`);
  if (cfg.scm.structure === 'learned' && cfg.scm.search !== 'exact')
    out.push("ccig adds the learned graph's acyclicity and L1 penalty; the twin does not");
  if ((cfg.train.lambdaRec ?? 0) > 0) out.push('ccig adds the reconstruction loss; the twin does not');
  return out;
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
  const python = findPython();
  const where = DEVICE.startsWith('cuda')
    ? `${engine.devices[0]?.name ?? 'GPU'}, libtorch ${engine.version} (CUDA ${engine.cuda})`
    : `libtorch ${engine.version}`;
  console.log(
    `\ntraining-step benchmark — ${DEVICE}: ${where}; batch ${BATCH}; each row >= ${SECONDS} s and >= ${MIN_STEPS} steps, ${REPEATS} runs per side (median, range); matmul 2048 fp32 here: ${matmul.toFixed(1)} GFLOPS`,
  );
  console.log(
    `PyTorch twin: ${python ? `${python} bench/pytorch/step.py` : 'no python3 with torch found'}\n`,
  );
  const gpu = DEVICE.startsWith('cuda');
  console.log(
    `preset             allocator        ccig img/s            GFLOPS  PyTorch img/s         ccig / PyTorch${gpu ? '  GPU MiB ccig (driver) / PyTorch (peak alloc.)' : ''}`,
  );
  const settings = new Set<string>();
  const notes = new Map<string, string[]>();
  for (const preset of PRESETS) {
    const cfg = resolveConfig(preset);
    notes.set(preset, differences(cfg));
    for (const policy of POLICIES) {
      const mine: SideResult[] = [];
      const twin: SideResult[] = [];
      for (let r = 0; r < REPEATS; r++) {
        const a = ours(preset, policy.ccig);
        if (a) mine.push(a);
        const b = python ? pytorch(python, cfg, policy.twin) : null;
        if (b) twin.push(b);
      }
      for (const x of mine)
        settings.add(`ccig: ${x.threads} threads, OMP_WAIT_POLICY=${x.ompWaitPolicy}, ${x.malloc}`);
      for (const x of twin)
        settings.add(
          `PyTorch ${x.torch}: ${x.threads} threads, OMP_WAIT_POLICY=${x.ompWaitPolicy}, ${x.malloc}`,
        );
      const ourRates = mine.map((x) => x.imagesPerSecond);
      const twinRates = twin.map((x) => x.imagesPerSecond);
      // the FLOP count follows the plain conv stages; DEAR's networks get no figure
      const gflops =
        cfg.net.arch === 'dear' || ourRates.length === 0
          ? Number.NaN
          : (median(ourRates) * stepFlops(cfg)) / 1e9;
      const ratio =
        ourRates.length && twinRates.length ? (median(ourRates) / median(twinRates)).toFixed(2) : '';
      const mem = gpu
        ? `${mine.length ? Math.max(...mine.map((x) => x.gpuUsedMiB ?? 0)) : '-'} / ${twin.length ? Math.max(...twin.map((x) => x.peakAllocatedMiB ?? 0)) : '-'}`
        : '';
      console.log(
        `${preset.padEnd(18)} ${policy.name.padEnd(15)}  ${summary(ourRates).padEnd(20)}  ${(Number.isNaN(gflops) ? '–' : gflops.toFixed(1)).padStart(6)}  ${(python ? summary(twinRates) : 'not installed').padEnd(20)}  ${ratio.padStart(14)}  ${mem.padStart(gpu ? 20 : 0)}`,
      );
    }
  }
  console.log('\nEach side ran with:');
  for (const line of settings) console.log(`  ${line}`);
  console.log(
    '\nGFLOPS counts the convolutions and linear layers of the step (backward ~ 2x forward), at the median rate.',
  );
  console.log(
    'PyTorch: bench/pytorch/step.py, the same step (the same losses: adversarial, supervision, SCM consistency on A masked by the graph, latent cycle; losses read back each step, as here).',
  );
  for (const [preset, diffs] of notes)
    if (diffs.length) console.log(`  ${preset}: not the same work: ${diffs.join('; ')}.`);
  if (gpu)
    console.log(
      "GPU MiB: not comparable. ccig = memory the driver reports in use after the row (libtorch's cached blocks included; the addon has no peak-allocated counter); PyTorch = torch.cuda.max_memory_allocated over the timed steps.",
    );
}
