// Chooses checkpoints of a CelebA smile model by its `ccig eval --split valid` reports, so the
// choice never sees the test faces that the reported figures come from. The rule (issue 14's
// targets, decided before any report was read):
//   eligible: do(Smiling=1) and do(Smiling=0) succeed on >= 0.85 of faces, and both descendants
//             (Mouth_Slightly_Open, High_Cheekbones) move along their learned edges more than under
//             the non-causal edit, significantly, each way;
//   ranked:   by Male kept in smile edits (the oracle reads the face's own Male on the edit), then
//             by reconstructions keeping every attribute.
// `--rule edits` (any face preset; decided before the ten-attribute model's reports were read):
//   ranked by the attributes editable both ways (report.binaryEdits.editable), then the edits that
//   work (success and realism), then the mean success of all edits, then their mean SSIM to the face.
// Plain JavaScript (no tsx), so it also runs where only the compiled CLI does (a GPU machine).
//   node scripts/face-select.mjs [--rule smile|edits] [--keep K] [--write FILE] report.json...
// prints every report ranked; --write FILE gets the top K checkpoints' paths, one a line (eligible
// ones first; where fewer than K are eligible, the best of the rest fill the list).
import { readFileSync, writeFileSync } from 'node:fs';

const DESCENDANTS = ['Mouth_Slightly_Open', 'High_Cheekbones'];

/** The figures of the rule from one report.json (null where it has no binary-edits section). */
export function smileFigures(report) {
  const e = report.binaryEdits;
  if (!e) return null;
  const rows = [1, 0].map((t) => e.rows.find((x) => x.attribute === 'Smiling' && x.target === t));
  if (rows.some((x) => !x || x.n === 0)) return null;
  const n = rows.reduce((s, x) => s + x.n, 0);
  const maleKept = rows.reduce((s, x) => s + (x.effects.Male?.keptCausal ?? 0) * x.n, 0) / n;
  const success = rows.map((x) => x.success.causal?.mean ?? 0);
  // a descendant moves along its edge: the learned edges' direction for this edit, and the causal
  // minus non-causal shift that way with an interval excluding 0 (as scripts/face-targets.ts)
  const descendantsMet = rows.every((x) =>
    DESCENDANTS.every((j) => {
      const d = x.descendants.includes(j) ? Math.sign(x.intended[j] ?? 0) : 0;
      const diff = x.effects[j]?.difference;
      return d !== 0 && !!diff && d * diff.mean > 0 && diff.significant;
    }),
  );
  const eligible = success.every((s) => s >= 0.85) && descendantsMet;
  return {
    step: report.step,
    checkpoint: report.checkpoint,
    success,
    maleKept,
    descendantsMet,
    allKept: e.reconstruction.allKept,
    eligible,
  };
}

/** The figures of the `edits` rule from one report.json (null where it has no binary-edits section). */
export function editFigures(report) {
  const e = report.binaryEdits;
  if (!e || e.rows.length === 0) return null;
  const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
  return {
    step: report.step,
    checkpoint: report.checkpoint,
    editable: Object.values(e.editable).filter(Boolean).length,
    works: e.rows.filter((x) => x.works).length,
    success: mean(e.rows.map((x) => x.success.causal?.mean ?? 0)),
    ssim: mean(e.rows.map((x) => x.identity.causal?.ssim?.mean ?? 0)),
  };
}

function rankEdits(files, keep, write) {
  const rows = files
    .map((f) => ({ file: f, fig: editFigures(JSON.parse(readFileSync(f, 'utf8'))) }))
    .filter((r) => r.fig !== null)
    .sort(
      (a, b) =>
        b.fig.editable - a.fig.editable ||
        b.fig.works - a.fig.works ||
        b.fig.success - a.fig.success ||
        b.fig.ssim - a.fig.ssim,
    );
  console.log(
    '| report | step | attributes editable | edits that work | mean success | mean SSIM to the face |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const { file, fig } of rows)
    console.log(
      `| ${file} | ${fig.step} | ${fig.editable} | ${fig.works} | ${fig.success.toFixed(3)} | ${fig.ssim.toFixed(3)} |`,
    );
  const chosen = rows.slice(0, keep);
  if (write) writeFileSync(write, chosen.map((r) => `${r.fig.checkpoint}\n`).join(''));
  for (const r of chosen) console.log(`chosen: ${r.fig.checkpoint}`);
}

function main(argv) {
  let keep = 3;
  let write;
  let rule = 'smile';
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--keep') keep = Number(argv[++i]);
    else if (argv[i] === '--rule') rule = argv[++i];
    else if (argv[i] === '--write') write = argv[++i];
    else files.push(argv[i]);
  }
  if (files.length === 0 || !(keep >= 0) || !['smile', 'edits'].includes(rule)) {
    console.error('usage: face-select.mjs [--rule smile|edits] [--keep K] [--write FILE] report.json...');
    process.exit(2);
  }
  if (rule === 'edits') return rankEdits(files, keep, write);
  const rows = files
    .map((f) => ({ file: f, fig: smileFigures(JSON.parse(readFileSync(f, 'utf8'))) }))
    .filter((r) => r.fig !== null)
    .sort(
      (a, b) =>
        Number(b.fig.eligible) - Number(a.fig.eligible) ||
        b.fig.maleKept - a.fig.maleKept ||
        b.fig.allKept - a.fig.allKept,
    );
  console.log(
    '| report | step | do(Smiling=1) / =0 success | descendants met | Male kept | all kept | eligible |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const { file, fig } of rows)
    console.log(
      `| ${file} | ${fig.step} | ${fig.success.map((s) => s.toFixed(3)).join(' / ')} | ${fig.descendantsMet ? 'yes' : 'no'} | ${fig.maleKept.toFixed(3)} | ${fig.allKept.toFixed(3)} | ${fig.eligible ? 'yes' : 'no'} |`,
    );
  const chosen = rows.slice(0, keep);
  if (write) writeFileSync(write, chosen.map((r) => `${r.fig.checkpoint}\n`).join(''));
  for (const r of chosen)
    console.log(`chosen: ${r.fig.checkpoint}${r.fig.eligible ? '' : ' (not eligible)'}`);
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2));
