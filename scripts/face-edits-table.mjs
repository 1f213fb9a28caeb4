// Per-edit table of `ccig eval` reports on faces (issue 25): for every attribute and direction,
// the causal edit's success, its realism (Frechet over the reconstructions'; pass at the report's
// ratio), and identity to the face (SSIM and pixel L1, whole image and outside the edit), beside
// the non-causal edit's identity. Markdown on stdout.
//   node scripts/face-edits-table.mjs LABEL=report.json [LABEL=report.json ...]
import { readFileSync } from 'node:fs';

const f = (v, d = 3) => (v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(d));
for (const arg of process.argv.slice(2)) {
  const [label, path] = arg.includes('=') ? arg.split('=') : [arg, arg];
  const r = JSON.parse(readFileSync(path, 'utf8'));
  const e = r.binaryEdits;
  if (!e) {
    console.log(`${label}: no binary-edits section`);
    continue;
  }
  console.log(
    `\n**${label}** (${e.n} test faces; ${e.residual ? 'residual' : 'plain'} edits, refine ${r.refine ?? 0}, class latents ${r.classLatents ? 'yes' : 'no'}; pass: success >= ${e.successTarget}, Frechet <= ${e.realismRatio}x)\n`,
  );
  console.log(
    '| edit | faces | success | Frechet edit / recon. (ratio) | colour layout ratio | SSIM to face | SSIM outside edit | L1 to face | L1 outside | non-causal SSIM / outside | works |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const x of e.rows) {
    const c = x.identity.causal;
    const nc = x.identity.nonCausal;
    console.log(
      `| do(${x.attribute}=${x.target}) | ${x.n} | ${f(x.success.causal?.mean)} | ${f(x.realism.causal, 1)} / ${f(x.realism.reconstruction, 1)} (${f(x.realism.ratio, 2)}) | ${f(x.realism.layout?.ratio, 2)} | ${f(c.ssim?.mean)} | ${f(c.outside.ssim?.mean)} (${f(c.outside.share, 2)} of px) | ${f(c.pixelL1?.mean)} | ${f(c.outside.pixelL1?.mean)} | ${f(nc.ssim?.mean)} / ${f(nc.outside.ssim?.mean)} | ${x.works ? 'yes' : 'no'} |`,
    );
  }
  const mean = (xs) => xs.reduce((s, v) => s + v, 0) / xs.length;
  const rows = e.rows.filter((x) => x.identity.causal.ssim);
  console.log(
    `\nmean over the ${rows.length} edits: SSIM to the face ${f(mean(rows.map((x) => x.identity.causal.ssim.mean)))}, outside the edit ${f(mean(rows.filter((x) => x.identity.causal.outside.ssim).map((x) => x.identity.causal.outside.ssim.mean)))}; pixel L1 ${f(mean(rows.map((x) => x.identity.causal.pixelL1.mean)))}; editable: ${Object.entries(
      e.editable,
    )
      .map(([a, ok]) => `${a} ${ok ? 'yes' : 'no'}`)
      .join(', ')}; reconstruction L1 ${f(r.quality?.reconstructionL1, 4)}`,
  );
}
