/**
 * Collective communication over PyTorch's own distributed engine, c10d: a TCPStore rendezvous
 * and a Gloo process group (CPU tensors), or NCCL (CUDA tensors) where the addon was built
 * against a CUDA libtorch. One process group per process, as torch.distributed's default group.
 * Every call blocks until the collective is done; a peer that dies or a collective that outlasts
 * `timeoutMs` throws a NativeError instead of hanging.
 *
 * @example
 *   dist.init({ backend: 'gloo', rank, worldSize: 2, masterAddr: '127.0.0.1', masterPort: 29500 });
 *   dist.allReduce(grads, 'avg');
 *   dist.destroy();
 */
import { createServer } from 'node:net';
import { NativeError, OptionError } from '../errors.ts';
import { native } from './native.ts';
import type { Tensor } from './tensor.ts';

export type Backend = 'gloo' | 'nccl';

export interface InitOptions {
  /** 'gloo' (CPU tensors, default) or 'nccl' (CUDA tensors, CUDA builds only) */
  backend?: Backend;
  rank: number;
  worldSize: number;
  /** address of rank 0, which hosts the rendezvous store (default 127.0.0.1) */
  masterAddr?: string;
  /** its port (default 29500, as torchrun) */
  masterPort?: number;
  /** for the rendezvous and for every collective (default 120 s) */
  timeoutMs?: number;
}

let current: { rank: number; worldSize: number; backend: Backend } | undefined;

/** The backends this build of the addon offers (Gloo needs gloo's headers at build time). */
export function availableBackends(): Backend[] {
  return native.dist_backends().split(',').filter(Boolean) as Backend[];
}

function ops() {
  const n = native;
  if (!n.dist_init || !n.dist_all_reduce || !n.dist_broadcast || !n.dist_barrier || !n.dist_destroy)
    throw new NativeError(
      "this build of the ccig addon has no distributed backend: install gloo's headers (Debian: apt-get install libgloo-dev) and rebuild (npm run build:native)",
    );
  return {
    init: n.dist_init,
    allReduce: n.dist_all_reduce,
    broadcast: n.dist_broadcast,
    barrier: n.dist_barrier,
    destroy: n.dist_destroy,
  };
}

/** Joins the process group: rank 0 starts the store at masterAddr:masterPort, the others connect. */
export function init(o: InitOptions): void {
  const backend = o.backend ?? 'gloo';
  const { rank, worldSize } = o;
  const port = o.masterPort ?? 29500;
  if (!Number.isInteger(worldSize) || worldSize < 1)
    throw new OptionError(`worldSize must be a positive integer, got ${worldSize}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize)
    throw new OptionError(
      `rank must be an integer in [0, ${worldSize - 1}] for worldSize ${worldSize}, got ${rank}`,
    );
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new OptionError(`masterPort must be a port number 1..65535, got ${port}`);
  if (!availableBackends().includes(backend))
    throw new OptionError(
      `backend '${backend}' is not available in this build (available: ${availableBackends().join(', ') || 'none'})`,
    );
  const host = o.masterAddr ?? '127.0.0.1';
  const timeoutMs = o.timeoutMs ?? 120_000;
  try {
    ops().init(backend, rank, worldSize, host, port, timeoutMs);
  } catch (e) {
    throw new NativeError(
      `rank ${rank} of ${worldSize} could not join the process group at ${host}:${port} within ${timeoutMs} ms: ${(e as Error).message}`,
    );
  }
  current = { rank, worldSize, backend };
}

/** Sums (or averages) each tensor across ranks, in place. */
export function allReduce(tensors: readonly Tensor[], op: 'sum' | 'avg' = 'sum'): void {
  if (tensors.length > 0)
    ops().allReduce(
      tensors.map((t) => t.handle),
      op === 'avg',
    );
}

/** Copies each tensor from `root` to every rank, in place. */
export function broadcast(tensors: readonly Tensor[], root = 0): void {
  if (tensors.length > 0)
    ops().broadcast(
      tensors.map((t) => t.handle),
      root,
    );
}

export function barrier(): void {
  ops().barrier();
}

/** Leaves the process group (closes the store and the connections). */
export function destroy(): void {
  if (!current) return;
  ops().destroy();
  current = undefined;
}

export function isInitialized(): boolean {
  return current !== undefined;
}

/** This process's rank and the world size (0 and 1 when no group is initialized). */
export function rank(): number {
  return current?.rank ?? 0;
}
export function worldSize(): number {
  return current?.worldSize ?? 1;
}

/**
 * The torchrun / Slurm / Kubernetes convention: MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK
 * (LOCAL_RANK picks the GPU). Undefined when WORLD_SIZE is not set.
 */
export function optionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): (InitOptions & { localRank: number }) | undefined {
  if (env.WORLD_SIZE === undefined) return undefined;
  const int = (name: string, fallback?: number) => {
    const v = env[name];
    if (v === undefined || v === '') {
      if (fallback !== undefined) return fallback;
      throw new OptionError(`${name} must be set when WORLD_SIZE is (torchrun convention)`);
    }
    const n = Number(v);
    if (!Number.isInteger(n)) throw new OptionError(`${name} must be an integer, got '${v}'`);
    return n;
  };
  return {
    worldSize: int('WORLD_SIZE'),
    rank: int('RANK'),
    localRank: int('LOCAL_RANK', 0),
    masterAddr: env.MASTER_ADDR ?? '127.0.0.1',
    masterPort: int('MASTER_PORT', 29500),
  };
}

/** A TCP port on 127.0.0.1 that is free now, for a local rendezvous (launchers, tests, benches). */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
      .once('error', reject)
      .listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
  });
}
