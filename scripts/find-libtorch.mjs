#!/usr/bin/env node
/**
 * Finds libtorch, in this order:
 *   1. LIBTORCH: a folder with include/ and lib/ (an unpacked libtorch zip, or any install);
 *   2. the `torch` package of `python3`, if importable (a pip install; gives CUDA builds too);
 *   3. the system: Debian/Ubuntu's libtorch-dev (/usr/include/torch, libtorch.so).
 * Prints a JSON record {source, root, includes, libDir, libs, cuda}, or with --gyp=KEY one
 * space-separated value for binding.gyp. Exits 1 with one message naming all three ways.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

function fromRoot(root, source) {
  const inc = join(root, 'include');
  const lib = join(root, 'lib');
  if (!existsSync(join(inc, 'torch/csrc/api/include/torch/torch.h'))) return null;
  if (!existsSync(join(lib, 'libtorch.so')) && !existsSync(join(lib, 'libtorch_cpu.so'))) return null;
  const names = readdirSync(lib);
  const cuda = names.some((n) => n.startsWith('libtorch_cuda'));
  return {
    source,
    root,
    includes: [inc, join(inc, 'torch/csrc/api/include')],
    libDir: lib,
    libs: ['torch', 'torch_cpu', 'c10', ...(cuda ? ['torch_cuda', 'c10_cuda'] : [])],
    cuda,
  };
}

function fromEnv() {
  const root = process.env.LIBTORCH;
  if (!root) return null;
  const found = fromRoot(root, 'LIBTORCH');
  if (!found)
    fail(`LIBTORCH=${root} has no include/torch/csrc/api/include/torch/torch.h or lib/libtorch.so.`);
  return found;
}

function fromPython() {
  try {
    const root = execFileSync('python3', ['-c', 'import torch, os; print(os.path.dirname(torch.__file__))'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return root ? fromRoot(root, 'python3 torch') : null;
  } catch {
    return null;
  }
}

function fromSystem() {
  const inc = '/usr/include';
  if (!existsSync(join(inc, 'torch/csrc/api/include/torch/torch.h'))) return null;
  const libDir = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'].find(
    (d) => existsSync(join(d, 'libtorch.so')),
  );
  if (!libDir) return null;
  return {
    source: 'system',
    root: '/usr',
    includes: [join(inc, 'torch/csrc/api/include')],
    libDir,
    libs: ['torch', 'torch_cpu', 'c10'],
    cuda: false,
  };
}

function fail(detail) {
  console.error(`ccig: libtorch was not found${detail ? ` (${detail})` : ''}.

Possible solutions:
- Debian/Ubuntu: sudo apt-get install -y libtorch-dev libopenblas0-pthread
- A pip install of PyTorch (also gives CUDA): python3 -m pip install torch
- An unpacked libtorch folder: export LIBTORCH=/path/to/libtorch   (with include/ and lib/)
Then run: npm rebuild ccig   (or npm run build in a checkout)`);
  process.exit(1);
}

/** Whether gloo's headers are beside libtorch's or in the system include folder. */
export function hasGloo(found) {
  return [...found.includes, '/usr/include'].some((d) => existsSync(join(d, 'gloo/context.h')));
}

export function findLibtorch() {
  return fromEnv() ?? fromPython() ?? fromSystem();
}

const isMain = process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop());
if (isMain) {
  const found = findLibtorch();
  if (!found) fail();
  const arg = process.argv.find((a) => a.startsWith('--gyp='));
  if (!arg) {
    console.log(JSON.stringify(found, null, 2));
  } else {
    const key = arg.slice(6);
    const values = {
      includes: found.includes,
      libs: found.libs.map((l) => `-l${l}`),
      ldflags: [`-L${found.libDir}`, `-Wl,-rpath,${found.libDir}`, '-Wl,--no-as-needed'],
      defines: [
        ...(found.cuda ? ['CCIG_CUDA=1'] : []),
        // c10d: Gloo needs gloo's headers (Debian: libgloo-dev; pip torch ships them); NCCL comes
        // with CUDA builds (ProcessGroupNCCL.hpp is empty unless USE_C10D_NCCL is defined)
        ...(hasGloo(found) ? ['CCIG_DIST=1', 'USE_C10D_GLOO=1'] : []),
        ...(found.cuda && hasGloo(found) ? ['CCIG_NCCL=1', 'USE_C10D_NCCL=1'] : []),
      ],
    }[key];
    if (!values) fail(`unknown --gyp key ${key}`);
    console.log(values.join(' '));
  }
}
