// Markdown tables from `ccig eval` report.json files, for docs/results.
//   node --import tsx scripts/results-table.ts LABEL=path/report.json [...]
import { readFileSync } from 'node:fs';

const rows = process.argv.slice(2).map((arg) => {
  const eq = arg.indexOf('=');
  return { label: arg.slice(0, eq), r: JSON.parse(readFileSync(arg.slice(eq + 1), 'utf8')) };
});
const f = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? '–' : v.toFixed(d));

console.log(
  '| run | step | SHD | TPR | FDR | h(A) | Spearman (latent_i, factor_i) | recon L1 | oracle FD | oracle KID |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const { label, r } of rows) {
  const sp = r.attributes
    .map((a: string, i: number) => `${a} ${f(r.alignment.spearman.latents[i][i])}`)
    .join(', ');
  const c = r.graph.comparison;
  console.log(
    `| ${label} | ${r.step} | ${c.shd} | ${f(c.tpr, 2)} | ${f(c.fdr, 2)} | ${r.graph.h.toExponential(1)} | ${sp} | ${f(r.quality.reconstructionL1)} | ${f(r.quality.oracleFrechet, 2)} | ${f(r.quality.oracleKid, 4)} |`,
  );
}
console.log(
  '\nInterventions (counterfactuals of 200 test images per factor; errors / factor range; causal | non-causal):\n',
);
console.log('| run | effectiveness ↓ | descendants ↓ | non-descendants ↓ | pixel L1 ↓ | SSIM ↑ |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const { label, r } of rows) {
  const s = r.interventions.summary;
  const pair = (k: string) => `${f(s[`causal.${k}`])} \\| ${f(s[`nonCausal.${k}`])}`;
  console.log(
    `| ${label} | ${pair('effectiveness')} | ${pair('descendants')} | ${pair('nonDescendants')} | ${pair('pixelL1')} | ${pair('ssim')} |`,
  );
}
console.log('\nLearned edges (|A| > 0.3):\n');
for (const { label, r } of rows)
  console.log(
    `- ${label}: ${r.graph.learnedEdges.map((e: { from: string; to: string; weight: number }) => `${e.from} → ${e.to} (${e.weight.toFixed(2)})`).join(', ') || 'none'}`,
  );
