/** `ccig serve`: starts the web editor for a checkpoint. */
import { z } from 'zod';
import { createServer } from '../server/server.ts';
import { parseOptions, posInt } from './util.ts';

export async function serveCommand(raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(
    z.strictObject({ checkpoint: z.string(), port: posInt.max(65535), host: z.string() }),
    raw,
    'serve',
  );
  const app = await createServer({ checkpoint: o.checkpoint });
  const address = await app.listen({ port: o.port, host: o.host });
  process.stderr.write(`ccig serve: the editor is at ${address}/ (Ctrl-C stops)\n`);
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  await app.close();
}
