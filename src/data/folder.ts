/**
 * A generic labelled folder: images plus one CSV, opened as a cached Dataset. The synthetic worlds
 * write their on-disk output in this format.
 *
 *     DIR/labels.csv       file,theta,phi,shade,mid
 *                          images/00000.png,0.31,1.22,4.5,10.2
 *     DIR/images/00000.png ...
 *
 * The file column is the one named `file`, else the first; its paths are relative to the CSV's
 * folder. Every other column is an attribute: binary when all its values are 0/1 (or all -1/1,
 * mapped to 0/1), continuous otherwise. Fields may be quoted ("a,b.png"); blank lines are ignored.
 *
 * An optional column named `intervened` records each row's regime: the attributes that were set
 * by intervention (do()) in that image, separated by `;` (e.g. `light_angle` or `a;b`), empty
 * for an observational row. Structure learning does not score those attributes' mechanisms on
 * that row. Without the column every row is observational.
 *
 * @example
 * const { train, test } = await openFolder({ dir: 'out/pendulum', imageSize: 64 });
 * train.attributes; // [{ name: 'theta', kind: 'continuous', min: -0.63, max: 0.68 }, ...]
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { DataError, OptionError } from '../errors.ts';
import { fmt, rejectUnknownKeys } from '../options.ts';
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
import { checkFolder } from './celeba.ts';
import { type AttributeInfo, columnMoments, INTERVENED_COLUMN, INTERVENED_SEPARATOR } from './dataset.ts';
import { isImageName } from './preprocess.ts';
import { resolveSplit, type SplitOptions, splitOf } from './split.ts';

/** The label file looked for in `dir` when no `csv` is given. */
export const DEFAULT_LABEL_FILE = 'labels.csv';

/** Options of openFolder: give `dir` or `csv`. */
export interface FolderOptions extends CommonOpenOptions {
  /** The folder; labels are read from DIR/labels.csv. */
  dir?: string;
  /** A CSV file instead; image paths are relative to its folder. */
  csv?: string;
  /** Attribute columns to use, in the order wanted; default all. */
  attributes?: readonly string[];
  /** Seeded split by file-name hash; default { seed: 0, valid: 0.1, test: 0.1 }. */
  split?: SplitOptions;
}

const FOLDER_KEYS = ['dir', 'csv', 'attributes', 'split', ...COMMON_OPTION_KEYS];

/**
 * Open a labelled folder, building or reusing its preprocessed cache (crop: the largest centred
 * square unless cropFraction says otherwise).
 *
 * Stops with a DataError (file and line) for a missing folder or CSV, malformed rows, rows whose
 * image is missing, and images under the CSV's folder without a row; with an OptionError for bad
 * options. Unreadable images are skipped and reported through onWarning (or stop it, with strict).
 *
 * @example
 * const data = await openFolder({ csv: 'faces/train.csv', attributes: ['smile', 'age'], allowUnlabelled: true });
 * data.dataset.batch([0, 1]).labels; // [2, 2]
 */
export async function openFolder(options: FolderOptions): Promise<OpenedDataset> {
  if (typeof options !== 'object' || options === null) {
    throw new OptionError(`Expected an options object for openFolder but received ${fmt(options)}`);
  }
  rejectUnknownKeys(options, FOLDER_KEYS, 'openFolder');
  const common = resolveCommon(options, 1);
  if ((options.dir === undefined) === (options.csv === undefined)) {
    throw new OptionError('Give dir (a folder with labels.csv) or csv (a label file), exactly one of them');
  }
  for (const key of ['dir', 'csv'] as const) {
    if (options[key] !== undefined && (typeof options[key] !== 'string' || options[key] === '')) {
      throw new OptionError(`Expected a path for ${key} but received ${fmt(options[key])}`);
    }
  }
  const split = resolveSplit(options.split ?? {});

  let csv: string;
  if (options.dir !== undefined) {
    checkFolder(options.dir, 'data folder');
    csv = join(options.dir, DEFAULT_LABEL_FILE);
    if (!existsSync(csv)) {
      throw new DataError(
        `label file not found: a labelled folder needs ${DEFAULT_LABEL_FILE} (or pass csv)`,
        csv,
      );
    }
  } else {
    csv = options.csv!;
    checkFolder(dirname(resolve(csv)), 'folder of the label file');
    if (!existsSync(csv)) throw new DataError('label file not found', csv);
  }
  const root = dirname(csv);

  const bytes = readSource(csv);
  const parsed = parseLabelCsv(bytes.toString('utf8'), csv);
  const names = parsed.attributes.map((a) => a.name);
  const columns = selectColumns(names, options.attributes ?? names, `${csv}, line 1`);

  const table: LabelTable = {
    kind: 'folder',
    imageRoot: root,
    labelFile: csv,
    labelHash: sha256(bytes),
    files: parsed.files,
    lines: parsed.lines,
    attributes: parsed.attributes,
    labels: parsed.labels,
    intervened: parsed.intervened,
  };

  // Images under the CSV's folder with no row stop the run unless allowUnlabelled: a forgotten row
  // is far more common than an intended subset, and a subset is one option away.
  const labelled = new Set(parsed.files);
  const unlabelled = common.allowUnlabelled ? [] : listImages(root).filter((f) => !labelled.has(f));

  return openTable({
    table,
    options: common,
    columns,
    splitOf: (r) => splitOf(parsed.files[r], split),
    splitSource: 'seeded',
    dataDir: root,
    unlabelled,
  });
}

/** Image files under `root`, relative with '/' separators, sorted; hidden folders (.ccig-cache) skipped. */
function listImages(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const e of listFolder(dir)) {
      if (e.name.startsWith('.')) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(dir, e.name), r);
      else if (isImageName(e.name) && (e.isFile() || statSync(join(dir, e.name)).isFile())) out.push(r);
    }
  };
  walk(root, '');
  return out.sort();
}

/** A parsed label CSV. */
export interface LabelCsv {
  /** Name of the file column in the header. */
  fileColumn: string;
  /** The attribute columns with their kinds and observed ranges. */
  attributes: AttributeInfo[];
  /** Image paths relative to the CSV's folder, '/'-separated, one per row. */
  files: string[];
  /** 1-based line of each row. */
  lines: number[];
  /** [rows, attributes.length]; binary columns hold 0/1 (-1 mapped to 0). */
  labels: Float32Array;
  /** [rows, attributes.length] 1 where the `intervened` column names the attribute; all 0 without it. */
  intervened: Uint8Array;
}

/** A plain decimal number (no hex, no Infinity, no empty string). */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parse a label CSV. Throws DataError with file and line for an empty file, unnamed or repeated
 * columns, no attribute column, a row with the wrong number of fields, an empty or repeated file
 * name, and a value that is not a number.
 */
export function parseLabelCsv(text: string, file: string): LabelCsv {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let h = 0;
  while (h < lines.length && lines[h].trim() === '') h++;
  if (h === lines.length)
    throw new DataError('the label file is empty; expected a header like file,attr1,attr2', file);
  const header = splitCsvLine(lines[h], file, h + 1).map((s) => s.trim());
  header.forEach((name, k) => {
    if (name === '') throw new DataError(`column ${k + 1} of the header has no name`, file, h + 1);
    if (header.indexOf(name) !== k) throw new DataError(`column '${name}' is named twice`, file, h + 1);
  });
  const fileCol = Math.max(0, header.indexOf('file'));
  const regimeCol = header.indexOf(INTERVENED_COLUMN);
  const attrCols = header.map((_, k) => k).filter((k) => k !== fileCol && k !== regimeCol);
  if (attrCols.length === 0) {
    throw new DataError(
      `no attribute columns: expected a header like ${header[fileCol]},attr1,attr2`,
      file,
      h + 1,
    );
  }
  const m = attrCols.length;
  const files: string[] = [];
  const rowLines: number[] = [];
  const values: number[] = [];
  const regimes: number[] = [];
  const attrNames = attrCols.map((k) => header[k]);
  const lineOf = new Map<string, number>();
  for (let i = h + 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const lineNo = i + 1;
    const fields = splitCsvLine(lines[i], file, lineNo);
    if (fields.length !== header.length) {
      throw new DataError(
        `expected ${header.length} columns (${header.join(', ')}) but found ${fields.length}`,
        file,
        lineNo,
      );
    }
    const raw = fields[fileCol].trim();
    if (raw === '') throw new DataError(`empty ${header[fileCol]} field`, file, lineNo);
    // Normalise so 'a/./b.png', 'a\\b.png' and 'a/b.png' are one image (and match the folder scan).
    const name = posix.normalize(raw.replace(/\\/g, '/'));
    const prev = lineOf.get(name);
    if (prev !== undefined)
      throw new DataError(`image ${raw} already has a row on line ${prev}`, file, lineNo);
    lineOf.set(name, lineNo);
    for (const k of attrCols) {
      const t = fields[k].trim();
      if (!NUMBER.test(t)) {
        throw new DataError(`expected a number for '${header[k]}' but found ${fmt(t)}`, file, lineNo);
      }
      values.push(Number(t));
    }
    if (regimeCol >= 0) regimes.push(...parseRegime(fields[regimeCol], attrNames, file, lineNo));
    files.push(name);
    rowLines.push(lineNo);
  }
  if (files.length === 0) throw new DataError('the label file has a header but no rows', file, h + 1);

  const labels = Float32Array.from(values);
  const intervened = regimeCol >= 0 ? Uint8Array.from(regimes) : new Uint8Array(files.length * m);
  const attributes = attrCols.map((k, j): AttributeInfo => {
    let min = Infinity;
    let max = -Infinity;
    let only01 = true;
    let onlyPm1 = true;
    for (let r = 0; r < files.length; r++) {
      const v = labels[r * m + j]; // the stored float32, so min/max match the labels exactly
      if (v < min) min = v;
      if (v > max) max = v;
      if (v !== 0 && v !== 1) only01 = false;
      if (v !== -1 && v !== 1) onlyPm1 = false;
    }
    if (only01) return { name: header[k], kind: 'binary', min: 0, max: 1 };
    if (onlyPm1) {
      for (let r = 0; r < files.length; r++) if (labels[r * m + j] === -1) labels[r * m + j] = 0;
      return { name: header[k], kind: 'binary', min: 0, max: 1 };
    }
    return { name: header[k], kind: 'continuous', min, max, ...columnMoments(labels, m, j) };
  });
  return { fileColumn: header[fileCol], attributes, files, lines: rowLines, labels, intervened };
}

/**
 * One cell of the `intervened` column -> a 0/1 row over the attributes. Empty: observational.
 * Throws DataError (file and line) for an unknown or repeated name, or an empty name between
 * separators.
 */
function parseRegime(cell: string, attributes: readonly string[], file: string, lineNo: number): number[] {
  const row = new Array<number>(attributes.length).fill(0);
  const text = cell.trim();
  if (text === '') return row;
  for (const raw of text.split(INTERVENED_SEPARATOR)) {
    const name = raw.trim();
    if (name === '')
      throw new DataError(
        `empty attribute name in the ${INTERVENED_COLUMN} column ${fmt(text)}; expected names separated by '${INTERVENED_SEPARATOR}', e.g. ${attributes.slice(0, 2).join(INTERVENED_SEPARATOR)}`,
        file,
        lineNo,
      );
    const j = attributes.indexOf(name);
    if (j < 0)
      throw new DataError(
        `unknown attribute ${fmt(name)} in the ${INTERVENED_COLUMN} column; attributes are ${attributes.join(', ')}`,
        file,
        lineNo,
      );
    if (row[j] === 1)
      throw new DataError(
        `attribute ${fmt(name)} is named twice in the ${INTERVENED_COLUMN} column`,
        file,
        lineNo,
      );
    row[j] = 1;
  }
  return row;
}

/** Split one CSV line on commas, honouring "quoted, fields" with "" for a quote. */
function splitCsvLine(line: string, file: string, lineNo: number): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (quoted) throw new DataError('a quoted field is not closed on this line', file, lineNo);
  out.push(cur);
  return out;
}
