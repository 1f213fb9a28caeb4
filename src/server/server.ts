/**
 * `ccig serve`: the web editor's HTTP server (fastify). JSON API over a model that runs in a
 * worker thread, so the server itself never blocks; the worker decodes the edits waiting for it
 * in one batch (model-worker.ts):
 *   GET  /api/info                     attributes, ranges, learned graph with weights, descendants
 *   POST /api/sample     {n, seed}     random starting points (context + image)
 *   POST /api/intervene  {context, interventions, mode}  do() (causal) or the non-causal edit
 *   POST /api/encode     multipart image  the context of an uploaded image (counterfactual mode)
 *   GET  /api/stats                    requests waiting for the model, batches and their sizes
 * and the page itself from web/. Bad input gets a 4xx with a message; the server stays up. At most
 * `maxQueue` requests wait for the model: beyond that a request gets 503 with Retry-After at
 * once, so latency stays bounded under any load instead of growing with the queue.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { labelRange } from '../data/dataset.ts';
import { CheckpointError } from '../errors.ts';

const here = dirname(fileURLToPath(import.meta.url));
const WEB = join(here, '../../web');
const MAX_UPLOAD = 8 * 1024 * 1024;

interface Info {
  attributes: { name: string; kind: 'binary' | 'continuous'; min: number; max: number }[];
  imageSize: number;
  zFree: number;
  [k: string]: unknown;
}

/** Batches the model thread answered, for /api/stats. */
interface BatchStats {
  /** requests sent to the model thread and not answered yet */
  inFlight: number;
  batches: number;
  /** edits answered in batches */
  edits: number;
  largestBatch: number;
}

/** Requests to the model thread, answered in order (edits in batches). */
class ModelThread {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly counts = { batches: 0, edits: 0, largestBatch: 0 };
  readonly ready: Promise<void>;

  constructor(
    checkpoint: string,
    threads: number,
    device: string | undefined,
    refine: number,
    maxBatch: number,
    edit?: 'residual' | 'plain',
  ) {
    // From the TypeScript sources (tests, a checkout without dist/) the worker registers tsx first.
    const ts = import.meta.url.endsWith('.ts');
    const url = new URL(`./model-worker.${ts ? 'ts' : 'js'}`, import.meta.url).href;
    const boot = ts
      ? `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url)}); })`
      : `import(${JSON.stringify(url)})`;
    this.worker = new Worker(boot, {
      eval: true,
      workerData: { checkpoint, threads, device, refine, maxBatch, edit },
    });
    this.ready = new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(new CheckpointError(`cannot serve ${checkpoint}: ${e.message}`));
      this.worker.once('error', onError);
      this.worker.once('message', (m) => {
        if (m?.ready) {
          this.worker.off('error', onError);
          this.worker.on('message', (msg) => this.onMessage(msg));
          this.worker.on('error', (e) => this.failAll(e));
          resolve();
        }
      });
    });
  }

  /** Requests sent to the model thread and not answered yet. */
  get inFlight(): number {
    return this.pending.size;
  }

  stats(): BatchStats {
    return { inFlight: this.inFlight, ...this.counts };
  }

  private onMessage(msg: {
    id: number;
    ok: boolean;
    result?: unknown;
    error?: { name: string; message: string };
    /** the size of the edit batch this answer opens (on the first answer of each batch) */
    batch?: number;
  }) {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.batch) {
      this.counts.batches++;
      this.counts.edits += msg.batch;
      this.counts.largestBatch = Math.max(this.counts.largestBatch, msg.batch);
    }
    if (msg.ok) p.resolve(msg.result);
    else {
      const e = new Error(msg.error!.message);
      e.name = msg.error!.name;
      p.reject(e);
    }
  }

  private failAll(e: Error) {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  call<T>(op: string, args: unknown = {}, transfer: ArrayBuffer[] = []): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, op, args }, transfer);
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

/** 400 for a user's mistake, with a message that says what is wrong. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function validate<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const r = schema.safeParse(body);
  if (!r.success)
    throw new HttpError(
      400,
      r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    );
  return r.data;
}

export interface ServeOptions {
  checkpoint: string;
  /** threads for the model (default: all cores) */
  threads?: number;
  /** the model's device: cpu, cuda, cuda:N (default cpu); `ccig serve` checks it first */
  device?: string;
  /** steps refining an uploaded image's free latents (`invert`; default 0) */
  refine?: number;
  /**
   * requests that may wait for the model at once; beyond that a request gets 503 with
   * Retry-After (default DEFAULT_MAX_QUEUE)
   */
  maxQueue?: number;
  /** the most edits the model decodes in one pass (default DEFAULT_MAX_BATCH) */
  maxBatch?: number;
  /**
   * how uploaded images are edited: residual (x + G(z_do) - G(z)) or plain (G(z_do)); default as
   * the checkpoint's `editable` record was measured (ccig calibrate --report), else plain
   */
  edit?: 'residual' | 'plain';
  /** offer every attribute, also those the checkpoint records as failing the eval's checks */
  showAll?: boolean;
  logger?: boolean;
}

/** Twice the 64 clients the editor's benchmark runs: a burst that size waits, none is refused. */
export const DEFAULT_MAX_QUEUE = 128;
export const DEFAULT_MAX_BATCH = 32;
/** What a refused request is told to wait, in seconds. */
const RETRY_AFTER_S = 1;

/** Builds the server (not listening yet); resolves once the model is loaded. */
export async function createServer(o: ServeOptions): Promise<FastifyInstance> {
  if (!existsSync(o.checkpoint)) throw new CheckpointError(`${o.checkpoint}: no such checkpoint`);
  const maxQueue = o.maxQueue ?? DEFAULT_MAX_QUEUE;
  const model = new ModelThread(
    o.checkpoint,
    o.threads ?? availableParallelism(),
    o.device,
    o.refine ?? 0,
    o.maxBatch ?? DEFAULT_MAX_BATCH,
    o.edit,
  );
  await model.ready;
  /** A slot in the model's queue, checked just before the request is sent to it. */
  const admit = () => {
    if (model.inFlight >= maxQueue)
      throw new HttpError(
        503,
        `the model is busy: ${model.inFlight} requests are waiting; try again in ${RETRY_AFTER_S} s`,
        { 'retry-after': String(RETRY_AFTER_S) },
      );
  };
  const info = await model.call<Info>('info');
  if (o.showAll) info.editable = null;
  const m = info.attributes.length;
  const names = info.attributes.map((a) => a.name);

  // 1 MiB, or what a residual edit's context (3 * S * S numbers) needs
  const bodyLimit = Math.max(1024 * 1024, 3 * info.imageSize ** 2 * 24);
  const app = Fastify({ logger: o.logger ?? false, bodyLimit });
  await app.register(multipart, { limits: { fileSize: MAX_UPLOAD, files: 1 } });
  app.addHook('onClose', async () => {
    await model.terminate();
  });
  app.setErrorHandler((err, _req, reply) => {
    const e = err as Error & { statusCode?: number; status?: number; code?: string };
    let status = e instanceof HttpError ? e.status : (e.statusCode ?? 500);
    if (e.code === 'FST_REQ_FILE_TOO_LARGE') status = 413;
    if (e.name === 'OptionError' || e.name === 'DataError' || e.name === 'GraphError') status = 400;
    const message =
      status === 413
        ? `the upload is larger than ${MAX_UPLOAD / 1024 / 1024} MiB`
        : e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e.name === 'SyntaxError'
          ? `malformed JSON: ${e.message}`
          : e.message;
    if (e instanceof HttpError) reply.headers(e.headers);
    reply.status(status).send({ error: message });
  });

  const interventionsSchema = z.record(z.string(), finite).superRefine((rec, ctx) => {
    for (const [name, v] of Object.entries(rec)) {
      const a = info.attributes.find((x) => x.name === name);
      if (!a) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown attribute '${name}'; known: ${names.join(', ')}`,
          path: [name],
        });
        continue;
      }
      const [lo, hi] = labelRange(a);
      if (v < lo || v > hi)
        ctx.addIssue({
          code: 'custom',
          message: `${name} = ${v} is outside its range [${lo}, ${hi}]`,
          path: [name],
        });
    }
  });
  const InterveneBody = z.strictObject({
    context: z.strictObject({
      eps: z.array(finite).length(m, `needs ${m} values`),
      zr: z.array(finite).length(info.zFree, `needs ${info.zFree} values`),
      detail: z
        .array(finite)
        .length(3 * info.imageSize ** 2, `needs ${3 * info.imageSize ** 2} values`)
        .optional(),
    }),
    interventions: interventionsSchema,
    mode: z.enum(['causal', 'noncausal']).default('causal'),
  });
  const SampleBody = z.strictObject({
    n: z.number().int().min(1).max(32).default(8),
    seed: z.number().int().min(0).default(0),
  });

  app.get('/api/info', async () => info);
  app.get('/api/stats', async () => ({ ...model.stats(), maxQueue }));
  app.post('/api/sample', async (req) => {
    const body = validate(SampleBody, req.body ?? {});
    admit();
    return model.call('sample', body);
  });
  app.post('/api/intervene', async (req) => {
    const body = validate(InterveneBody, req.body);
    admit();
    return model.call('intervene', body);
  });
  app.post('/api/encode', async (req) => {
    admit(); // before reading the upload
    if (!req.isMultipart())
      throw new HttpError(415, 'upload the image as multipart/form-data (field "image")');
    const file = await req.file();
    if (!file) throw new HttpError(400, 'no file in the upload');
    const bytes = await file.toBuffer();
    if (file.file.truncated)
      throw new HttpError(413, `the upload is larger than ${MAX_UPLOAD / 1024 / 1024} MiB`);
    if (!/^image\/(png|jpeg|jpg|webp)$/.test(file.mimetype) && !looksLikeImage(bytes))
      throw new HttpError(415, `expected a PNG or JPEG image, got ${file.mimetype}`);
    const copy = new Uint8Array(bytes);
    admit(); // again: others may have come in while the upload was read
    return model.call('encode', { image: copy }, [copy.buffer as ArrayBuffer]);
  });

  // the page
  const types: Record<string, string> = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
  };
  app.get('/*', async (req, reply) => {
    const rel = (req.params as { '*': string })['*'] || 'index.html';
    if (rel.includes('..') || !(extname(rel) in types)) throw new HttpError(404, 'not found');
    const file = join(WEB, rel);
    if (!existsSync(file)) throw new HttpError(404, 'not found');
    reply.type(types[extname(rel)]).send(readFileSync(file));
  });
  return app;
}

/** PNG or JPEG magic bytes. */
function looksLikeImage(b: Buffer): boolean {
  return (
    (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) || (b[0] === 0xff && b[1] === 0xd8)
  );
}
