#!/usr/bin/env node
/**
 * Finds libtorch, in this order:
 *   1. LIBTORCH: a folder with include/ and lib/ (an unpacked libtorch zip, or any install);
 *   2. the `torch` package of `python3`, if importable (a pip install; gives CUDA builds too);
 *   3. the system: Debian/Ubuntu's libtorch-dev (/usr/include/torch, libtorch.so).
 * Prints a JSON record {source, root, version, includes, libDir, libs, cuda, cxx11Abi, std}, or with
 * --gyp=KEY one space-separated value for binding.gyp. Exits 1 with one message naming all
 * three ways.
 *
 * The same addon source builds against libtorch 1.13 (Debian) and 2.x (pip torch, CUDA or not):
 * native/ccig.cc guards API differences on TORCH_VERSION_MAJOR/MINOR.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** libtorch's version from its headers (2.x: torch/headeronly/version.h; 1.13: torch/version.h). */
function headerVersion(includes) {
  for (const inc of includes)
    for (const rel of ['torch/headeronly/version.h', 'torch/version.h']) {
      const file = join(inc, rel);
      if (!existsSync(file)) continue;
      const text = readFileSync(file, 'utf8');
      const n = (k) => new RegExp(`#define TORCH_VERSION_${k}\\s+(\\d+)`).exec(text)?.[1];
      const [major, minor, patch] = ['MAJOR', 'MINOR', 'PATCH'].map(n);
      if (major !== undefined) return `${major}.${minor}.${patch}`;
    }
  return 'unknown';
}

/** The C++ standard libtorch's headers demand: C++20 for recent 2.x (torch/all.h says so), else 17. */
function cxxStandard(includes) {
  for (const inc of includes) {
    const file = join(inc, 'torch/all.h');
    if (existsSync(file)) return /__cplusplus < 202002L/.test(readFileSync(file, 'utf8')) ? 'c++20' : 'c++17';
  }
  return 'c++17';
}

/**
 * Whether libtorch was built with the C++11 std::string ABI (pip wheels since 2.7, Debian) or
 * the old one (older pip wheels): the addon must match it or linking fails on std::string.
 */
function usesCxx11Abi(libDir) {
  const c10 = join(libDir, 'libc10.so');
  if (!existsSync(c10)) return true;
  return readFileSync(c10).includes('__cxx11');
}

function fromRoot(root, source) {
  const inc = join(root, 'include');
  const lib = join(root, 'lib');
  if (!existsSync(join(inc, 'torch/csrc/api/include/torch/torch.h'))) return null;
  if (!existsSync(join(lib, 'libtorch.so')) && !existsSync(join(lib, 'libtorch_cpu.so'))) return null;
  const names = readdirSync(lib);
  const cuda = names.some((n) => n.startsWith('libtorch_cuda'));
  const includes = [inc, join(inc, 'torch/csrc/api/include')];
  return {
    source,
    root,
    version: headerVersion(includes),
    includes,
    libDir: lib,
    libs: ['torch', 'torch_cpu', 'c10', ...(cuda ? ['torch_cuda', 'c10_cuda'] : [])],
    cuda,
    cxx11Abi: usesCxx11Abi(lib),
    std: cxxStandard(includes),
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
  const includes = [join(inc, 'torch/csrc/api/include')];
  return {
    source: 'system',
    root: '/usr',
    version: headerVersion([inc, ...includes]),
    includes,
    libDir,
    libs: ['torch', 'torch_cpu', 'c10'],
    cuda: false,
    cxx11Abi: usesCxx11Abi(libDir),
    std: cxxStandard(includes),
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

/**
 * Whether gloo's headers are beside libtorch's, or in the system include folder for the system
 * libtorch (Debian's libgloo-dev matches Debian's libtorch, not a pip torch; pip wheels ship no
 * gloo headers, so a pip torch builds without Gloo, and with NCCL where it is a CUDA build).
 */
export function hasGloo(found) {
  const dirs = found.source === 'system' ? [...found.includes, '/usr/include'] : found.includes;
  return dirs.some((d) => existsSync(join(d, 'gloo/context.h')));
}

/** CUDA's own headers (ProcessGroupNCCL.hpp includes cuda.h, which libtorch does not ship). */
function cudaInclude() {
  const dirs = [process.env.CUDA_HOME && join(process.env.CUDA_HOME, 'include'), '/usr/local/cuda/include'];
  return dirs.find((d) => d && existsSync(join(d, 'cuda.h')));
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
    const gloo = hasGloo(found);
    // NCCL: ProcessGroupNCCL.hpp needs CUDA's headers beside a CUDA libtorch (not gloo's);
    // CCIG_NCCL=0 builds without it
    const nccl = found.cuda && process.env.CCIG_NCCL !== '0' ? cudaInclude() : undefined;
    const values = {
      includes: [...found.includes, ...(nccl ? [nccl] : [])],
      libs: found.libs.map((l) => `-l${l}`),
      ldflags: [`-L${found.libDir}`, `-Wl,-rpath,${found.libDir}`, '-Wl,--no-as-needed'],
      std: [`-std=${found.std}`],
      defines: [
        ...(found.cuda ? ['CCIG_CUDA=1'] : []),
        `_GLIBCXX_USE_CXX11_ABI=${found.cxx11Abi ? 1 : 0}`,
        // c10d: Gloo needs gloo's headers (Debian: libgloo-dev); NCCL comes with CUDA builds
        // (ProcessGroupNCCL.hpp is empty unless USE_C10D_NCCL is defined); either one is c10d
        ...(gloo || nccl ? ['CCIG_DIST=1'] : []),
        ...(gloo ? ['CCIG_GLOO=1', 'USE_C10D_GLOO=1'] : []),
        ...(nccl ? ['CCIG_NCCL=1', 'USE_C10D_NCCL=1'] : []),
      ],
    }[key];
    if (!values) fail(`unknown --gyp key ${key}`);
    console.log(values.join(' '));
  }
}
