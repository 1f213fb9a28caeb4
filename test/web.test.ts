// The editor in a real browser (Debian's Chromium through playwright-core): load the page,
// move a slider, see the image change and the descendants light up, upload an image, and
// take a screenshot. Skips where Chromium is not installed; the face test also where CelebA
// (../shared/datasets/celeba-8k next to the repository, or $CELEBA) is absent.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium } from 'playwright-core';
import sharp from 'sharp';
import { pendulum } from '../src/data/pendulum.ts';
import { createServer } from '../src/server/server.ts';
import * as torch from '../src/torch/index.ts';
import { tinyCelebaServer, tinyServer } from './helpers/tiny-server.ts';

const CHROMIUM = '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) && 'Chromium is not installed (apt-get install chromium)';
const CELEBA =
  process.env.CELEBA ??
  resolve(dirname(fileURLToPath(import.meta.url)), '..', '../shared/datasets/celeba-8k');
const skipFaces =
  skip || (!existsSync(join(CELEBA, 'list_attr_celeba.txt')) && `CelebA not found at ${CELEBA}`);
let app: FastifyInstance;
let base: string;
let browser: Browser;

before(async () => {
  if (skip) return;
  ({ app, base } = await tinyServer({ graph: true }));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
after(async () => {
  await browser?.close();
  await app?.close();
});

test('edit by intervention in the browser', { skip }, async () => {
  const page = await browser.newPage({ viewport: { width: 1360, height: 960 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/`);
  await page.waitForSelector('#strip img');
  await page.waitForFunction(() => Number(document.body.dataset.renders ?? 0) >= 1);
  assert.match((await page.textContent('#model-info')) ?? '', /tiny · structure given/);
  const before = await page.getAttribute('#edited', 'src');
  const renders = Number(await page.evaluate(() => document.body.dataset.renders));

  // drag pendulum_angle: its descendants (the shadow) light up, the light does not
  const slider = page.locator('#s-pendulum_angle');
  await slider.focus();
  for (let i = 0; i < 40; i++) await page.keyboard.press('ArrowRight');
  await page.waitForFunction((n) => Number(document.body.dataset.renders) > n, renders);
  await page.waitForFunction(() => !document.querySelector('#status')?.textContent?.includes('error'));
  const after = await page.getAttribute('#edited', 'src');
  assert.notEqual(after, before, 'the edited image did not change');
  const cls = async (sel: string) => (await page.getAttribute(sel, 'class')) ?? '';
  assert.match(await cls('.slider[data-name="pendulum_angle"]'), /edited/);
  assert.match(await cls('.slider[data-name="shadow_length"]'), /descendant/);
  assert.match(await cls('.slider[data-name="shadow_position"]'), /descendant/);
  assert.doesNotMatch(await cls('.slider[data-name="light_angle"]'), /descendant/);
  assert.match(await cls('#graph .node[data-name="shadow_length"]'), /descendant/);

  // the non-causal edit lights up only the edited attribute
  await page.check('#noncausal');
  assert.doesNotMatch(await cls('.slider[data-name="shadow_length"]'), /descendant/);
  await page.uncheck('#noncausal');

  // counterfactual of an uploaded image
  const dir = join('test-output');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'upload.png');
  const img = pendulum.render(pendulum.solve(Float64Array.from([-15, 110, 0, 0])), 64);
  await sharp(Buffer.from(img), { raw: { width: 64, height: 64, channels: 3 } })
    .png()
    .toFile(file);
  await page.setInputFiles('#upload', file);
  await page.waitForFunction(() =>
    document.querySelector('#mode')?.textContent?.includes('counterfactual of upload.png'),
  );
  await page.screenshot({ path: join(dir, 'editor.png'), fullPage: true });
  assert.deepEqual(errors, []);
});

test('a CelebA model in the editor: upload a face, do(Smiling = 1)', { skip: skipFaces }, async () => {
  const faces = await tinyCelebaServer(CELEBA);
  try {
    const page = await browser.newPage({ viewport: { width: 1360, height: 960 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${faces.base}/`);
    await page.waitForFunction(() => Number(document.body.dataset.renders ?? 0) >= 1);
    assert.match((await page.textContent('#model-info')) ?? '', /celeba-smile-small · structure given/);
    // a face straight from the data folder (a JPEG of CelebA's 178 x 218 framing, any size)
    const jpg = readdirSync(join(CELEBA, 'img_align_celeba'))
      .filter((f) => f.endsWith('.jpg'))
      .sort()[0];
    // the mode line changes when the upload is encoded, before its render is drawn: wait for
    // that render too, or the slider's edit is compared with a render still in flight
    const samples = Number(await page.evaluate(() => document.body.dataset.renders));
    await page.setInputFiles('#upload', join(CELEBA, 'img_align_celeba', jpg));
    await page.waitForFunction(
      (name) => document.querySelector('#mode')?.textContent?.includes(`counterfactual of ${name}`),
      jpg,
    );
    await page.waitForFunction((n) => Number(document.body.dataset.renders) > n, samples);
    await page.waitForFunction(() => !document.querySelector('#status')?.textContent?.includes('error'));
    assert.match((await page.getAttribute('#input', 'src')) ?? '', /^data:image\/png;base64,/);
    const renders = Number(await page.evaluate(() => document.body.dataset.renders));
    const before = await page.getAttribute('#edited', 'src');
    // drag Smiling from its abducted value to 1
    const slider = page.locator('#s-Smiling');
    await slider.focus();
    await page.keyboard.press('End');
    await page.waitForFunction((n) => Number(document.body.dataset.renders) > n, renders);
    await page.waitForFunction(() => !document.querySelector('#status')?.textContent?.includes('error'));
    assert.notEqual(
      await page.getAttribute('#edited', 'src'),
      before,
      'do(Smiling = 1) did not change the face',
    );
    const cls = async (sel: string) => (await page.getAttribute(sel, 'class')) ?? '';
    assert.match(await cls('.slider[data-name="Smiling"]'), /edited/);
    assert.match(await cls('.slider[data-name="Mouth_Slightly_Open"]'), /descendant/);
    assert.doesNotMatch(await cls('.slider[data-name="Male"]'), /descendant/);
    assert.deepEqual(errors, []);
  } finally {
    await faces.app.close();
  }
});

test('attributes recorded as failing the checks get no slider, and a line says why', { skip }, async () => {
  const first = await tinyServer();
  await first.app.close();
  const { tensors, metadata } = torch.loadSafetensors(first.checkpoint);
  const editable = {
    attributes: { pendulum_angle: true, light_angle: false, shadow_length: true, shadow_position: true },
    why: { light_angle: 'do(=1) succeeds on 0.40 of faces' },
    residual: false,
    refine: 0,
    successTarget: 0.85,
    realismRatio: 1.25,
    n: 10,
    source: 'report.json',
  };
  const recorded = first.checkpoint.replace(/\.safetensors$/, '-editable.safetensors');
  const meta = JSON.stringify({ ...JSON.parse(metadata.meta), editable });
  torch.saveSafetensors(recorded, tensors, { ...metadata, meta });
  for (const t of Object.values(tensors)) t.dispose();
  const app2 = await createServer({ checkpoint: recorded, threads: 1 });
  try {
    const at = await app2.listen({ port: 0, host: '127.0.0.1' });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${at}/`);
    await page.waitForFunction(() => Number(document.body.dataset.renders ?? 0) >= 1);
    assert.equal(await page.locator('#s-light_angle').count(), 0);
    assert.equal(await page.locator('#s-pendulum_angle').count(), 1);
    const note = (await page.textContent('#hidden-attributes')) ?? '';
    assert.match(note, /Hidden: light_angle \(do\(=1\) succeeds on 0\.40 of faces\)/);
    assert.equal(await page.isVisible('#hidden-attributes'), true);
    assert.deepEqual(errors, []);
  } finally {
    await app2.close();
  }
});
