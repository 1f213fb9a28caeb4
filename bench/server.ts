/**
 * `npm run bench -- server [--clients 1,16,64] [--seconds S] [--requests N] [--threads T]
 * [--max-queue Q] [--max-batch B]`: the editor's HTTP API under load, for the shipped
 * pendulum-small model (64x64), served on 127.0.0.1 only.
 *
 * Each client is an editor session: its own context (as after "sample"), dragging one slider,
 * one intervention after another, each sent when the previous answer has arrived (so a context's
 * factual image is rendered once and then served encoded, as in the editor). For each number of
 * concurrent clients: requests/s answered, median and p99 round trip, and any request refused
 * (503) or failed. Each level runs for S seconds or N requests, whichever comes first, after a
 * short warm-up. Target on 2 cores, 64 clients: >= 300 requests/s, p99 <= 500 ms, none refused.
 */
import { existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createServer, DEFAULT_MAX_BATCH, DEFAULT_MAX_QUEUE } from '../src/server/server.ts';

const model = join(dirname(fileURLToPath(import.meta.url)), '../models/pendulum-small.safetensors');

interface Info {
  preset: string;
  imageSize: number;
  zFree: number;
  attributes: { name: string; min: number; max: number }[];
}

/** One POST over a kept-alive connection: its status and round-trip milliseconds. */
function post(agent: Agent, port: number, body: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        path: '/api/intervene',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          // read the answer as the editor does
          JSON.parse(Buffer.concat(chunks).toString('utf8'));
          resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const quantile = (sorted: readonly number[], q: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

export default async function serverBench(): Promise<void> {
  const { values: flags } = parseArgs({
    args: process.argv.slice(2),
    options: {
      clients: { type: 'string', default: '1,16,64' },
      seconds: { type: 'string', default: '10' },
      requests: { type: 'string', default: '5000' },
      threads: { type: 'string' },
      'max-queue': { type: 'string', default: String(DEFAULT_MAX_QUEUE) },
      'max-batch': { type: 'string', default: String(DEFAULT_MAX_BATCH) },
    },
    allowPositionals: true,
  });
  if (!existsSync(model)) {
    console.log(`skipped: ${model} is missing`);
    return;
  }
  const levels = flags.clients.split(',').map(Number);
  const seconds = Number(flags.seconds);
  const cap = Number(flags.requests);
  const threads = flags.threads ? Number(flags.threads) : availableParallelism();
  const maxQueue = Number(flags['max-queue']);
  const maxBatch = Number(flags['max-batch']);
  const app = await createServer({ checkpoint: model, threads, maxQueue, maxBatch });
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as { port: number }).port;
    const info = (await (await fetch(`http://127.0.0.1:${port}/api/info`)).json()) as Info;
    const stats = async () =>
      (await (await fetch(`http://127.0.0.1:${port}/api/stats`)).json()) as {
        batches: number;
        edits: number;
      };
    const a = info.attributes[1];
    const m = info.attributes.length;
    console.log(
      `\nserver benchmark — ${info.preset}, ${info.imageSize}px, model threads ${threads}, max queue ${maxQueue}, max batch ${maxBatch}; ${seconds} s or ${cap} requests per row, 127.0.0.1\n`,
    );
    console.log('clients  requests/s  median ms  p99 ms  answered  refused (503)  failed  mean batch');
    for (const clients of levels) {
      const agent = new Agent({ keepAlive: true, maxSockets: clients });
      let sent = 0;
      const times: number[] = [];
      let refused = 0;
      let failed = 0;
      let stop = Number.POSITIVE_INFINITY;
      /** A session: context c, the slider swept back and forth until the row ends. */
      const session = async (c: number, until: () => boolean, record: boolean) => {
        const context = {
          eps: Array.from({ length: m }, (_, i) => Math.sin(7 * c + i)),
          zr: Array.from({ length: info.zFree }, (_, i) => Math.cos(3 * c + i)),
        };
        for (let step = 0; !until(); step++) {
          const v = a.min + ((a.max - a.min) * ((step * 7 + c) % 100)) / 100;
          const body = JSON.stringify({ context, interventions: { [a.name]: v }, mode: 'causal' });
          if (record) sent++;
          try {
            const r = await post(agent, port, body);
            if (!record) continue;
            if (r.status === 200) times.push(r.ms);
            else if (r.status === 503) refused++;
            else failed++;
          } catch {
            if (record) failed++;
          }
        }
      };
      // warm-up: every session's first request (its factual image), then a second
      const warm = Array.from({ length: clients }, (_, c) => {
        let n = 0;
        return session(c, () => n++ >= 2, false);
      });
      await Promise.all(warm);
      const before = await stats();
      const t0 = performance.now();
      stop = t0 + seconds * 1000;
      await Promise.all(
        Array.from({ length: clients }, (_, c) =>
          session(c, () => performance.now() >= stop || sent >= cap, true),
        ),
      );
      const wall = (performance.now() - t0) / 1000;
      const after = await stats();
      agent.destroy();
      times.sort((x, y) => x - y);
      const batches = after.batches - before.batches;
      const meanBatch = batches > 0 ? (after.edits - before.edits) / batches : Number.NaN;
      console.log(
        `${String(clients).padStart(7)}  ${(times.length / wall).toFixed(1).padStart(10)}  ${quantile(times, 0.5).toFixed(1).padStart(9)}  ${quantile(times, 0.99).toFixed(1).padStart(6)}  ${String(times.length).padStart(8)}  ${String(refused).padStart(13)}  ${String(failed).padStart(6)}  ${meanBatch.toFixed(1).padStart(10)}`,
      );
    }
    console.log(
      '\nrequests/s: answers (200) per second of the row. Each client keeps one context (its factual image is encoded once, then reused) and sends its next intervention when the answer arrives. Target on 2 quiet cores, 64 clients: >= 300 requests/s, p99 <= 500 ms, none refused.',
    );
  } finally {
    await app.close();
  }
}
