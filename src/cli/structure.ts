/**
 * `ccig structure FILE.csv`: the structure search of training (src/causal/search.ts) on a table,
 * one column per attribute, with an optional `intervened` column as in labelled folders (the
 * attributes set by do() in that row, `;`-separated); a `file` column is ignored. Prints every
 * edge once, determined (->) or not (--), with its stability over half-size subsamples.
 *
 * @example
 *   ccig structure labels.csv --resamples 20
 *   ccig structure labels.csv --json   // { "nodes": [...], "edges": [{ "from", "to", "directed", "stability" }] }
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SCORES } from '../causal/local-score.ts';
import { SEARCH_METHODS, searchStructure } from '../causal/search.ts';
import { parseLabelCsv } from '../data/folder.ts';
import { OptionError } from '../errors.ts';
import { toFileSystemError } from '../files.ts';
import { int, num, parseOptions } from './util.ts';

export async function structureCommand(file: string, raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(
    z.strictObject({
      resamples: int.min(0).max(1000).default(20),
      method: z.enum(SEARCH_METHODS).default('auto'),
      score: z.enum(SCORES).default('knn'),
      readingError: num.min(0).max(0.99).optional(),
      rows: int.min(2).default(2000),
      seed: int.default(0),
      require: z.array(z.string()).default([]),
      forbid: z.array(z.string()).default([]),
      json: z.boolean().default(false),
    }),
    raw,
    'structure',
  );
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new OptionError(`structure: ${file} does not exist`);
    throw toFileSystemError(e, 'read', file);
  }
  const table = parseLabelCsv(withFileColumn(text), file);
  const nodes = table.attributes.map((a) => a.name);
  const m = nodes.length;
  const n = table.files.length;
  if (n < 2) throw new OptionError(`structure: ${file} has ${n} rows; a search needs at least 2`);
  const edgeList = (list: string[], flag: string) =>
    list.map((s): [string, string] => {
      const parts = s.split(/->|,/).map((p) => p.trim());
      if (parts.length !== 2 || !parts[0] || !parts[1])
        throw new OptionError(`structure: ${flag} expects an edge 'cause->effect', received '${s}'`);
      return [parts[0], parts[1]];
    });
  const found = searchStructure(table.labels, n, m, {
    nodes,
    intervened: table.intervened,
    method: o.method,
    score: o.score,
    readingError: o.readingError,
    maxRows: o.rows,
    resamples: o.resamples,
    seed: o.seed,
    required: edgeList(o.require, '--require'),
    forbidden: edgeList(o.forbid, '--forbid'),
  });
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify({ nodes: found.nodes, method: found.method, rows: Math.min(n, o.rows), resamples: found.resamples, edges: found.edges }, null, 2)}\n`,
    );
    return;
  }
  const pct = (v: number | undefined) => (v === undefined ? '' : `${Math.round(v * 100)}%`);
  const regimes = found.targets.filter((t) => t.length > 0).length;
  const lines = [
    `${found.method} search over ${m} attributes, ${Math.min(n, o.rows)} rows (${regimes ? `${regimes} interventional regime${regimes > 1 ? 's' : ''}` : 'observational only'}), ${o.score} score`,
    ...found.edges.map(
      (e) =>
        `  ${e.from} ${e.directed ? '->' : '--'} ${e.to}  ${e.directed ? 'determined' : 'undetermined'}${
          found.resamples
            ? `  joined in ${pct(e.stability)}, same mark in ${pct(e.markStability)} of ${found.resamples} subsamples`
            : ''
        }`,
    ),
  ];
  if (found.edges.length === 0) lines.push('  no edge');
  if (found.edges.some((e) => !e.directed))
    lines.push(
      "  (--: these data do not determine the direction; the search's choice is shown first. Fix one with --require 'a->b'.)",
    );
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * The label-file parser takes the first column for image paths unless one is named `file`: a table
 * of attributes alone gets a row-number column in front (line numbers stay the same).
 */
function withFileColumn(text: string): string {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const h = lines.findIndex((l) => l.trim() !== '');
  if (h < 0 || lines[h].split(',').some((c) => c.trim().replace(/^"|"$/g, '') === 'file')) return text;
  return lines.map((l, i) => (l.trim() === '' ? l : i === h ? `file,${l}` : `row${i},${l}`)).join('\n');
}
