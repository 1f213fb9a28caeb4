/** `ccig serve`: starts the web editor for a checkpoint. */
import { z } from 'zod';
import { OptionError } from '../errors.ts';
import { createServer, DEFAULT_MAX_BATCH, DEFAULT_MAX_QUEUE } from '../server/server.ts';
import { deviceFlag, int, parseOptions, posInt, useDevice } from './util.ts';

export async function serveCommand(raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(
    z.strictObject({
      checkpoint: z.string(),
      port: posInt.max(65535),
      host: z.string(),
      device: deviceFlag,
      refine: int.min(0).max(10000).default(0),
      maxQueue: posInt.default(DEFAULT_MAX_QUEUE),
      maxBatch: posInt.max(256).default(DEFAULT_MAX_BATCH),
      threads: posInt.optional(),
      edit: z.enum(['residual', 'plain']).optional(),
      showAll: z.boolean().default(false),
    }),
    raw,
    'serve',
  );
  const app = await createServer({
    checkpoint: o.checkpoint,
    device: useDevice(o.device),
    refine: o.refine,
    maxQueue: o.maxQueue,
    maxBatch: o.maxBatch,
    threads: o.threads,
    edit: o.edit,
    showAll: o.showAll,
  });
  let address: string;
  try {
    address = await app.listen({ port: o.port, host: o.host });
  } catch (e) {
    await app.close();
    throw listenError(e, o.port, o.host);
  }
  process.stderr.write(`ccig serve: the editor is at ${address}/ (Ctrl-C stops)\n`);
  // Ctrl-C, or SIGTERM from a service manager or container runtime: close cleanly
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await app.close();
}

/** A port or address that cannot be used, as the option to change. */
function listenError(e: unknown, port: number, host: string): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return new OptionError(`port ${port} on ${host} is in use by another program: choose another --port`);
  if (code === 'EACCES')
    return new OptionError(`port ${port} needs root privileges on this machine: choose a --port above 1023`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new OptionError(
      `${host} is not an address of this machine: choose another --host (e.g. 127.0.0.1)`,
    );
  return e;
}
