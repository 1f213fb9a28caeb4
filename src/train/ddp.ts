/**
 * Data-parallel training with DistributedDataParallel's semantics, over torch.dist (c10d):
 * - at start, every parameter and buffer is broadcast from rank 0, so all ranks begin from rank 0's model;
 * - each step, every rank draws the same global batch from one seeded sampler and trains on its own
 *   contiguous shard of it (DistributedSampler: the union of the shards is the single-process batch);
 * - before each step, buffers are broadcast from rank 0 (DDP's broadcast_buffers=True): spectral-norm
 *   vectors and batch-norm running statistics stay identical; the batch statistics a forward uses are
 *   those of the rank's shard (DDP's default, not SyncBatchNorm);
 * - after each backward, gradients are averaged by all-reduce over flat buckets of at most 25 MiB
 *   (DDP's bucket_cap_mb), one collective per bucket instead of one per tensor.
 * With equal shards, averaged gradients equal the gradient of the mean loss over the global batch,
 * so every rank's optimizer takes the step one process would take (test/ddp.test.ts).
 */
import { OptionError } from '../errors.ts';
import type { Device, nn, Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';

export interface DataParallelOptions {
  rank: number;
  worldSize: number;
  /** where the model lives: 'cpu' (Gloo, default) or 'cuda:N' (NCCL); small collectives go there too */
  device?: Device;
  /** gradient bucket size in bytes (default 25 MiB, as DDP) */
  bucketBytes?: number;
}

export class DataParallel {
  readonly rank: number;
  readonly worldSize: number;
  readonly device: Device;
  private readonly bucketBytes: number;

  constructor(o: DataParallelOptions) {
    this.rank = o.rank;
    this.worldSize = o.worldSize;
    this.device = o.device ?? 'cpu';
    this.bucketBytes = o.bucketBytes ?? 25 * 2 ** 20;
  }

  /** Copies rank 0's parameters and buffers to every rank (in place). */
  broadcastModule(m: nn.Module): void {
    torch.noGrad(() => torch.dist.broadcast([...m.parameters(), ...m.namedBuffers().map(([, b]) => b)], 0));
  }

  /** Copies rank 0's buffers (running statistics, spectral-norm vectors) to every rank. */
  broadcastBuffers(m: nn.Module): void {
    torch.noGrad(() =>
      torch.dist.broadcast(
        m.namedBuffers().map(([, b]) => b),
        0,
      ),
    );
  }

  /** This rank's contiguous shard of a global batch (its size must divide by the world size). */
  shard<T>(global: readonly T[]): T[] {
    if (global.length % this.worldSize !== 0)
      throw new OptionError(
        `the batch size ${global.length} must be divisible by the number of processes (${this.worldSize})`,
      );
    const n = global.length / this.worldSize;
    return global.slice(this.rank * n, (this.rank + 1) * n);
  }

  /** Averages the gradients of `params` across ranks, bucket by bucket; parameters without one are skipped. */
  averageGradients(params: readonly Tensor[]): void {
    torch.scope(() => {
      const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== undefined);
      for (const bucket of this.buckets(grads)) {
        const flat = torch.cat(bucket.map((g) => g.flatten()));
        torch.dist.allReduce([flat], 'avg');
        let offset = 0;
        for (const g of bucket) {
          g.copy_(flat.slice(0, offset, offset + g.numel).reshape(g.shape));
          offset += g.numel;
        }
      }
    });
  }

  /** Averages plain numbers (losses for the log) across ranks. */
  averageNumbers(values: readonly number[]): number[] {
    return torch.scope(() => {
      // on the model's device: NCCL reduces CUDA tensors only
      const t = torch.tensor(Float64Array.from(values), { dtype: 'float64', device: this.device });
      torch.dist.allReduce([t], 'avg');
      return t.toNumbers();
    });
  }

  /**
   * How far this rank's parameters are from the ranks' average (max over parameters of the
   * difference of their sums): 0 while the ranks are in step, as they must be.
   */
  parameterDrift(m: nn.Module): number {
    return torch.scope(() =>
      torch.noGrad(() => {
        const own = m.parameters().map((p) => p.to('float64').sum().item());
        const avg = this.averageNumbers(own);
        return Math.max(0, ...own.map((v, i) => Math.abs(v - avg[i])));
      }),
    );
  }

  /** Gradients grouped in order into buckets of at most bucketBytes (a larger tensor gets its own). */
  private buckets(grads: Tensor[]): Tensor[][] {
    const out: Tensor[][] = [];
    let current: Tensor[] = [];
    let bytes = 0;
    for (const g of grads) {
      const size = g.numel * 4;
      if (current.length > 0 && bytes + size > this.bucketBytes) {
        out.push(current);
        current = [];
        bytes = 0;
      }
      current.push(g);
      bytes += size;
    }
    if (current.length > 0) out.push(current);
    return out;
  }
}
