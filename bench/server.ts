/**
 * `npm run bench -- server`: round-trip time of one intervention through the editor's HTTP API
 * (request -> model thread -> PNG -> response), for the shipped pendulum-small model (64x64).
 * Target: <= 100 ms on 2 cores.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from '../src/server/server.ts';

const model = join(dirname(fileURLToPath(import.meta.url)), '../models/pendulum-small.safetensors');

export default async function serverBench(): Promise<void> {
  if (!existsSync(model)) {
    console.log(`skipped: ${model} is missing`);
    return;
  }
  const app = await createServer({ checkpoint: model });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const info = await (await fetch(`${base}/api/info`)).json();
  const context = { eps: new Array(info.attributes.length).fill(0.1), zr: new Array(info.zFree).fill(0) };
  const one = async (v: number) => {
    const t0 = performance.now();
    const r = await fetch(`${base}/api/intervene`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ context, interventions: { [info.attributes[1].name]: v }, mode: 'causal' }),
    });
    await r.json();
    return performance.now() - t0;
  };
  const a = info.attributes[1];
  for (let i = 0; i < 5; i++) await one(a.min);
  const times: number[] = [];
  for (let i = 0; i < 100; i++) times.push(await one(a.min + ((a.max - a.min) * i) / 100));
  times.sort((x, y) => x - y);
  const t1 = performance.now();
  await Promise.all(Array.from({ length: 100 }, (_, i) => one(a.min + ((a.max - a.min) * i) / 100)));
  const burst = performance.now() - t1;
  await app.close();
  console.log(`\nserver benchmark — ${info.preset}, ${info.imageSize}px, 100 sequential interventions\n`);
  console.log(
    `median ${times[50].toFixed(1)} ms, p90 ${times[90].toFixed(1)} ms, max ${times[99].toFixed(1)} ms per round trip (target <= 100 ms)`,
  );
  console.log(
    `100 concurrent requests: all done in ${burst.toFixed(0)} ms (${(burst / 100).toFixed(1)} ms each, served one at a time)`,
  );
}
