/**
 * Process-wide engine settings: threads, seeds, the random generator's state, devices.
 */
import { OptionError } from '../errors.ts';
import { native as N } from './native.ts';
import { checkDevice, type Device, Tensor } from './tensor.ts';

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

/** A device's default generator state (a CPU uint8 tensor; the CPU's unless a device is named). */
export function getRngState(device: Device = 'cpu'): Tensor {
  return new Tensor(N.get_rng_state(device === 'cpu' ? undefined : checkDevice(device)));
}
/** Restores a generator state saved by getRngState (the tensor may live on any device). */
export function setRngState(state: Tensor, device: Device = 'cpu'): void {
  N.set_rng_state(state.handle, device === 'cpu' ? undefined : checkDevice(device));
}

/** Number of CUDA devices usable by the libtorch this addon was built against (0 on CPU builds). */
export function cudaDeviceCount(): number {
  return N.cuda_device_count();
}
export function cudaAvailable(): boolean {
  return cudaDeviceCount() > 0;
}

/** The best device available: 'cuda' when present, else 'cpu'. */
export function bestDevice(): 'cpu' | 'cuda' {
  return cudaAvailable() ? 'cuda' : 'cpu';
}

/** Waits until the queued GPU work is done (timings); a no-op on the CPU. */
export function synchronize(): void {
  N.cuda_synchronize();
}

/** Bytes the current GPU has in use (libtorch's cached blocks included), or undefined. */
export function cudaMemoryUsed(): number | undefined {
  const b = N.cuda_memory_used();
  return b >= 0 ? b : undefined;
}

export interface EngineInfo {
  /** libtorch's version, e.g. 1.13.0 or 2.11.0 */
  version: string;
  /** the CUDA runtime libtorch was built with (e.g. '13.0'), or undefined for a CPU build */
  cuda: string | undefined;
  /** the CUDA version the GPU driver supports (e.g. '13.0'), or undefined without a driver */
  driverCuda: string | undefined;
  /** the GPUs libtorch can use */
  devices: { index: number; name: string; totalBytes: number }[];
  /** libtorch's build configuration (BLAS, oneDNN, CUDA) */
  config: string;
}

/** What engine this is: libtorch's version, its CUDA, the GPUs it sees, its build settings. */
export function engineInfo(): EngineInfo {
  const config = N.config();
  const cuda = /CUDA Runtime (\d+\.\d+)/.exec(config)?.[1] ?? /CUDA_VERSION=(\d+\.\d+)/.exec(config)?.[1];
  const list = N.cuda_devices();
  const driver = list.driver;
  return {
    version: N.version(),
    cuda,
    driverCuda: driver ? `${Math.floor(driver / 1000)}.${(driver % 1000) / 10}` : undefined,
    devices: [...list],
    config,
  };
}
