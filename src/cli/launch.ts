/**
 * `ccig train --nproc N` on one machine: starts N copies of the same command as the ranks of a
 * data-parallel run, with the torchrun environment (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR,
 * MASTER_PORT) and the CPU threads divided among them. Rank 0 keeps the terminal; the others'
 * output is dropped except their errors. Signals are passed on, so Ctrl-C stops every rank after
 * the same step with one checkpoint (the ranks run in their own process group, so a terminal's
 * Ctrl-C reaches them once, through this process). Across machines, start the ranks with any launcher that sets
 * that environment (torchrun-style scripts, Slurm's srun, a Kubernetes job) instead.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dist } from '../torch/index.ts';

/** Runs `argv` (this process's own command line) as `nproc` ranks; resolves with the exit code. */
export async function launchLocalRanks(nproc: number, threads: number | undefined): Promise<number> {
  const port = Number(process.env.MASTER_PORT) || (await dist.findFreePort());
  const perRank = Math.max(1, Math.floor((threads ?? availableParallelism()) / nproc));
  const args = [...process.execArgv, ...process.argv.slice(1), '--threads', String(perRank)];
  process.stderr.write(
    `ccig train: starting ${nproc} processes (${perRank} thread${perRank > 1 ? 's' : ''} each) on 127.0.0.1:${port}\n`,
  );
  const children = Array.from({ length: nproc }, (_, rank) =>
    spawn(process.execPath, args, {
      env: {
        ...process.env,
        RANK: String(rank),
        LOCAL_RANK: String(rank),
        WORLD_SIZE: String(nproc),
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: String(port),
      },
      stdio: rank === 0 ? 'inherit' : ['ignore', 'ignore', 'inherit'],
      detached: true,
    }),
  );
  const forward = (signal: NodeJS.Signals) => {
    for (const c of children) c.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  // a rank that fails (a checkpoint rank 0 cannot write, a full disk at the start) leaves the
  // others waiting in a collective for ever: stop them. Only rank 0 writes files, and it has
  // exited, so killing the rest loses nothing; its message says which checkpoint is intact.
  let firstFailure: number | undefined;
  await Promise.all(
    children.map(
      (c) =>
        new Promise<number>((resolve) =>
          c.on('exit', (code, sig) => {
            const result = code ?? (sig ? 1 : 0);
            if (result !== 0 && firstFailure === undefined) {
              firstFailure = result;
              for (const other of children)
                if (other !== c && other.exitCode === null && other.signalCode === null)
                  other.kill('SIGKILL');
            }
            resolve(result);
          }),
        ),
    ),
  );
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  return firstFailure ?? 0;
}
