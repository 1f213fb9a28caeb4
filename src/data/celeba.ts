/**
 * CelebA in its official layout, opened as a cached Dataset:
 *
 *     ROOT/img_align_celeba/000001.jpg ...
 *     ROOT/list_attr_celeba.txt        line 1: image count; line 2: 40 attribute names;
 *                                      then "000001.jpg  v1 ... v40" with values 1 / -1
 *     ROOT/list_eval_partition.txt     optional: "000001.jpg 0" (0 train, 1 valid, 2 test)
 *
 * Labels 1 / -1 become 1 / 0. The presets `smile` and `age` (docs/method.md section 5) pick six
 * attributes and carry their super-graphs as [cause, effect] edges by attribute name.
 *
 * @example
 * const { train, test, edges } = await openCelebA({ root: '../shared/datasets/celeba-8k', preset: 'smile' });
 * const batch = train.batch([0, 1, 2, 3]); // images [4, 3, 64, 64] in [-1, 1], labels [4, 6]
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, OptionError } from '../errors.ts';
import { expectOneOf, fmt, listSome, rejectUnknownKeys } from '../options.ts';
import {
  COMMON_OPTION_KEYS,
  type CommonOpenOptions,
  listFolder,
  type OpenedDataset,
  openTable,
  readSource,
  resolveCommon,
  selectColumns,
  sha256,
} from './cache.ts';
import type { LabelTable } from './cache-file.ts';
import type { AttributeInfo } from './dataset.ts';
import { CELEBA_CROP_FRACTION, isImageName } from './preprocess.ts';
import { resolveSplit, type SplitName, type SplitOptions, splitOf } from './split.ts';

/** The 40 CelebA attributes in the official file's order. */
export const CELEBA_ATTRIBUTES = [
  '5_o_Clock_Shadow',
  'Arched_Eyebrows',
  'Attractive',
  'Bags_Under_Eyes',
  'Bald',
  'Bangs',
  'Big_Lips',
  'Big_Nose',
  'Black_Hair',
  'Blond_Hair',
  'Blurry',
  'Brown_Hair',
  'Bushy_Eyebrows',
  'Chubby',
  'Double_Chin',
  'Eyeglasses',
  'Goatee',
  'Gray_Hair',
  'Heavy_Makeup',
  'High_Cheekbones',
  'Male',
  'Mouth_Slightly_Open',
  'Mustache',
  'Narrow_Eyes',
  'No_Beard',
  'Oval_Face',
  'Pale_Skin',
  'Pointy_Nose',
  'Receding_Hairline',
  'Rosy_Cheeks',
  'Sideburns',
  'Smiling',
  'Straight_Hair',
  'Wavy_Hair',
  'Wearing_Earrings',
  'Wearing_Hat',
  'Wearing_Lipstick',
  'Wearing_Necklace',
  'Wearing_Necktie',
  'Young',
] as const;

export type CelebAAttribute = (typeof CELEBA_ATTRIBUTES)[number];

/** A directed edge [cause, effect] between attributes, by name. */
export type Edge = readonly [cause: string, effect: string];

/** A preset: the causal attributes (in docs/method.md's order, which is the latent order) and a super-graph. */
export interface CelebAPreset {
  readonly attributes: readonly CelebAAttribute[];
  readonly edges: readonly (readonly [CelebAAttribute, CelebAAttribute])[];
}

/**
 * docs/method.md section 5. `smile`: Smiling -> {High_Cheekbones, Mouth_Slightly_Open, Narrow_Eyes,
 * Chubby}, Male -> Narrow_Eyes. `age`: Young -> {Receding_Hairline, Heavy_Makeup, Chubby,
 * Bags_Under_Eyes}, Male -> {Receding_Hairline, Heavy_Makeup}.
 */
export const CELEBA_PRESETS = {
  smile: {
    attributes: ['Smiling', 'Male', 'High_Cheekbones', 'Mouth_Slightly_Open', 'Narrow_Eyes', 'Chubby'],
    edges: [
      ['Smiling', 'High_Cheekbones'],
      ['Smiling', 'Mouth_Slightly_Open'],
      ['Smiling', 'Narrow_Eyes'],
      ['Smiling', 'Chubby'],
      ['Male', 'Narrow_Eyes'],
    ],
  },
  age: {
    attributes: ['Young', 'Male', 'Receding_Hairline', 'Heavy_Makeup', 'Chubby', 'Bags_Under_Eyes'],
    edges: [
      ['Young', 'Receding_Hairline'],
      ['Young', 'Heavy_Makeup'],
      ['Young', 'Chubby'],
      ['Young', 'Bags_Under_Eyes'],
      ['Male', 'Receding_Hairline'],
      ['Male', 'Heavy_Makeup'],
    ],
  },
  /**
   * Issue 25, item 4 (defined, **not trained**): ten attributes with at least 300 faces labelled
   * 1 in celeba-8k (counts of the 8,000: Male 3,372, Young 6,227, Smiling 3,839,
   * High_Cheekbones 3,570, Mouth_Slightly_Open 3,838, Heavy_Makeup 3,044, Wearing_Lipstick
   * 3,710, Eyeglasses 546, Bags_Under_Eyes 1,646, Chubby 468). A super-graph: each edge a
   * plausible cause, the given structure learns only their weights.
   */
  faces10: {
    attributes: [
      'Male',
      'Young',
      'Smiling',
      'High_Cheekbones',
      'Mouth_Slightly_Open',
      'Heavy_Makeup',
      'Wearing_Lipstick',
      'Eyeglasses',
      'Bags_Under_Eyes',
      'Chubby',
    ],
    edges: [
      ['Smiling', 'High_Cheekbones'], // a smile lifts the cheeks
      ['Smiling', 'Mouth_Slightly_Open'], // a smile parts the lips
      ['Male', 'High_Cheekbones'], // CelebA's labellers mark it far more on women (session 6)
      ['Male', 'Heavy_Makeup'], // makeup is worn mostly by women in these photos
      ['Male', 'Wearing_Lipstick'], // likewise lipstick
      ['Heavy_Makeup', 'Wearing_Lipstick'], // lipstick is part of a made-up face
      ['Male', 'Chubby'], // the label is on 12% of men and 1% of women (session 6)
      ['Young', 'Chubby'], // weight comes with age
      ['Young', 'Bags_Under_Eyes'], // so do bags under the eyes
      ['Young', 'Eyeglasses'], // glasses become common with age
      ['Young', 'Heavy_Makeup'], // SPEC's age graph: makeup differs with age
    ],
  },
} as const satisfies Record<string, CelebAPreset>;

/**
 * Edges the CPU face presets add to DEAR's `smile` super-graph: CelebA's labels depend on sex
 * (in celeba-8k, High_Cheekbones is on 55% of the faces labelled female and 30% of those
 * labelled male, Chubby on 1% and 12%), and the learned graph finds both adjacencies in 0.85-1.00
 * of held-out resamples. Without a path from Male, the prior draws cheekbones independently of sex,
 * the generator draws the dependence into High_Cheekbones' latent, and do(Smiling), which moves
 * High_Cheekbones, changes how male a face looks (docs/results/celeba.md, "why smile edits changed sex").
 */
export const CELEBA_SEX_EDGES = {
  smile: [
    ['Male', 'High_Cheekbones'],
    ['Male', 'Chubby'],
  ],
  age: [], // not measured
  faces10: [], // already in its graph
} as const satisfies Record<keyof typeof CELEBA_PRESETS, CelebAPreset['edges']>;

export type CelebAPresetName = keyof typeof CELEBA_PRESETS;
export const CELEBA_PRESET_NAMES = Object.keys(CELEBA_PRESETS) as CelebAPresetName[];

/** File and folder names of the official layout. */
export const CELEBA_LAYOUT = {
  images: 'img_align_celeba',
  attributes: 'list_attr_celeba.txt',
  partition: 'list_eval_partition.txt',
} as const;

/** Options of openCelebA: the source, the attributes, the split, and the shared cache options. */
export interface CelebAOptions extends CommonOpenOptions {
  /** Folder holding img_align_celeba/ and list_attr_celeba.txt. */
  root: string;
  /** `smile` or `age` (docs/method.md section 5). Give a preset or attributes, not both; neither: all 40. */
  preset?: CelebAPresetName;
  /** Attribute names, in the order wanted. */
  attributes?: readonly string[];
  /**
   * A seeded split by file-name hash. Default: the official list_eval_partition.txt when present,
   * else { seed: 0, valid: 0.1, test: 0.1 }. Giving split forces the seeded split.
   */
  split?: SplitOptions;
}

/** What openCelebA returns: the datasets plus the preset's super-graph. */
export interface CelebAOpened extends OpenedDataset {
  preset: CelebAPresetName | null;
  /** The preset's super-graph as [cause, effect] by attribute name; [] without a preset. */
  edges: readonly Edge[];
}

const CELEBA_KEYS = ['root', 'preset', 'attributes', 'split', ...COMMON_OPTION_KEYS];

/**
 * Open CelebA (official layout), building or reusing its preprocessed cache.
 *
 * Stops with a DataError (file and line) for a missing folder or label file, malformed label rows,
 * label rows whose image is missing, and images without a label row; with an OptionError for bad
 * options. Unreadable images are skipped and reported through onWarning (or stop it, with strict).
 *
 * @example
 * const celeba = await openCelebA({
 *   root: '/data/celeba',
 *   preset: 'smile',
 *   imageSize: 64,
 *   onProgress: (done, total) => process.stderr.write(`\r${done}/${total}`),
 * });
 * celeba.dataset.attributes.map((a) => a.name); // ['Smiling', 'Male', ...]
 * celeba.edges; // [['Smiling', 'High_Cheekbones'], ...]
 */
export async function openCelebA(options: CelebAOptions): Promise<CelebAOpened> {
  if (typeof options !== 'object' || options === null) {
    throw new OptionError(`Expected an options object for openCelebA but received ${fmt(options)}`);
  }
  rejectUnknownKeys(options, CELEBA_KEYS, 'openCelebA');
  const common = resolveCommon(options, CELEBA_CROP_FRACTION);
  if (typeof options.root !== 'string' || options.root === '') {
    throw new OptionError(`Expected a folder path for root but received ${fmt(options.root)}`);
  }
  if (options.preset !== undefined && options.attributes !== undefined) {
    throw new OptionError('Give preset or attributes, not both');
  }
  const preset =
    options.preset === undefined ? null : expectOneOf(options.preset, CELEBA_PRESET_NAMES, 'preset');
  const seeded = options.split === undefined ? null : resolveSplit(options.split);

  // The layout, checked in the order a person would fix it.
  const root = options.root;
  checkFolder(root, 'CelebA folder');
  const labelFile = join(root, CELEBA_LAYOUT.attributes);
  if (!existsSync(labelFile)) {
    throw new DataError(
      `attribute file not found: the official layout has ${CELEBA_LAYOUT.attributes} next to ${CELEBA_LAYOUT.images}/`,
      labelFile,
    );
  }
  const imageRoot = findImageFolder(root);

  const bytes = readSource(labelFile);
  const parsed = parseAttributeFile(bytes.toString('utf8'), labelFile);
  const wanted = preset ? CELEBA_PRESETS[preset].attributes : (options.attributes ?? parsed.names);
  const columns = selectColumns(parsed.names, wanted, `${labelFile}, line 2`);

  const table: LabelTable = {
    kind: 'celeba',
    imageRoot,
    labelFile,
    labelHash: sha256(bytes),
    files: parsed.files,
    lines: parsed.lines,
    attributes: parsed.names.map((name): AttributeInfo => ({ name, kind: 'binary', min: 0, max: 1 })),
    labels: parsed.labels,
  };

  // An image without a label row stops the run (unless allowUnlabelled): in the official layout
  // every image has a row, so one without means a mixed or partial download, and training on the
  // labelled rest would silently use a different dataset than the user believes.
  const labelled = new Set(parsed.files);
  const unlabelled = listFolder(imageRoot)
    .map((e) => e.name)
    .filter((f) => isImageName(f) && !labelled.has(f))
    .sort();

  const partitionFile = join(root, CELEBA_LAYOUT.partition);
  let split: (row: number) => SplitName;
  let splitSource: OpenedDataset['splitSource'];
  if (seeded === null && existsSync(partitionFile)) {
    const partition = parsePartitionFile(readSource(partitionFile).toString('utf8'), partitionFile);
    const missing = parsed.files.filter((f) => !partition.has(f));
    if (missing.length > 0) {
      throw new DataError(
        `${missing.length} labelled image${missing.length > 1 ? 's have' : ' has'} no row here: ${listSome(missing)}`,
        partitionFile,
      );
    }
    split = (r) => partition.get(parsed.files[r])!;
    splitSource = 'official';
  } else {
    const s = seeded ?? resolveSplit({});
    split = (r) => splitOf(parsed.files[r], s);
    splitSource = 'seeded';
  }

  const opened = await openTable({
    table,
    options: common,
    columns,
    splitOf: split,
    splitSource,
    dataDir: root,
    unlabelled,
  });
  return { ...opened, preset, edges: preset ? CELEBA_PRESETS[preset].edges : [] };
}

/** Throw DataError unless `dir` is an existing folder. */
export function checkFolder(dir: string, what: string): void {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new DataError(`${what} not found`, dir);
  }
  if (!isDir) throw new DataError(`${what} is not a folder`, dir);
}

/** img_align_celeba/, or the doubly nested folder some downloads unpack to. */
function findImageFolder(root: string): string {
  const dir = join(root, CELEBA_LAYOUT.images);
  checkFolder(
    dir,
    `image folder (the official layout has ${CELEBA_LAYOUT.images}/ next to ${CELEBA_LAYOUT.attributes})`,
  );
  const nested = join(dir, CELEBA_LAYOUT.images);
  if (
    existsSync(nested) &&
    statSync(nested).isDirectory() &&
    !listFolder(dir).some((e) => isImageName(e.name))
  )
    return nested;
  return dir;
}

/** A parsed list_attr_celeba.txt. */
export interface AttributeFile {
  /** Attribute names from line 2. */
  names: string[];
  /** Image names, one per row. */
  files: string[];
  /** 1-based line of each row. */
  lines: number[];
  /** [rows, names.length], 1 for 1 and 0 for -1 (or 0). */
  labels: Float32Array;
}

/**
 * Parse the official attribute file. Throws DataError with file and line for a bad count line,
 * missing or duplicate names, a row with the wrong number of fields, a value other than 1 / -1
 * (0 is accepted as negative), a repeated image, or a count line that disagrees with the rows.
 */
export function parseAttributeFile(text: string, file: string): AttributeFile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const countText = (lines[0] ?? '').trim();
  if (!/^\d+$/.test(countText)) {
    throw new DataError(`expected the number of images on line 1 but found ${fmt(countText)}`, file, 1);
  }
  const declared = Number(countText);
  const names = (lines[1] ?? '').trim().split(/\s+/).filter(Boolean);
  if (names.length === 0)
    throw new DataError('expected the attribute names on line 2 but found none', file, 2);
  const seenName = new Set<string>();
  for (const n of names) {
    if (seenName.has(n)) throw new DataError(`attribute '${n}' is named twice`, file, 2);
    seenName.add(n);
  }
  const m = names.length;
  const files: string[] = [];
  const rowLines: number[] = [];
  // Sized from the count line (grown if the file holds more rows, which is reported below).
  let labels = new Float32Array(Math.min(declared, 1e7) * m);
  const lineOf = new Map<string, number>();
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i];
    const lineNo = i + 1;
    const r = files.length;
    if ((r + 1) * m > labels.length) {
      const grown = new Float32Array(Math.max(2 * labels.length, (r + 1) * m));
      grown.set(labels);
      labels = grown;
    }
    const name = scanRow(line, m, labels, r * m) ?? checkRow(line, names, file, lineNo, labels, r * m);
    if (name === '') continue; // blank line
    const prev = lineOf.get(name);
    if (prev !== undefined)
      throw new DataError(`image ${name} already has a row on line ${prev}`, file, lineNo);
    lineOf.set(name, lineNo);
    files.push(name);
    rowLines.push(lineNo);
  }
  if (files.length !== declared) {
    throw new DataError(`line 1 says ${declared} images but ${files.length} rows follow`, file, 1);
  }
  return { names, files, lines: rowLines, labels: labels.slice(0, files.length * m) };
}

/**
 * Fast path for one attribute row: a name then exactly m values each '1', '-1' or '0', separated
 * by spaces or tabs. Writes the values at out[at..] and returns the name; returns '' for a blank
 * line and null for anything else, which checkRow then reports. (A regex split per line made the
 * full 202,599-row file take 0.6 s to parse; this scan is several times faster.)
 */
function scanRow(line: string, m: number, out: Float32Array, at: number): string | null {
  const n = line.length;
  let p = 0;
  while (p < n && isSpace(line.charCodeAt(p))) p++;
  if (p === n) return '';
  const s = p;
  while (p < n && !isSpace(line.charCodeAt(p))) p++;
  const name = line.slice(s, p);
  for (let j = 0; j < m; j++) {
    const before = p;
    while (p < n && isSpace(line.charCodeAt(p))) p++;
    if (p === before || p === n) return null;
    const c = line.charCodeAt(p);
    let v: number;
    if (c === 49 /* 1 */) {
      v = 1;
      p++;
    } else if (c === 48 /* 0 */) {
      v = 0;
      p++;
    } else if (c === 45 /* - */ && line.charCodeAt(p + 1) === 49) {
      v = 0;
      p += 2;
    } else return null;
    if (p < n && !isSpace(line.charCodeAt(p))) return null;
    out[at + j] = v;
  }
  while (p < n && isSpace(line.charCodeAt(p))) p++;
  return p === n ? name : null;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

/** The slow, explaining path for a row the fast scan refused: throws its DataError. */
function checkRow(
  line: string,
  names: string[],
  file: string,
  lineNo: number,
  out: Float32Array,
  at: number,
): string {
  const m = names.length;
  const tokens = line.trim().split(/\s+/);
  if (tokens.length !== m + 1) {
    throw new DataError(
      `expected ${m + 1} fields (image name and ${m} attribute values) but found ${tokens.length}`,
      file,
      lineNo,
    );
  }
  for (let j = 0; j < m; j++) {
    const t = tokens[j + 1];
    if (t === '1') out[at + j] = 1;
    else if (t === '-1' || t === '0') out[at + j] = 0;
    else {
      const what = Number.isFinite(Number(t)) ? '' : ' (not a number)';
      throw new DataError(`expected 1 or -1 for ${names[j]} but found ${fmt(t)}${what}`, file, lineNo);
    }
  }
  return tokens[0];
}

/**
 * Parse list_eval_partition.txt ("000001.jpg 0" per line; 0 train, 1 valid, 2 test). Throws
 * DataError with file and line for malformed rows.
 */
export function parsePartitionFile(text: string, file: string): Map<string, SplitName> {
  const out = new Map<string, SplitName>();
  const splits: SplitName[] = ['train', 'valid', 'test'];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const tokens = line.split(/\s+/);
    if (tokens.length !== 2) {
      throw new DataError(
        `expected 2 fields (image name and 0, 1 or 2) but found ${tokens.length}`,
        file,
        i + 1,
      );
    }
    const p = ['0', '1', '2'].indexOf(tokens[1]);
    if (p < 0)
      throw new DataError(`expected 0, 1 or 2 for the partition but found ${fmt(tokens[1])}`, file, i + 1);
    out.set(tokens[0], splits[p]);
  }
  return out;
}
