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
 * With equal shards, averaged gradients equal the gradient of the mean loss over the global batch.
 * Terms that are not means over rows (a mean over the labelled rows only, a log of a per-node
 * variance) are computed from sums over the whole global batch (BatchShard.sum: one all-reduce
 * each), and the step's random draws are made for the global batch, each rank taking its rows:
 * every rank's optimizer takes the step one process would take (test/ddp.test.ts).
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

/**
 * A process's rows of a global batch, as the training objective sees them. `sum` totals a
 * per-shard statistic (a count, a sum of squares) over every shard. Its value is the global
 * total; its gradient is the shard's own times the number of shards, so that the ranks' averaged
 * gradients (averageGradients) are those of the global total. A loss built from such totals is
 * thus the one-process loss on every rank, with the one-process gradient after averaging.
 */
export interface BatchShard {
  /** rows of the global batch before this shard's */
  offset: number;
  /** rows of this shard */
  rows: number;
  /** rows of the global batch */
  globalRows: number;
  sum(x: Tensor): Tensor;
}

/** The whole batch in one process: sums are what they are. */
export function wholeBatch(rows: number): BatchShard {
  return { offset: 0, rows, globalRows: rows, sum: (x) => x };
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

  /** This rank's `rows` rows of a global batch of worldSize equal shards (see BatchShard). */
  batchShard(rows: number): BatchShard {
    const world = this.worldSize;
    return {
      offset: this.rank * rows,
      rows,
      globalRows: rows * world,
      sum: (x) => {
        const total = torch.noGrad(() => x.detach().clone());
        torch.dist.allReduce([total], 'sum');
        // value: the total (x - x.detach() is exactly 0); gradient: world * dx
        return x.requiresGrad ? total.add(x.sub(x.detach()).mul(world)) : total;
      },
    };
  }

  /** Averages plain numbers (losses for the log) across ranks. */
  averageNumbers(values: readonly number[]): number[] {
    return this.reduceNumbers(values, 'avg');
  }

  /**
   * How far the ranks' parameters are apart: the largest |p - p on rank 0| over every element of
   * every parameter, on any rank (the same number on every rank). 0 while the ranks are in step,
   * as they must be. Parameters travel in buckets of at most bucketBytes.
   */
  parameterDrift(m: nn.Module): number {
    return torch.scope(() =>
      torch.noGrad(() => {
        let own = 0;
        for (const bucket of this.buckets(m.parameters()))
          torch.scope(() => {
            const mine = torch.cat(bucket.map((p) => p.flatten()));
            const first = mine.clone();
            torch.dist.broadcast([first], 0);
            own = Math.max(own, mine.sub(first).abs().max().item());
          });
        // every rank's figure in its own slot: all-reduce offers sums, not maxima
        const slots = new Array<number>(this.worldSize).fill(0);
        slots[this.rank] = own;
        return Math.max(...this.reduceNumbers(slots, 'sum'));
      }),
    );
  }

  private reduceNumbers(values: readonly number[], op: 'sum' | 'avg'): number[] {
    return torch.scope(() => {
      // on the model's device: NCCL reduces CUDA tensors only
      const t = torch.tensor(Float64Array.from(values), { dtype: 'float64', device: this.device });
      torch.dist.allReduce([t], op);
      return t.toNumbers();
    });
  }

  /** Tensors grouped in order into buckets of at most bucketBytes (a larger tensor gets its own). */
  private buckets(tensors: Tensor[]): Tensor[][] {
    const out: Tensor[][] = [];
    let current: Tensor[] = [];
    let bytes = 0;
    for (const g of tensors) {
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
