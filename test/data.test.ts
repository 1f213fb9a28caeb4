/**
 * Real-data loaders and the preprocessed cache: CelebA's official layout, labelled folders, the
 * crop recipe, splits, cache reuse and rebuild, and every kind of bad input. Fixtures (small JPEGs
 * in the official layout, a truncated and a garbage one) are made here in a temp folder. Tests on
 * ../shared/datasets/celeba-8k skip when it is absent.
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { openCacheFile } from '../src/data/cached-dataset.ts';
import {
  CELEBA_ATTRIBUTES,
  CELEBA_PRESETS,
  openCelebA,
  parseAttributeFile,
  parsePartitionFile,
} from '../src/data/celeba.ts';
import { gatherBatch } from '../src/data/dataset.ts';
import { openFolder, parseLabelCsv } from '../src/data/folder.ts';
import { CELEBA_CROP_FRACTION, centerCropBox, makeRecipe, preprocessImage } from '../src/data/preprocess.ts';
import { resolveSplit, splitOf } from '../src/data/split.ts';
import { DataError, OptionError } from '../src/errors.ts';
import { resolveConfig } from '../src/model/config.ts';
import { openTrainingData } from '../src/train/data.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CELEBA_8K = resolve(repoRoot, '../shared/datasets/celeba-8k');
const tmp = mkdtempSync(join(tmpdir(), 'ccig-data-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let fixtureCount = 0;
/** A fresh folder under the test's temp dir. */
function freshDir(name: string): string {
  const d = join(tmp, `${name}-${fixtureCount++}`);
  mkdirSync(d, { recursive: true });
  return d;
}

/** Colour of fixture image k: distinct per image so rows can be matched to files after the build. */
function colourOf(k: number): [number, number, number] {
  return [(k * 37) % 256, 255 - ((k * 53) % 256), (k * 91 + 40) % 256];
}

/** A w x h JPEG filled with colour k (flat, so JPEG keeps it nearly exact). */
async function jpeg(k: number, w = 36, h = 44): Promise<Buffer> {
  const [r, g, b] = colourOf(k);
  return sharp({ create: { width: w, height: h, channels: 3, background: { r, g, b } } })
    .jpeg({ quality: 95 })
    .toBuffer();
}

/** Label value of image k, attribute j, in the file's 1 / -1 form. */
const pm = (k: number, j: number) => ((k * 7 + j * 3) % 5 < 2 ? 1 : -1);

/**
 * CelebA's official layout with n images (000001.jpg ...), all 40 attributes, optional extras.
 * Returns the root.
 */
async function makeCelebA(
  n: number,
  opts: { partition?: boolean; extraRows?: string[] } = {},
): Promise<string> {
  const root = freshDir('celeba');
  mkdirSync(join(root, 'img_align_celeba'));
  const names = Array.from({ length: n }, (_, k) => `${String(k + 1).padStart(6, '0')}.jpg`);
  await Promise.all(
    names.map(async (f, k) => writeFileSync(join(root, 'img_align_celeba', f), await jpeg(k))),
  );
  const rows = names.map(
    (f, k) => `${f} ${CELEBA_ATTRIBUTES.map((_, j) => String(pm(k, j)).padStart(2)).join(' ')}`,
  );
  rows.push(...(opts.extraRows ?? []));
  writeFileSync(
    join(root, 'list_attr_celeba.txt'),
    `${rows.length}\n${CELEBA_ATTRIBUTES.join(' ')}\n${rows.join('\n')}\n`,
  );
  if (opts.partition) {
    writeFileSync(join(root, 'list_eval_partition.txt'), names.map((f, k) => `${f} ${k % 3}`).join('\n'));
  }
  return root;
}

/** Assert `fn` rejects with a DataError whose message matches and whose file/line are as given. */
async function rejectsData(
  fn: () => Promise<unknown>,
  message: RegExp,
  where: { file?: RegExp; line?: number } = {},
): Promise<DataError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof DataError, `expected a DataError, got ${caught}`);
  assert.match(caught.message, message);
  if (where.file) assert.match(caught.file ?? '', where.file);
  if (where.line !== undefined) assert.equal(caught.line, where.line);
  return caught;
}

describe('preprocess', () => {
  test('centre crop in proportion, torchvision rounding', () => {
    assert.deepEqual(centerCropBox(178, 218, CELEBA_CROP_FRACTION), { left: 25, top: 45, side: 128 });
    // 12.5 and 22.5 round to even, as Python's round in torchvision's center_crop
    assert.deepEqual(centerCropBox(89, 109, CELEBA_CROP_FRACTION), { left: 12, top: 22, side: 64 });
    assert.deepEqual(centerCropBox(100, 60, 1), { left: 20, top: 0, side: 60 });
  });

  test('89x109 crops 64 pixel-exact with no resize; 178x218 keeps only the crop box', async () => {
    const w = 89;
    const h = 109;
    const raw = Buffer.alloc(w * h * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 131 + (i >> 7)) & 255;
    const png = await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
      .png()
      .toBuffer();
    const out = await preprocessImage(png, makeRecipe(64, CELEBA_CROP_FRACTION));
    assert.equal(out.pixels.length, 64 * 64 * 3);
    for (const [y, x] of [
      [0, 0],
      [31, 40],
      [63, 63],
    ]) {
      for (let c = 0; c < 3; c++) {
        assert.equal(out.pixels[(y * 64 + x) * 3 + c], raw[((y + 22) * w + x + 12) * 3 + c]);
      }
    }
    // Full size: red inside the expected 128 box, blue outside; the 64x64 result is all red.
    const big = Buffer.alloc(178 * 218 * 3);
    for (let y = 0; y < 218; y++) {
      for (let x = 0; x < 178; x++) {
        const inside = x >= 25 && x < 153 && y >= 45 && y < 173;
        big.set(inside ? [255, 0, 0] : [0, 0, 255], (y * 178 + x) * 3);
      }
    }
    const bigPng = await sharp(big, { raw: { width: 178, height: 218, channels: 3 } })
      .png()
      .toBuffer();
    const r = await preprocessImage(bigPng, makeRecipe(64, CELEBA_CROP_FRACTION));
    for (let p = 0; p < 64 * 64; p++)
      assert.ok(r.pixels[p * 3] === 255 && r.pixels[p * 3 + 2] === 0, `pixel ${p}`);
  });

  test('grey and transparent images become 3-channel RGB; bad options are named', async () => {
    const grey = await sharp(Buffer.alloc(20 * 30, 100), { raw: { width: 20, height: 30, channels: 1 } })
      .png()
      .toBuffer();
    const g = await preprocessImage(grey, makeRecipe(8, 1));
    assert.equal(g.pixels.length, 8 * 8 * 3);
    assert.ok(Math.abs(g.pixels[0] - 100) <= 1 && g.pixels[0] === g.pixels[1]);
    assert.throws(
      () => makeRecipe(3, 1),
      /Expected an integer between 4 and 1024 for imageSize but received 3/,
    );
    assert.throws(
      () => makeRecipe(64, 1.5),
      /Expected a number in \(0, 1\] for cropFraction but received 1.5/,
    );
  });
});

describe('split', () => {
  test('deterministic, close to the fractions, stable when files are added', () => {
    const s = resolveSplit({ seed: 3, valid: 0.1, test: 0.2 });
    const names = Array.from({ length: 20000 }, (_, i) => `${String(i + 1).padStart(6, '0')}.jpg`);
    const a = names.map((n) => splitOf(n, s));
    const count = (x: string) => a.filter((v) => v === x).length / names.length;
    assert.ok(Math.abs(count('test') - 0.2) < 0.015, `test share ${count('test')}`);
    assert.ok(Math.abs(count('valid') - 0.1) < 0.015, `valid share ${count('valid')}`);
    assert.deepEqual(
      names.map((n) => splitOf(n, s)),
      a,
    );
    const other = names.map((n) => splitOf(n, resolveSplit({ seed: 4, valid: 0.1, test: 0.2 })));
    assert.notDeepEqual(other, a);
    assert.throws(() => resolveSplit({ valid: 0.6, test: 0.5 }), /split.valid \+ split.test < 1/);
    assert.throws(() => resolveSplit({ seed: -1 }), /non-negative integer for split.seed/);
    assert.throws(
      () => resolveSplit({ tset: 0.1 } as never),
      /Unknown option 'tset' for split; expected one of seed, valid, test$/,
    );
  });
});

describe('label parsing', () => {
  const names = 'A B C';
  test('CelebA attribute file: 1/-1 -> 1/0, double spaces, CRLF', () => {
    const t = parseAttributeFile(`2\r\n${names}\r\nx.jpg  1 -1  1\r\ny.jpg -1 -1  1\r\n`, 'attr.txt');
    assert.deepEqual(t.names, ['A', 'B', 'C']);
    assert.deepEqual(t.files, ['x.jpg', 'y.jpg']);
    assert.deepEqual(t.lines, [3, 4]);
    assert.deepEqual(Array.from(t.labels), [1, 0, 1, 0, 0, 1]);
  });

  test('CelebA attribute file errors name file and line', () => {
    const bad = (text: string, re: RegExp, line: number) =>
      assert.throws(
        () => parseAttributeFile(text, 'attr.txt'),
        (e: unknown) =>
          e instanceof DataError && re.test(e.message) && e.file === 'attr.txt' && e.line === line,
      );
    bad(`2\n${names}\nx.jpg 1 -1 1\ny.jpg -1 1\n`, /expected 4 fields .* but found 3/, 4);
    bad(
      `1\n${names}\nx.jpg 1 yes 1\n`,
      /^attr\.txt:3: expected 1 or -1 for B but found 'yes' \(not a number\)/,
      3,
    );
    bad(`1\n${names}\nx.jpg 1 2 1\n`, /expected 1 or -1 for B but found '2'/, 3);
    bad(`two\n${names}\n`, /number of images on line 1/, 1);
    bad(`3\n${names}\nx.jpg 1 1 1\n`, /line 1 says 3 images but 1 rows follow/, 1);
    bad(`2\n${names}\nx.jpg 1 1 1\nx.jpg 1 1 1\n`, /already has a row on line 3/, 4);
    bad(`0\nA A\n`, /named twice/, 2);
  });

  test('partition file', () => {
    const p = parsePartitionFile('a.jpg 0\nb.jpg 2\n\n', 'part.txt');
    assert.equal(p.get('b.jpg'), 'test');
    assert.throws(
      () => parsePartitionFile('a.jpg 0\nb.jpg 5\n', 'part.txt'),
      /part\.txt:2: expected 0, 1 or 2/,
    );
  });

  test('label CSV: file column, kinds, -1/1, quotes, errors with line', () => {
    const t = parseLabelCsv(
      'theta,file,on,pm\n0.5,"a,1.png",1,-1\n-2.25,./sub/b.png,0,1\n\n1e-1,c.png,1,1\n',
      'labels.csv',
    );
    assert.equal(t.fileColumn, 'file');
    assert.deepEqual(t.files, ['a,1.png', 'sub/b.png', 'c.png']);
    assert.deepEqual(t.lines, [2, 3, 5]);
    assert.deepEqual(
      t.attributes.map(({ mean: _m, std: _s, ...range }) => range),
      [
        { name: 'theta', kind: 'continuous', min: -2.25, max: 0.5 },
        { name: 'on', kind: 'binary', min: 0, max: 1 },
        { name: 'pm', kind: 'binary', min: 0, max: 1 },
      ],
    );
    // continuous columns also record their moments, for supervision in standardized units
    assert.ok(Math.abs(t.attributes[0].mean! - (0.5 - 2.25 + 0.1) / 3) < 1e-6);
    assert.ok(Math.abs(t.attributes[0].std! - 1.2131227) < 1e-6);
    assert.deepEqual(Array.from(t.labels), [0.5, 1, 0, -2.25, 0, 1, 0.10000000149011612, 1, 1]);
    const bad = (text: string, re: RegExp, line: number) =>
      assert.throws(
        () => parseLabelCsv(text, 'labels.csv'),
        (e: unknown) => e instanceof DataError && re.test(e.message) && e.line === line,
      );
    bad('file,a,b\nx.png,1\n', /expected 3 columns \(file, a, b\) but found 2/, 2);
    bad('file,a\nx.png,1\ny.png,abc\n', /^labels\.csv:3: expected a number for 'a' but found 'abc'/, 3);
    bad('file,a\nx.png,\n', /expected a number for 'a' but found ''/, 2);
    bad('file\nx.png\n', /no attribute columns/, 1);
    bad('file,a,a\n', /named twice/, 1);
    bad('file,a\nx.png,1\n./x.png,0\n', /already has a row on line 2/, 3);
    bad('file,a\n"x.png,1\n', /quoted field is not closed/, 2);
  });
});

describe('CelebA loader', () => {
  test('opens the official layout, reuses the cache, rebuilds when size or labels change', async () => {
    const root = await makeCelebA(10);
    const cacheDir = join(root, 'cache');
    const progress: [number, number][] = [];
    const warnings: string[] = [];
    const a = await openCelebA({
      root,
      preset: 'smile',
      imageSize: 16,
      cacheDir,
      onProgress: (d, t) => progress.push([d, t]),
      onWarning: (w) => warnings.push(w),
    });
    assert.equal(a.built, true);
    assert.equal(a.cacheStatus, 'no cache');
    assert.deepEqual(progress.at(-1), [10, 10]);
    assert.deepEqual(warnings, []);
    assert.equal(a.dataset.size, 10);
    assert.equal(a.train.size + a.valid.size + a.test.size, 10);
    assert.equal(a.splitSource, 'seeded');
    assert.deepEqual(
      a.dataset.attributes.map((x) => x.name),
      CELEBA_PRESETS.smile.attributes,
    );
    assert.deepEqual(a.edges, CELEBA_PRESETS.smile.edges);
    assert.equal(a.preset, 'smile');

    // Labels: 1/-1 -> 1/0 in preset order; pixels: each row holds its own file's colour.
    const cols = CELEBA_PRESETS.smile.attributes.map((n) => CELEBA_ATTRIBUTES.indexOf(n));
    const b = a.dataset.batch([3, 0, 3]);
    assert.equal(b.images.length, 3 * 3 * 16 * 16);
    assert.equal(b.labels.length, 3 * 6);
    assert.deepEqual(Array.from(b.indices), [3, 0, 3]);
    for (let n = 0; n < 3; n++) {
      const i = b.indices[n];
      const k = Number(a.dataset.file(i).slice(0, 6)) - 1;
      assert.deepEqual(
        Array.from(b.labels.subarray(n * 6, n * 6 + 6)),
        cols.map((j) => (pm(k, j) === 1 ? 1 : 0)),
      );
      const [r, g, bl] = colourOf(k);
      const mean = (c: number) => {
        let s = 0;
        for (let p = 0; p < 256; p++) s += b.images[(n * 3 + c) * 256 + p];
        return ((s / 256 + 1) * 255) / 2;
      };
      assert.ok(Math.abs(mean(0) - r) < 4 && Math.abs(mean(1) - g) < 4 && Math.abs(mean(2) - bl) < 4);
    }
    for (const v of b.images) assert.ok(v >= -1 && v <= 1);
    // The fast batch agrees with the generic one built from image() and labels().
    assert.deepEqual(gatherBatch(a.dataset, [3, 0, 3]), b);

    const again = await openCelebA({ root, preset: 'age', imageSize: 16, cacheDir });
    assert.equal(again.built, false, 'second open reuses the cache (another preset is just a view)');
    assert.equal(again.cacheStatus, 'reused');
    assert.equal(again.cachePath, a.cachePath);
    assert.deepEqual(
      again.dataset.attributes.map((x) => x.name),
      CELEBA_PRESETS.age.attributes,
    );

    const bigger = await openCelebA({ root, preset: 'smile', imageSize: 24, cacheDir });
    assert.equal(bigger.built, true, 'a new size is a new recipe');
    assert.equal(bigger.dataset.imageSize, 24);

    // Change one label: the fingerprint changes, the cache is rebuilt in place.
    const attr = join(root, 'list_attr_celeba.txt');
    writeFileSync(attr, readFileSync(attr, 'utf8').replace('000001.jpg  1', '000001.jpg -1'));
    const changed = await openCelebA({ root, preset: 'smile', imageSize: 16, cacheDir });
    assert.equal(changed.built, true);
    assert.equal(changed.cacheStatus, 'source changed');
    assert.equal(changed.cachePath, a.cachePath);
    const reused = await openCelebA({ root, attributes: ['Young', 'Smiling'], imageSize: 16, cacheDir });
    assert.equal(reused.built, false);
    assert.deepEqual(Array.from(reused.dataset.labels(0)), [pm(0, 39) === 1 ? 1 : 0, 0]);

    // A damaged cache file (e.g. a copy cut short) is rebuilt, not trusted.
    const bytes = readFileSync(a.cachePath);
    writeFileSync(a.cachePath, bytes.subarray(0, bytes.length - 10));
    const repaired = await openCelebA({ root, preset: 'smile', imageSize: 16, cacheDir });
    assert.equal(repaired.cacheStatus, 'cache unreadable');
    assert.equal(repaired.built, true);
    assert.deepEqual(repaired.dataset.batch([1, 2]), changed.dataset.batch([1, 2]));
  });

  test('official partition file, direct cache file, reading rows from disk', async () => {
    const root = await makeCelebA(9, { partition: true });
    const cacheDir = join(root, 'cache');
    const a = await openCelebA({ root, imageSize: 8, cacheDir });
    assert.equal(a.splitSource, 'official');
    assert.deepEqual([a.train.size, a.valid.size, a.test.size], [3, 3, 3]);
    assert.equal(a.dataset.attributes.length, 40, 'no preset and no attributes: all 40');
    assert.equal(a.valid.file(0), '000002.jpg');
    const seeded = await openCelebA({
      root,
      imageSize: 8,
      cacheDir,
      split: { seed: 1, valid: 0.2, test: 0.2 },
    });
    assert.equal(seeded.splitSource, 'seeded');
    assert.equal(seeded.built, false);

    const direct = await openCacheFile(a.cachePath, { inMemory: false });
    assert.equal(direct.inMemory, false);
    assert.equal(direct.size, 9);
    assert.deepEqual(direct.batch([8, 1]), a.dataset.batch([8, 1]));
    assert.deepEqual(direct.image(4), a.dataset.image(4));
    const sub = direct.select([2, 5]);
    assert.equal(sub.file(1), direct.file(5));
    direct.close();
    await rejectsData(() => openCacheFile(join(root, 'list_attr_celeba.txt')), /not a readable ccig cache/);
    assert.throws(() => a.dataset.batch([9]), /Expected an integer index in \[0, 9\) but received 9/);
  });

  test('a model evaluates on the validation faces when asked (heldOutSplit); worlds have none', async () => {
    const root = await makeCelebA(9, { partition: true });
    const cacheDir = join(root, 'cache');
    const cfg = resolveConfig('celeba-smile-small', {});
    const byDefault = await openTrainingData(cfg, { path: root, cacheDir });
    const valid = await openTrainingData(cfg, { path: root, cacheDir, heldOutSplit: 'valid' });
    const opened = await openCelebA({ root, imageSize: 64, cacheDir, attributes: cfg.attributes });
    assert.deepEqual(byDefault.test.batch([0, 2]), opened.test.batch([0, 2]));
    assert.deepEqual(valid.test.batch([0, 2]), opened.valid.batch([0, 2]));
    assert.equal(valid.heldOut, valid.test);
    assert.match(valid.description, /3 train \/ 3 valid images/);
    await assert.rejects(
      openTrainingData(resolveConfig('tiny', {}), { heldOutSplit: 'valid' }),
      (e: unknown) => e instanceof OptionError && /train and test only/.test((e as Error).message),
    );
  });

  test('missing folder, missing label file, missing image folder', async () => {
    const nowhere = join(tmp, 'no-such-folder');
    await rejectsData(() => openCelebA({ root: nowhere }), /CelebA folder not found/, {
      file: /no-such-folder$/,
    });
    const empty = freshDir('empty');
    await rejectsData(() => openCelebA({ root: empty }), /attribute file not found/, {
      file: /list_attr_celeba\.txt$/,
    });
    writeFileSync(join(empty, 'list_attr_celeba.txt'), `0\n${CELEBA_ATTRIBUTES.join(' ')}\n`);
    await rejectsData(() => openCelebA({ root: empty }), /image folder .* not found/, {
      file: /img_align_celeba$/,
    });
  });

  test('malformed label rows stop before anything is decoded', async () => {
    const root = await makeCelebA(3);
    const attr = join(root, 'list_attr_celeba.txt');
    const good = readFileSync(attr, 'utf8');
    const cacheDir = join(root, 'cache');
    writeFileSync(attr, good.replace(/^(000002\.jpg.*) -?1$/m, '$1'));
    await rejectsData(() => openCelebA({ root, cacheDir }), /expected 41 fields .* but found 40/, {
      file: /list_attr_celeba\.txt$/,
      line: 4,
    });
    writeFileSync(attr, good.replace(/^(000003\.jpg +-?1) +(-?1)/m, '$1 maybe'));
    await rejectsData(
      () => openCelebA({ root, cacheDir }),
      /expected 1 or -1 for Arched_Eyebrows but found 'maybe'/,
      {
        line: 5,
      },
    );
    assert.ok(!existsSync(cacheDir), 'no cache folder was even created');
  });

  test('a label row for a missing image, an image with no label row', async () => {
    const extra = `000099.jpg ${CELEBA_ATTRIBUTES.map(() => '1').join(' ')}`;
    const root = await makeCelebA(4, { extraRows: [extra] });
    const cacheDir = join(root, 'cache');
    await rejectsData(
      () => openCelebA({ root, cacheDir }),
      /image 000099\.jpg has a label row here but no file in/,
      { file: /list_attr_celeba\.txt$/, line: 7 },
    );

    const root2 = await makeCelebA(4);
    writeFileSync(join(root2, 'img_align_celeba', '000050.jpg'), await jpeg(50));
    await rejectsData(
      () => openCelebA({ root: root2, cacheDir }),
      /this image has no label row in .*list_attr_celeba\.txt; add the rows.*allowUnlabelled: true/,
      { file: /000050\.jpg$/ },
    );
    const warnings: string[] = [];
    const ok = await openCelebA({
      root: root2,
      cacheDir,
      allowUnlabelled: true,
      onWarning: (w) => warnings.push(w),
    });
    assert.equal(ok.dataset.size, 4);
    assert.match(warnings[0], /Left out 1 image .*000050\.jpg/);
  });

  test('truncated and garbage JPEGs are skipped and counted; strict stops', async () => {
    const root = await makeCelebA(6);
    const dir = join(root, 'img_align_celeba');
    const whole = readFileSync(join(dir, '000002.jpg'));
    writeFileSync(join(dir, '000002.jpg'), whole.subarray(0, whole.length >> 1));
    writeFileSync(join(dir, '000005.jpg'), 'this is not a JPEG');
    const cacheDir = join(root, 'cache');
    const warnings: string[] = [];
    const a = await openCelebA({ root, imageSize: 8, cacheDir, onWarning: (w) => warnings.push(w) });
    assert.equal(a.dataset.size, 4);
    assert.deepEqual(
      a.skipped.map((s) => [s.file, s.line]),
      [
        ['000002.jpg', 4],
        ['000005.jpg', 7],
      ],
    );
    assert.equal(warnings.length, 1);
    // The reason is libvips' own words, which differ between builds ("VipsJpeg: ..." or "Input file has corrupt header"): only its presence is checked.
    assert.match(
      warnings[0],
      /^Skipped 2 unreadable images of 6 in .*000002\.jpg \([^)]+\), 000005\.jpg \([^)]+\)/,
    );
    const files = Array.from({ length: a.dataset.size }, (_, i) => a.dataset.file(i));
    assert.deepEqual(files, ['000001.jpg', '000003.jpg', '000004.jpg', '000006.jpg']);

    // Reused: the skipped images are reported again; strict refuses even a cached skip.
    const warnings2: string[] = [];
    const again = await openCelebA({ root, imageSize: 8, cacheDir, onWarning: (w) => warnings2.push(w) });
    assert.equal(again.built, false);
    assert.equal(warnings2.length, 1);
    await rejectsData(
      () => openCelebA({ root, imageSize: 8, cacheDir, strict: true }),
      /cannot decode image/,
      {
        file: /000002\.jpg$/,
      },
    );
    await rejectsData(
      () => openCelebA({ root, imageSize: 12, cacheDir, strict: true }),
      /cannot decode image: .*list_attr_celeba\.txt:(4|7)/,
      { file: /00000[25]\.jpg$/ },
    );
    const left = readdirSync(cacheDir);
    assert.equal(left.length, 1, `only the 8px cache, no 12px one or temp file: ${left}`);
  });

  test('bad options: preset, attributes, size, unknown keys', async () => {
    const root = await makeCelebA(2);
    await assert.rejects(
      () => openCelebA({ root, preset: 'smiel' as never }),
      (e: unknown) =>
        e instanceof OptionError &&
        e.message === "Expected one of smile, age, faces10 for preset but received 'smiel'",
    );
    await assert.rejects(
      () => openCelebA({ root, attributes: ['Smiling', 'Mle'] }),
      (e: unknown) =>
        e instanceof OptionError &&
        /Unknown attribute 'Mle' \(not a column of .*list_attr_celeba\.txt, line 2\); did you mean 'Male'\? Available: 5_o_Clock_Shadow, .*Young$/.test(
          e.message,
        ),
    );
    await assert.rejects(
      () => openCelebA({ root, preset: 'age', attributes: ['Male'] }),
      /preset or attributes/,
    );
    await assert.rejects(() => openCelebA({ root, imageSize: 63.5 }), /for imageSize but received 63.5/);
    await assert.rejects(() => openCelebA({ root, imagesize: 64 } as never), /Unknown option 'imagesize'/);
    await assert.rejects(() => openCelebA({ root, attributes: [] }), /non-empty array of attribute names/);
  });
});

describe('labelled folder', () => {
  /** DIR/labels.csv with images under DIR/images/, continuous and binary columns. */
  async function makeFolder(n: number): Promise<string> {
    const dir = freshDir('folder');
    mkdirSync(join(dir, 'images'));
    const rows: string[] = [];
    for (let k = 0; k < n; k++) {
      const f = `images/${k}.png`;
      const [r, g, b] = colourOf(k);
      await sharp({ create: { width: 30, height: 20, channels: 3, background: { r, g, b } } })
        .png()
        .toFile(join(dir, f));
      rows.push(`${f},${(k * 0.25 - 1).toFixed(2)},${k % 2 ? 1 : -1}`);
    }
    writeFileSync(join(dir, 'labels.csv'), `file,theta,lit\n${rows.join('\n')}\n`);
    return dir;
  }

  test('opens, infers kinds, reuses and rebuilds the cache', async () => {
    const dir = await makeFolder(8);
    const a = await openFolder({ dir, imageSize: 8, split: { seed: 2 } });
    assert.equal(a.built, true);
    assert.equal(dirname(a.cachePath), join(dir, '.ccig-cache'), 'default cache next to writable data');
    assert.deepEqual(
      a.dataset.attributes.map(({ mean: _m, std: _s, ...range }) => range),
      [
        { name: 'theta', kind: 'continuous', min: -1, max: 0.75 },
        { name: 'lit', kind: 'binary', min: 0, max: 1 },
      ],
    );
    const i = Array.from({ length: 8 }, (_, j) => a.dataset.file(j)).indexOf('images/3.png');
    assert.deepEqual(Array.from(a.dataset.labels(i)), [-0.25, 1]);
    const px = a.dataset.image(i);
    assert.deepEqual(Array.from(px.subarray(0, 3)), colourOf(3));
    const b = await openFolder({ dir, imageSize: 8, attributes: ['lit'] });
    assert.equal(b.built, false, 'the .ccig-cache folder is not mistaken for unlabelled images');
    assert.deepEqual(
      b.dataset.attributes.map((x) => x.name),
      ['lit'],
    );
    appendFileSync(join(dir, 'labels.csv'), 'images/0.png,9,1\n');
    await rejectsData(() => openFolder({ dir, imageSize: 8 }), /already has a row on line 2/, { line: 10 });
  });

  test('csv option, missing files and rows, non-numeric values', async () => {
    const dir = await makeFolder(3);
    await rejectsData(() => openFolder({ dir: join(dir, 'images') }), /label file not found/, {
      file: /labels\.csv$/,
    });
    await rejectsData(() => openFolder({ csv: join(dir, 'nope.csv') }), /label file not found/);
    writeFileSync(join(dir, 'sub.csv'), 'file,theta\nimages/0.png,1.5\nimages/7.png,2\n');
    await rejectsData(
      () => openFolder({ csv: join(dir, 'sub.csv') }),
      /image images\/7\.png has a label row/,
      {
        line: 3,
      },
    );
    writeFileSync(join(dir, 'sub.csv'), 'file,theta\nimages/0.png,1.5\n');
    await rejectsData(() => openFolder({ csv: join(dir, 'sub.csv') }), /no label row/, { file: /1\.png$/ });
    const sub = await openFolder({ csv: join(dir, 'sub.csv'), allowUnlabelled: true, onWarning: () => {} });
    assert.equal(sub.dataset.size, 1);
    writeFileSync(join(dir, 'labels.csv'), 'file,theta,lit\nimages/0.png,0.1,1\nimages/1.png,n/a,0\n');
    await rejectsData(() => openFolder({ dir }), /expected a number for 'theta' but found 'n\/a'/, {
      file: /labels\.csv$/,
      line: 3,
    });
    await assert.rejects(() => openFolder({ dir, csv: 'x.csv' }), /exactly one of them/);
    await assert.rejects(
      () => openFolder({ csv: join(dir, 'sub.csv'), allowUnlabelled: true, attributes: ['thta'] }),
      /Unknown attribute 'thta' .*did you mean 'theta'\? Available: theta$/,
    );
  });

  test('a read-only data folder gets its cache in the user cache folder', async () => {
    const dir = await makeFolder(2);
    const home = freshDir('xdg');
    const saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = home;
    chmodSync(dir, 0o555);
    try {
      const a = await openFolder({ dir, imageSize: 8 });
      assert.equal(dirname(a.cachePath), join(home, 'ccig'));
      assert.ok(!existsSync(join(dir, '.ccig-cache')));
    } finally {
      chmodSync(dir, 0o755);
      if (saved === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved;
    }
  });
});

describe('celeba-8k (real images)', () => {
  const absent = !existsSync(join(CELEBA_8K, 'list_attr_celeba.txt')) && `not found: ${CELEBA_8K}`;
  test('8,000 faces, smile preset, positive rates as documented', { skip: absent }, async () => {
    const warnings: string[] = [];
    const a = await openCelebA({
      root: CELEBA_8K,
      preset: 'smile',
      imageSize: 64,
      cacheDir: join(tmp, 'celeba-8k-cache'),
      onWarning: (w) => warnings.push(w),
    });
    assert.deepEqual(warnings, []);
    assert.equal(a.dataset.size, 8000);
    assert.equal(a.splitSource, 'seeded');
    const rate = (j: number) => {
      let s = 0;
      for (let i = 0; i < a.dataset.size; i++) s += a.dataset.labels(i)[j];
      return s / a.dataset.size;
    };
    // README: Smiling 0.48, Male 0.42 (on the 10k sample this came from)
    assert.ok(Math.abs(rate(0) - 0.48) < 0.03, `Smiling ${rate(0)}`);
    assert.ok(Math.abs(rate(1) - 0.42) < 0.03, `Male ${rate(1)}`);
    const b = a.train.batch(Int32Array.from({ length: 64 }, (_, i) => i * 7));
    assert.equal(b.images.length, 64 * 3 * 64 * 64);
  });
});
