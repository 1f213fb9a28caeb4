// Markdown tables from `ccig eval` report.json files, for docs/results.
//   node --import tsx scripts/results-table.ts LABEL=path/report.json [...]
// Reports with bootstrap intervals (since the axioms evaluation) print them as `mean [lo, hi]`,
// and add the axiom tables and the CDM comparison with CDG-VAE's published Pendulum numbers.
import { readFileSync } from 'node:fs';

interface Iv {
  mean: number;
  lo: number;
  hi: number;
  n: number;
  significant?: boolean;
}

const rows = process.argv.slice(2).map((arg) => {
  const eq = arg.indexOf('=');
  return { label: arg.slice(0, eq), r: JSON.parse(readFileSync(arg.slice(eq + 1), 'utf8')) };
});
const f = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? '–' : v.toFixed(d));
const iv = (v: Iv | null | undefined, d = 3) => (v ? `${f(v.mean, d)} [${f(v.lo, d)}, ${f(v.hi, d)}]` : '–');
const signed = (x: number, d: number) => `${x > 0 ? '+' : ''}${x.toFixed(d)}`;
const diff = (v: Iv | null | undefined, d = 3) =>
  v
    ? `${v.significant ? '**' : ''}${signed(v.mean, d)} [${signed(v.lo, d)}, ${signed(v.hi, d)}]${v.significant ? '**' : ''}`
    : '–';

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
    `| ${label} | ${r.step} | ${r.graph.caveat ? `${c.shd} (given: trivial)` : c.shd} | ${f(c.tpr, 2)} | ${f(c.fdr, 2)} | ${r.graph.h.toExponential(1)} | ${sp} | ${f(r.quality.reconstructionL1)} | ${f(r.quality.oracleFrechet, 2)} | ${f(r.quality.oracleKid, 4)} |`,
  );
}

const withIntervals = rows.filter(({ r }) => r.interventions.summaryIntervals);
const old = rows.filter(({ r }) => !r.interventions.summaryIntervals);
if (old.length) {
  console.log(
    '\nInterventions, old protocol (200 test images per factor, one target per chunk of 25 images, no intervals; errors / factor range; causal | non-causal):\n',
  );
  console.log('| run | effectiveness ↓ | descendants ↓ | non-descendants ↓ | pixel L1 ↓ | SSIM ↑ |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const { label, r } of old) {
    const s = r.interventions.summary;
    const pair = (k: string) => `${f(s[`causal.${k}`])} \\| ${f(s[`nonCausal.${k}`])}`;
    console.log(
      `| ${label} | ${pair('effectiveness')} | ${pair('descendants')} | ${pair('nonDescendants')} | ${pair('pixelL1')} | ${pair('ssim')} |`,
    );
  }
}
const keys = ['effectiveness', 'descendants', 'nonDescendants', 'pixelL1', 'ssim'];
for (const { label, r } of withIntervals) {
  if (!r.interventions.world) continue;
  console.log(
    `\nInterventions, ${label} (${r.n} test images, one target per image; errors / factor range; mean [bootstrap 95% interval]; Δ = causal − non-causal on the same images, **bold** when its interval excludes 0):\n`,
  );
  console.log('| do(factor) | score | causal | non-causal | Δ |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const w of r.interventions.world)
    for (const k of keys)
      if (w.causal[k])
        console.log(
          `| ${w.attribute} | ${k} | ${iv(w.causal[k])} | ${iv(w.nonCausal[k])} | ${diff(w.difference[k])} |`,
        );
  const si = r.interventions.summaryIntervals;
  const sd = r.interventions.summaryDifferences;
  for (const k of keys)
    console.log(
      `| mean over factors | ${k} | ${iv(si[`causal.${k}`])} | ${iv(si[`nonCausal.${k}`])} | ${diff(sd[k])} |`,
    );
}

console.log('\nLearned edges (|A| > 0.3):\n');
for (const { label, r } of rows)
  console.log(
    `- ${label}: ${r.graph.learnedEdges.map((e: { from: string; to: string; weight: number }) => `${e.from} → ${e.to} (${e.weight.toFixed(2)})`).join(', ') || 'none'}`,
  );

// CDG-VAE's published Pendulum CDM (an-seunghwan/CDG-VAE, assets/CDM/CG.txt and IR.txt; the
// first of each (lower, upper) pair): CDM(c, s) reads factor c under do(s).
const CDG_VAE: { c: string; s: string; ideal: string; dear: number; causalVae: number; cdgVae: number }[] = [
  { c: 'angle', s: 'angle', ideal: 'large', dear: 0.782, causalVae: 0.002, cdgVae: 0.897 },
  { c: 'light', s: 'light', ideal: 'large', dear: 0.739, causalVae: 0.078, cdgVae: 0.877 },
  { c: 'light', s: 'position', ideal: '0', dear: 0.231, causalVae: 0.432, cdgVae: 0.0 },
  { c: 'angle', s: 'length', ideal: '0', dear: 0.065, causalVae: 0.239, cdgVae: 0.0 },
];
const THEIR_NAMES: Record<string, string> = {
  angle: 'pendulum_angle',
  light: 'light_angle',
  length: 'shadow_length',
  position: 'shadow_position',
};

for (const { label, r } of withIntervals) {
  const a = r.axioms;
  if (!a) continue;
  const names: string[] = r.attributes;
  console.log(
    `\nComposition and reversibility, ${label} (${r.n} test images; mean [95% interval]; 0 is perfect):\n`,
  );
  console.log(
    `| axiom | pixel L1 (0-255), ${a.composition.cycles.join(' | pixel L1, ')} cycles | oracle-feature L1, ${a.composition.cycles.join(' | oracle-feature L1, ')} cycles |`,
  );
  console.log(`| --- |${' --- |'.repeat(2 * a.composition.cycles.length)}`);
  const cyc = (name: string, d: { pixel: Iv[]; features: Iv[] }) =>
    console.log(
      `| ${name} | ${d.pixel.map((v) => iv(v, 2)).join(' | ')} | ${d.features.map((v) => iv(v, 4)).join(' | ')} |`,
    );
  cyc('composition (null intervention)', a.composition);
  cyc('reversibility (all)', a.reversibility);
  for (const p of a.reversibility.perAttribute) cyc(`reversibility, do(${p.attribute}) and back`, p);

  console.log(
    `\nEffectiveness, ${label}: MAE of the oracle's reading against ${a.effectiveness.truth} (label units: degrees for the angles, scene units for the shadow; mean [95% interval]):\n`,
  );
  console.log(`| do(factor) | ${names.map((n) => `${n}: causal \\| non-causal`).join(' | ')} |`);
  console.log(`| --- |${' --- |'.repeat(names.length)}`);
  for (const row of a.effectiveness.rows)
    console.log(
      `| ${row.attribute} | ${row.factors
        .map(
          (x: { role: string; causal: Iv; nonCausal: Iv; difference: Iv }) =>
            `${x.role === 'intervened' ? '*' : x.role === 'descendant' ? '→ ' : ''}${iv(x.causal, 2)} \\| ${iv(x.nonCausal, 2)}${x.difference?.significant ? ' (Δ sig.)' : ''}`,
        )
        .join(' | ')} |`,
    );

  console.log(
    `\nMinimality, ${label}, in the oracle's features: P1 = share of test images with the counterfactual's value (same tenth of the range) at most as far from x as x_cf (low: a small change for that value); P2 = share of test images with x's own value at least as far from x as x_cf (high: x_cf may not have left x's value). CLD = log(0.8 e^P1 + 0.2 e^P2) is 0 only at P1 = P2 = 0; an edit that changes nothing scores P1 0, P2 1, CLD 0.295, so lower CLD does not mean closer to x:\n`,
  );
  console.log(
    '| do(factor) | P1 causal | P1 non-causal | P2 causal | P2 non-causal | CLD causal | CLD non-causal | Δ CLD |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const m of a.minimality)
    console.log(
      `| ${m.attribute} | ${iv(m.causal.p1)} | ${iv(m.nonCausal.p1)} | ${iv(m.causal.p2)} | ${iv(m.nonCausal.p2)} | ${iv(m.causal.cld)} | ${iv(m.nonCausal.cld)} | ${diff(m.difference)} |`,
    );

  // Not comparable with ours, only beside it: CDG-VAE's CDM classifier (main_classifier.py) reads each
  // factor from a masked band of its renderer's image (light: rows 0-19, angle: 20-50, shadows: 51
  // and below), so its light reader cannot see the shadow; our oracle is one CNN over the whole
  // image. scripts/cdm-bands.ts reads our CDM with band readers trained their way.
  console.log(
    `\nCDM, ${label}, with CDG-VAE's published Pendulum numbers beside it for orientation only (not comparable: their readers see masked bands of their own renderer's images, ours the whole image; scripts/cdm-bands.ts reads ours with band readers):\n`,
  );
  console.log(
    '| CDM(read c, do s) | ideal | DEAR | CausalVAE | CDG-VAE | ours (lower) | ours (upper, 95% interval) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const t of CDG_VAE) {
    const s = names.indexOf(THEIR_NAMES[t.s]);
    const c = names.indexOf(THEIR_NAMES[t.c]);
    console.log(
      `| CDM(${t.c}, ${t.s}) | ${t.ideal} | ${f(t.dear)} | ${f(t.causalVae)} | ${f(t.cdgVae)} | ${s < 0 || c < 0 ? '–' : a.cdm.lowerIntervals ? iv(a.cdm.lowerIntervals[s][c]) : f(a.cdm.lower[s][c])} | ${s < 0 || c < 0 ? '–' : iv(a.cdm.upper[s][c])} |`,
    );
  }
  console.log(`\nFull CDM (lower), ${label}: rows do(s), columns the factor read:\n`);
  console.log(`| do(s) \\ c | ${names.join(' | ')} |`);
  console.log(`| --- |${' --- |'.repeat(names.length)}`);
  names.forEach((s, i) => console.log(`| ${s} | ${a.cdm.lower[i].map((v: number) => f(v)).join(' | ')} |`));
}
