// Issue 14's CelebA figures from `ccig eval` report.json files, as Markdown for docs/results/celeba.md:
// the oracle's held-out scores, the targets (met or not), the smile edits per attribute, the graph.
//   node --import tsx scripts/face-targets.ts LABEL=path/report.json [...]
import { readFileSync } from 'node:fs';
import type { BinaryEditRow, BinaryEditsResult } from '../src/eval/binary-edits.ts';
import type { Interval } from '../src/eval/bootstrap.ts';
import type { EdgeStability, EdgeStabilityRow } from '../src/eval/edge-stability.ts';

const f = (v: number | null | undefined, d = 3) =>
  v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(d);
const iv = (v: Interval | null | undefined, d = 3) =>
  v ? `${f(v.mean, d)} [${f(v.lo, d)}, ${f(v.hi, d)}]` : '–';
const met = (ok: boolean | null) => (ok === null ? 'n/a' : ok ? 'met' : 'not met');

/**
 * Every pair the super-graph, the model or the resamples name: the model's weight each way, how
 * many resamples find each direction, and either (the adjacency, whatever its direction). The
 * resamples list a direction only at >= 0.2 (edge-stability.ts, `others`), so a blank is < 0.2.
 */
function graphTable(r: {
  graph: { referenceEdges: [string, string][] };
  edgeStability: EdgeStability | null;
}): void {
  const s = r.edgeStability;
  if (!s) return;
  const rows = [...s.edges, ...s.others];
  const of = (a: string, b: string) => rows.find((x) => x.from === a && x.to === b);
  const inSuper = (a: string, b: string) => r.graph.referenceEdges.some(([x, y]) => x === a && y === b);
  const pairs: [string, string][] = [];
  const seen = new Set<string>();
  for (const [a, b] of [...r.graph.referenceEdges, ...rows.map((x) => [x.from, x.to] as [string, string])]) {
    const key = [a, b].sort().join('|');
    if (seen.has(key)) continue;
    seen.add(key);
    // the super-graph's direction first, else the model's (its edges are strongest first)
    pairs.push(
      inSuper(b, a) || (!inSuper(a, b) && (of(b, a)?.weight ?? 0) > (of(a, b)?.weight ?? 0))
        ? [b, a]
        : [a, b],
    );
  }
  const st = (x: EdgeStabilityRow | undefined) => (x ? f(x.stability, 2) : '< 0.2');
  const w = (x: EdgeStabilityRow | undefined) => (x && Math.abs(x.weight) >= 0.005 ? f(x.weight, 2) : '–');
  console.log(
    `\nEdge stability (${s.resamples} resamples of ${s.n} held-out faces' latents; ${s.method ?? 'exact search'}):\n`,
  );
  console.log(
    '| pair a – b | in the super-graph | model: weight a → b / b → a (an edge above 0.3) | resamples: a → b | b → a | either (adjacency) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [a, b] of pairs) {
    const [ab, ba] = [of(a, b), of(b, a)];
    // a resample's graph has at most one direction, so the adjacency is the sum; an unlisted
    // direction (< 0.2) leaves a range
    const known = (ab?.stability ?? 0) + (ba?.stability ?? 0);
    const either =
      ab && ba ? f(known, 2) : ab || ba ? `${f(known, 2)}-${f(Math.min(1, known + 0.2), 2)}` : '< 0.4';
    const sup = inSuper(a, b) ? `${a} → ${b}` : 'no';
    console.log(`| ${a} – ${b} | ${sup} | ${w(ab)} / ${w(ba)} | ${st(ab)} | ${st(ba)} | ${either} |`);
  }
  console.log('');
}

const reports = process.argv.slice(2).map((arg) => {
  const eq = arg.indexOf('=');
  if (eq <= 0) {
    console.error('usage: face-targets.ts LABEL=path/report.json [...]');
    process.exit(2);
  }
  return { label: arg.slice(0, eq), r: JSON.parse(readFileSync(arg.slice(eq + 1), 'utf8')) };
});

for (const { label, r } of reports) {
  const e: BinaryEditsResult | null = r.binaryEdits;
  if (!e) {
    console.log(`\n${label}: no binary-edits section (not labelled real data, or an older report)\n`);
    continue;
  }
  const row = (a: string, t: 0 | 1): BinaryEditRow | undefined =>
    e.rows.find((x) => x.attribute === a && x.target === t);
  console.log(`\n### ${label}: step ${r.step}, ${e.n} held-out faces (${r.data ?? 'data not recorded'})\n`);

  console.log('Oracle (trained on the train split, class-balanced loss), on held-out faces:\n');
  console.log('| attribute | share of 1s (train) | accuracy | balanced accuracy | kept by reconstruction |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const a of Object.keys(e.reconstruction.kept))
    console.log(
      `| ${a} | ${f(r.oracle.positiveRate?.[a])} | ${f(r.oracle.heldOutAccuracy?.[a])} | ${f(r.oracle.heldOutBalancedAccuracy?.[a])} | ${f(e.reconstruction.kept[a])} |`,
    );

  const up = row('Smiling', 1);
  const down = row('Smiling', 0);
  const maleKept = (side: 'keptCausal' | 'keptNonCausal' | 'unchangedCausal' | 'unchangedNonCausal') => {
    const parts = [up, down].filter((x): x is BinaryEditRow => !!x && x.n > 0);
    const n = parts.reduce((s, x) => s + x.n, 0);
    return n ? parts.reduce((s, x) => s + (x.effects.Male?.[side] ?? 0) * x.n, 0) / n : null;
  };
  console.log('\nTargets (issue 14, item 5), read by the oracle; mean [bootstrap 95% interval]:\n');
  console.log('| target | causal edit | non-causal edit | result |');
  console.log('| --- | --- | --- | --- |');
  for (const x of [up, down])
    if (x)
      console.log(
        `| do(Smiling=${x.target}) success >= 0.85 (${x.n} faces labelled ${1 - x.target}) | ${iv(x.success.causal)} | ${iv(x.success.nonCausal)} | ${met(x.success.causal ? x.success.causal.mean >= 0.85 : null)} |`,
      );
  const mk = maleKept('keptCausal');
  console.log(
    `| Male unchanged in >= 0.9 of smile edits (oracle on the edit = on the face) | ${f(mk)} | ${f(maleKept('keptNonCausal'))} | ${met(mk === null ? null : mk >= 0.9)} |`,
  );
  // the same against the reconstruction: what the edit changed, apart from what inversion lost
  const mu = maleKept('unchangedCausal');
  console.log(
    `| Male unchanged by the edit in >= 0.9 of smile edits (oracle on the edit = on G(E(x))) | ${f(mu)} | ${f(maleKept('unchangedNonCausal'))} | ${met(mu === null ? null : mu >= 0.9)} |`,
  );
  for (const j of ['Mouth_Slightly_Open', 'High_Cheekbones'])
    for (const x of [up, down]) {
      if (!x) continue;
      const eff = x.effects[j];
      const intended = x.intended[j] ?? 0;
      // the direction the learned edges push j under this edit (the model's own latents); only
      // for a descendant in the learned graph, else there is no edge to follow
      const d = x.descendants.includes(j) ? Math.sign(intended) : 0;
      const verdict =
        d === 0
          ? `not met: no learned edge to ${j} (weight at most ${e.edgeThreshold})`
          : `${met(!!eff?.difference && d * eff.difference.mean > 0 && eff.difference.significant)} (model shift ${f(intended)}; Δ ${f(eff?.difference?.mean)}${eff?.difference?.significant ? ', significant' : ''})`;
      console.log(
        `| do(Smiling=${x.target}) moves ${j} along its learned edge more than the non-causal edit | ${iv(eff?.causal)} | ${iv(eff?.nonCausal)} | ${verdict} |`,
      );
    }
  console.log(
    `| reconstructions keep every attribute in >= 0.85 of faces | ${f(e.reconstruction.allKept)} | | ${met(e.reconstruction.allKept >= 0.85)} |`,
  );

  console.log('\nEvery edit (causal | non-causal): success, identity to the face, non-descendants kept:\n');
  console.log('| edit | faces | success | pixel L1 | SSIM | non-descendants kept | descendants (learned) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const x of e.rows)
    console.log(
      `| do(${x.attribute}=${x.target}) | ${x.n} | ${f(x.success.causal?.mean)} \\| ${f(x.success.nonCausal?.mean)} | ${f(x.identity.causal.pixelL1?.mean)} \\| ${f(x.identity.nonCausal.pixelL1?.mean)} | ${f(x.identity.causal.ssim?.mean)} \\| ${f(x.identity.nonCausal.ssim?.mean)} | ${f(x.identity.causal.nonDescendantAgreement)} \\| ${f(x.identity.nonCausal.nonDescendantAgreement)} | ${x.descendants.join(', ') || '–'} |`,
    );

  console.log(`\nGraph: learned edges (|A| > ${e.edgeThreshold}) against the given super-graph:\n`);
  console.log(
    `- super-graph: ${r.graph.referenceEdges.map(([a, b]: [string, string]) => `${a} → ${b}`).join(', ')}`,
  );
  console.log(
    `- learned: ${r.graph.learnedEdges.map((x: { from: string; to: string; weight: number }) => `${x.from} → ${x.to} (${x.weight.toFixed(2)})`).join(', ') || 'none'}`,
  );
  const c = r.graph.comparison;
  console.log(`- SHD ${c.shd}, TPR ${f(c.tpr, 2)}, FDR ${f(c.fdr, 2)}, h(A) ${r.graph.h.toExponential(1)}`);
  graphTable(r);
  const comp = r.axioms?.composition;
  if (comp)
    console.log(
      `- composition (null intervention, pixel L1 in 0-255): ${comp.cycles.map((k: number, i: number) => `${k} cycle${k > 1 ? 's' : ''} ${iv(comp.pixel[i], 2)}`).join(', ')}`,
    );
}
