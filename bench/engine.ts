/**
 * `npm run bench -- engine`: the engine's speed on this machine, as one table.
 * - tiny-op overhead: a 1-element add called from TypeScript vs the same add in a C++ loop;
 * - matmul 2048 GFLOPS;
 * - forward+backward GFLOPS of the reference discriminator (4 convs 4x4/2/1, 3->32->64->128->256,
 *   leaky_relu 0.2, 64x64, batch 16, then linear -> 1 and mean).
 */
import * as torch from '../src/torch/index.ts';
import { nn } from '../src/torch/index.ts';
import { native } from '../src/torch/native.ts';

function timeIt(fn: () => void, { minSeconds = 1, warmup = 3 } = {}): number {
  for (let i = 0; i < warmup; i++) fn();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minSeconds * 1000) {
    fn();
    n++;
  }
  return (performance.now() - t0) / 1000 / n; // seconds per call
}

export default async function engine(): Promise<void> {
  const { version } = torch.engineInfo();
  const rows: [string, string, string][] = [];

  // tiny op overhead
  const a = torch.ones([1]);
  const b = torch.ones([1]);
  const calls = 200_000;
  for (let i = 0; i < 10_000; i++) a.add(b).dispose();
  let t0 = performance.now();
  for (let i = 0; i < calls; i++) a.add(b).dispose();
  const tsPerCall = ((performance.now() - t0) / calls) * 1000; // µs
  const cppPerCall = (torch.scope(() => native.bench_native_add(a.handle, b.handle, calls)) / calls) * 1e6;
  t0 = performance.now();
  for (let i = 0; i < calls; i++) torch.scope(() => a.add(b));
  const scopedPerCall = ((performance.now() - t0) / calls) * 1000;
  rows.push([
    'tiny add from TS (create + dispose)',
    `${tsPerCall.toFixed(2)} µs/call`,
    `C++ loop ${cppPerCall.toFixed(2)} µs: overhead ${(tsPerCall - cppPerCall).toFixed(2)} µs`,
  ]);
  rows.push([
    'tiny add inside scope()',
    `${scopedPerCall.toFixed(2)} µs/call`,
    `overhead ${(scopedPerCall - cppPerCall).toFixed(2)} µs`,
  ]);

  // matmul 2048
  const m = torch.randn([2048, 2048]);
  const mmSec = timeIt(() => m.matmul(m).dispose(), { minSeconds: 2 });
  const mmGflops = (2 * 2048 ** 3) / mmSec / 1e9;
  rows.push(['matmul 2048x2048 float32', `${mmGflops.toFixed(1)} GFLOPS`, `${(mmSec * 1000).toFixed(1)} ms`]);

  // reference discriminator
  const chans = [3, 32, 64, 128, 256];
  const convs = chans.slice(1).map((c, i) => new nn.Conv2d(chans[i], c, 4, { stride: 2, padding: 1 }));
  const fc = new nn.Linear(256 * 4 * 4, 1);
  const x = torch.randn([16, 3, 64, 64]);
  const fwdBwd = () =>
    torch.scope(() => {
      let h = x;
      for (const c of convs) h = c.forward(h).leakyRelu(0.2);
      fc.forward(h.flatten(1)).mean().backward();
    });
  // FLOPs: forward 2*MACs per conv; backward ~2x forward (input grad + weight grad); first conv has no input grad
  let size = 64;
  let fwd = 0;
  let firstConv = 0;
  chans.slice(1).forEach((c, i) => {
    size /= 2;
    const f = 2 * 16 * c * size * size * chans[i] * 16;
    if (i === 0) firstConv = f;
    fwd += f;
  });
  fwd += 2 * 16 * 256 * 16;
  const total = fwd * 3 - firstConv; // no gradient w.r.t. the input images
  const dSec = timeIt(fwdBwd, { minSeconds: 3 });
  rows.push([
    'discriminator fwd+bwd (batch 16, 64x64)',
    `${(total / dSec / 1e9).toFixed(1)} GFLOPS`,
    `${(dSec * 1000).toFixed(1)} ms/step, ${(16 / dSec).toFixed(0)} img/s`,
  ]);

  const coretype = process.env.OPENBLAS_CORETYPE ?? 'auto';
  console.log(
    `\nengine benchmark — libtorch ${version}, ${torch.getNumThreads()} threads, OPENBLAS_CORETYPE=${coretype}\n`,
  );
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  for (const [k, v, note] of rows) console.log(`${k.padEnd(w0)}  ${v.padStart(w1)}  ${note}`);
  console.log('\ntargets (2 cores): overhead <= 3 µs, matmul >= 150 GFLOPS, discriminator >= 55 GFLOPS');
}
