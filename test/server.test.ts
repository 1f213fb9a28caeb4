// The editor's HTTP API: answers, validation (4xx with messages), uploads, and concurrency.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { pendulum } from '../src/data/pendulum.ts';
import { latentInterventions, nonCausalEdit } from '../src/model/edit.ts';
import { createServer } from '../src/server/server.ts';
import * as torch from '../src/torch/index.ts';
import { loadModel } from '../src/train/checkpoint.ts';
import { tinyServer } from './helpers/tiny-server.ts';

let app: FastifyInstance;
let base: string;
let checkpoint: string;

before(async () => {
  ({ app, base, checkpoint } = await tinyServer());
});

/** A served data: URL PNG (upscaled by nearest neighbour) as the model's S x S pixels in [-1, 1], CHW. */
async function pixels(dataUrl: string, S = 64): Promise<Float32Array> {
  const png = Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64');
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const scale = info.width / S;
  const out = new Float32Array(3 * S * S);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      // the centre of each scale x scale block
      const at = (Math.floor((y + 0.5) * scale) * info.width + Math.floor((x + 0.5) * scale)) * info.channels;
      for (let c = 0; c < 3; c++) out[c * S * S + y * S + x] = (data[at + c] / 255) * 2 - 1;
    }
  return out;
}
after(async () => {
  await app.close();
});

const post = (path: string, body: unknown) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const context = { eps: [0.1, -0.2, 0.3, 0], zr: [0, 0] };

test('info, sample and intervene answer', async () => {
  const info = await (await fetch(`${base}/api/info`)).json();
  assert.deepEqual(
    info.attributes.map((a: { name: string }) => a.name),
    ['pendulum_angle', 'light_angle', 'shadow_length', 'shadow_position'],
  );
  assert.ok(info.descendants.pendulum_angle);
  const s = await (await post('/api/sample', { n: 3, seed: 1 })).json();
  assert.equal(s.items.length, 3);
  assert.match(s.items[0].image, /^data:image\/png;base64,/);
  const r = await post('/api/intervene', { context, interventions: { light_angle: 120 }, mode: 'causal' });
  assert.equal(r.status, 200);
  const j = await r.json();
  assert.ok(Math.abs(j.labels.edited.light_angle - 120) < 1);
  assert.notEqual(j.image, j.factual);
  const nc = await (
    await post('/api/intervene', { context, interventions: { light_angle: 120 }, mode: 'noncausal' })
  ).json();
  assert.ok(Math.abs(nc.labels.edited.light_angle - 120) < 1);
  // the images are the model's edits of this context, pixel for pixel (up to 8-bit rounding)
  const { model } = loadModel(checkpoint);
  const expected = torch.scope(() =>
    torch.noGrad(() => {
      const eps = torch.tensor([context.eps]);
      const zr = torch.tensor([context.zr]);
      const latent = latentInterventions(model, { light_angle: 120 });
      const factualZc = model.prior.generate(eps);
      const draw = (zc: torch.Tensor) => model.decode(model.join(zc, zr)).toFloat32Array();
      return {
        factual: draw(factualZc),
        causal: draw(model.prior.intervene(eps, latent)),
        nonCausal: draw(nonCausalEdit(model, factualZc, latent)),
      };
    }),
  );
  model.dispose();
  for (const [served, want, what] of [
    [j.factual, expected.factual, 'factual'],
    [j.image, expected.causal, 'causal'],
    [nc.image, expected.nonCausal, 'non-causal'],
  ] as const) {
    const got = await pixels(served);
    const worst = got.reduce((w, v, k) => Math.max(w, Math.abs(v - want[k])), 0);
    assert.ok(worst <= 2 / 255 + 1e-6, `${what} image differs from the model's edit by ${worst}`);
  }
  const changed = expected.causal.filter((v, k) => Math.abs(v - expected.factual[k]) > 4 / 255).length;
  assert.ok(changed > 0, 'the edit changed no pixel');
  const page = await fetch(`${base}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /causal image editor/);
});

test('bad requests get a 4xx with a message and the server stays up', async () => {
  const cases: [Promise<Response>, number, RegExp][] = [
    [
      post('/api/intervene', { context, interventions: { smile: 1 } }),
      400,
      /unknown attribute 'smile'; known: pendulum_angle/,
    ],
    [
      post(
        '/api/intervene',
        '{"context":{"eps":[0,0,0,0],"zr":[0,0]},"interventions":{"light_angle":1e999}}',
      ),
      400,
      /interventions\.light_angle: .*Infinity/,
    ],
    [
      post('/api/intervene', { context, interventions: { light_angle: 500 } }),
      400,
      /light_angle = 500 is outside its range \[54, 132\.3\]/,
    ],
    [
      post('/api/intervene', { context: { eps: [0], zr: [] }, interventions: {} }),
      400,
      /context\.eps: needs 4 values/,
    ],
    [post('/api/intervene', '{"context": '), 400, /malformed JSON|JSON/],
    [post('/api/sample', { n: 1000 }), 400, /n: /],
    [
      fetch(`${base}/api/encode`, {
        method: 'POST',
        body: formWith(Buffer.from('hello, not an image'), 'text/plain', 'a.txt'),
      }),
      415,
      /expected a PNG or JPEG image/,
    ],
    [
      fetch(`${base}/api/encode`, {
        method: 'POST',
        body: formWith(Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]), 'image/png', 'broken.png'),
      }),
      400,
      /cannot read as an image/,
    ],
    [
      fetch(`${base}/api/encode`, {
        method: 'POST',
        body: formWith(Buffer.alloc(9 * 1024 * 1024, 1), 'image/png', 'huge.png'),
      }),
      413,
      /larger than 8 MiB/,
    ],
    [fetch(`${base}/../etc/passwd`), 404, /not found/],
  ];
  for (const [req, status, pattern] of cases) {
    const r = await req;
    const body = await r.json();
    assert.equal(r.status, status, JSON.stringify(body));
    assert.match(body.error, pattern);
  }
  assert.equal((await fetch(`${base}/api/info`)).status, 200);
});

function formWith(bytes: Buffer, type: string, name: string): FormData {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(bytes)], { type }), name);
  return form;
}

test('an uploaded image gives its abducted context; editing it is a counterfactual', async () => {
  const img = pendulum.render(pendulum.solve(Float64Array.from([5, 80, 0, 0])), 64);
  const png = await sharp(Buffer.from(img), { raw: { width: 64, height: 64, channels: 3 } })
    .png()
    .toBuffer();
  const r = await fetch(`${base}/api/encode`, { method: 'POST', body: formWith(png, 'image/png', 'p.png') });
  assert.equal(r.status, 200);
  const j = await r.json();
  assert.equal(j.context.eps.length, 4);
  assert.equal(j.context.zr.length, 2);
  const e = await (await post('/api/intervene', { context: j.context, interventions: {} })).json();
  // no intervention: the counterfactual is the reconstruction itself
  for (const [k, v] of Object.entries(j.labels))
    assert.ok(Math.abs((v as number) - e.labels.edited[k]) < 1e-3, k);
});

test('serve with refine: an upload keeps its abducted noise and gets its free latents refined', async () => {
  const img = pendulum.render(pendulum.solve(Float64Array.from([5, 80, 0, 0])), 64);
  const png = await sharp(Buffer.from(img), { raw: { width: 64, height: 64, channels: 3 } })
    .png()
    .toBuffer();
  const refined = await createServer({ checkpoint, threads: 1, refine: 10 });
  try {
    const at = await refined.listen({ port: 0, host: '127.0.0.1' });
    const encode = async (url: string) =>
      (
        await (
          await fetch(`${url}/api/encode`, { method: 'POST', body: formWith(png, 'image/png', 'p.png') })
        ).json()
      ).context as { eps: number[]; zr: number[] };
    const [plain, fitted] = [await encode(base), await encode(at)];
    plain.eps.forEach((v, i) =>
      assert.ok(Math.abs(v - fitted.eps[i]) < 1e-5, 'z_c, hence eps, is the encoder reading'),
    );
    assert.notDeepEqual(fitted.zr, plain.zr, 'z_r is refined');
  } finally {
    await refined.close();
  }
});

test('100 concurrent requests all complete', async () => {
  const rs = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      post('/api/intervene', { context, interventions: { light_angle: 60 + (i % 60) } }),
    ),
  );
  assert.deepEqual(
    rs.map((r) => r.status),
    new Array(100).fill(200),
  );
});

/** The largest difference between two served images, in 8-bit levels. */
async function levelsApart(a: string, b: string): Promise<number> {
  const [pa, pb] = [await pixels(a), await pixels(b)];
  return pa.reduce((w, v, k) => Math.max(w, Math.round(Math.abs(v - pb[k]) * 127.5)), 0);
}

test('an edit decoded in a batch is the edit decoded alone', async () => {
  // a fresh server: its counters start at 0 and no factual image is cached yet
  const served = await createServer({ checkpoint, threads: 1, maxBatch: 64 });
  try {
    const at = await served.listen({ port: 0, host: '127.0.0.1' });
    const edit = (i: number) => ({
      context: { eps: [0.1 * i, -0.2, 0.3, 0.05 * i], zr: [0.01 * i, 0] },
      interventions: { light_angle: 60 + i },
      mode: i % 2 ? 'noncausal' : 'causal',
    });
    const ask = async (
      body: unknown,
      server = at,
    ): Promise<{ image: string; factual: string; labels: { edited: Record<string, number> } }> => {
      const r = await fetch(`${server}/api/intervene`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(r.status, 200);
      return r.json();
    };
    const stats = async (server: string) => (await fetch(`${server}/api/stats`)).json();
    // alone: one at a time on the other server (same checkpoint, its own cache of factual images)
    const before = (await stats(base)).batches;
    const picked = [3, 4, 21, 40];
    const alone: Awaited<ReturnType<typeof ask>>[] = [];
    for (const i of picked) alone.push(await ask(edit(i), base));
    assert.equal((await stats(base)).batches - before, picked.length, 'one at a time, each alone');
    const together = await Promise.all(Array.from({ length: 48 }, (_, i) => ask(edit(i))));
    const s = await stats(at);
    assert.ok(s.largestBatch > 1, `the concurrent edits were batched (largest batch ${s.largestBatch})`);
    assert.equal(s.edits, 48);
    assert.equal(s.inFlight, 0);
    for (const [one, batched] of picked.map((i, j) => [alone[j], together[i]])) {
      assert.ok((await levelsApart(one.image, batched.image)) <= 1, 'edited image');
      assert.ok((await levelsApart(one.factual, batched.factual)) <= 1, 'factual image');
      assert.deepEqual(Object.keys(batched.labels.edited), Object.keys(one.labels.edited));
      for (const [k, v] of Object.entries(one.labels.edited))
        assert.ok(Math.abs(v - batched.labels.edited[k]) < 1e-3, k);
    }
    // each request got its own edit back, not a neighbour's
    together.forEach((r, i) => assert.ok(Math.abs(r.labels.edited.light_angle - (60 + i)) < 1, `${i}`));
  } finally {
    await served.close();
  }
});

test('a full queue answers 503 with Retry-After; below the bound nothing is refused', async () => {
  const bound = 4;
  const served = await createServer({ checkpoint, threads: 1, maxQueue: bound });
  try {
    const at = await served.listen({ port: 0, host: '127.0.0.1' });
    const ask = (i: number) =>
      fetch(`${at}/api/intervene`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ context, interventions: { light_angle: 60 + i } }),
      });
    // as many as the bound at once: all answered
    const within = await Promise.all(Array.from({ length: bound }, (_, i) => ask(i)));
    assert.deepEqual(
      within.map((r) => r.status),
      new Array(bound).fill(200),
    );
    // far more than the bound at once: the excess is refused at once, the rest answered
    const burst = await Promise.all(Array.from({ length: 64 }, (_, i) => ask(i)));
    const refused = burst.filter((r) => r.status === 503);
    assert.ok(refused.length > 0, 'some requests beyond the bound were refused');
    assert.ok(
      burst.every((r) => r.status === 200 || r.status === 503),
      burst.map((r) => r.status).join(),
    );
    assert.ok(burst.length - refused.length >= bound, 'at least the bound was served');
    for (const r of refused) {
      assert.equal(r.headers.get('retry-after'), '1');
      assert.match((await r.json()).error, /the model is busy/);
    }
    const after = await ask(0);
    assert.equal(after.status, 200, 'answers again once the queue has drained');
    assert.equal((await (await fetch(`${at}/api/stats`)).json()).inFlight, 0);
  } finally {
    await served.close();
  }
});

test('serve with residual edits: an upload carries its detail, the null edit returns the upload, info says what is offered', async () => {
  const img = pendulum.render(pendulum.solve(Float64Array.from([5, 80, 0, 0])), 64);
  const png = await sharp(Buffer.from(img), { raw: { width: 64, height: 64, channels: 3 } })
    .png()
    .toBuffer();
  // a checkpoint whose metadata records that light_angle's edits fail the eval's checks
  const { tensors, metadata } = torch.loadSafetensors(checkpoint);
  const stored = JSON.parse(metadata.meta);
  const editable = {
    attributes: { pendulum_angle: true, light_angle: false, shadow_length: true, shadow_position: true },
    why: { light_angle: 'do(=1) Frechet 3.00x the reconstructions' },
    residual: true,
    refine: 0,
    successTarget: 0.85,
    realismRatio: 1.25,
    n: 10,
    source: 'report.json',
  };
  const recorded = checkpoint.replace(/\.safetensors$/, '-editable.safetensors');
  torch.saveSafetensors(recorded, tensors, { ...metadata, meta: JSON.stringify({ ...stored, editable }) });
  for (const t of Object.values(tensors)) t.dispose();
  const residual = await createServer({ checkpoint: recorded, threads: 1 });
  try {
    const at = await residual.listen({ port: 0, host: '127.0.0.1' });
    const info = await (await fetch(`${at}/api/info`)).json();
    assert.equal(info.edit, 'residual', 'the recorded default');
    assert.deepEqual(info.editable.attributes, editable.attributes);
    const j = await (
      await fetch(`${at}/api/encode`, { method: 'POST', body: formWith(png, 'image/png', 'p.png') })
    ).json();
    assert.equal(j.context.detail.length, 3 * 64 * 64);
    const r = await fetch(`${at}/api/intervene`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ context: j.context, interventions: {} }),
    });
    assert.equal(r.status, 200);
    const e = await r.json();
    const [shown, input] = [await pixels(e.image), await pixels(j.input)];
    const worst = shown.reduce((w, v, k) => Math.max(w, Math.abs(v - input[k])), 0);
    assert.ok(worst <= 2 / 255 + 1e-6, `the null residual edit is the upload (max error ${worst})`);
    const bad = await fetch(`${at}/api/intervene`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ context: { ...j.context, detail: [1, 2] }, interventions: {} }),
    });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /detail: needs 12288 values/);
  } finally {
    await residual.close();
  }
  // the same checkpoint served plain, every attribute offered: no detail, the reconstruction
  const plain = await createServer({ checkpoint: recorded, threads: 1, edit: 'plain', showAll: true });
  try {
    const at = await plain.listen({ port: 0, host: '127.0.0.1' });
    const info = await (await fetch(`${at}/api/info`)).json();
    assert.equal(info.edit, 'plain');
    assert.equal(info.editable, null, '--show-all: no attribute hidden');
    const j = await (
      await fetch(`${at}/api/encode`, { method: 'POST', body: formWith(png, 'image/png', 'p.png') })
    ).json();
    assert.equal(j.context.detail, undefined);
  } finally {
    await plain.close();
  }
});
