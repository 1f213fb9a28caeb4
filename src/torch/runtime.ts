/**
 * Process-wide engine settings: threads, seeds, the random generator's state, devices.
 */
import { OptionError } from '../errors.ts';
import { native as N } from './native.ts';
import { Tensor } from './tensor.ts';

/** Intra-op threads libtorch uses (set to all cores when the addon loads). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1)
    throw new OptionError(`Expected a positive integer for threads but received ${n}`);
  N.set_num_threads(n);
}
export function getNumThreads(): number {
  return N.get_num_threads();
}

/** Seeds libtorch's generators: the same seed gives the same numbers. */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0)
    throw new OptionError(`Expected a non-negative integer for seed but received ${seed}`);
  N.manual_seed(seed);
}

/** The CPU generator's full state (uint8 tensor), to save in checkpoints. */
export function getRngState(): Tensor {
  return new Tensor(N.get_rng_state());
}
export function setRngState(state: Tensor): void {
  N.set_rng_state(state.handle);
}

/** Number of CUDA devices usable by the libtorch this addon was built against (0 on CPU builds). */
export function cudaDeviceCount(): number {
  return N.cuda_device_count();
}
export function cudaAvailable(): boolean {
  return cudaDeviceCount() > 0;
}

/** The best device available: 'cuda' when present, else 'cpu'. */
export function defaultDevice(): 'cpu' | 'cuda' {
  return cudaAvailable() ? 'cuda' : 'cpu';
}

/** libtorch's version string and build configuration (BLAS, oneDNN, CUDA). */
export function engineInfo(): { version: string; config: string } {
  return { version: N.version(), config: N.config() };
}
