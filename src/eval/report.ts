/**
 * A self-contained HTML report of an evaluation: graphs (learned next to reference), the
 * adjacency heatmap, intervention / counterfactual / traversal grids (embedded PNGs), training
 * curves from the run's log, and the metric tables. No external assets: it opens offline.
 */
import type { CycleDistances } from './axioms.ts';
import type { BinaryEditsResult } from './binary-edits.ts';
import type { Interval, PairedInterval } from './bootstrap.ts';
import type { EvalResult, GraphResult } from './evaluate.ts';

export interface ReportImage {
  title: string;
  caption: string;
  png: Buffer;
}

export interface ReportData {
  title: string;
  checkpoint: string;
  command: string;
  step: number;
  preset: string;
  structure: string;
  result: EvalResult;
  images: ReportImage[];
  /** rows of the run's log.jsonl */
  log: { step: number; losses: Record<string, number>; corr?: Record<string, number>; h?: number }[];
  /** PNG grids written next to the report (named in the binary-edits section) */
  grids?: string[];
}

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const fmt = (v: number | null | undefined, d = 3) =>
  v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(d);

/** `mean [lo, hi]` of a bootstrap interval. */
export function fmtInterval(v: Interval | null | undefined, d = 3): string {
  return v ? `${fmt(v.mean, d)} <small>[${fmt(v.lo, d)}, ${fmt(v.hi, d)}]</small>` : '–';
}

/** A paired difference, bold when significant. */
export function fmtDifference(v: PairedInterval | null | undefined, d = 3): string {
  if (!v) return '–';
  const sign = (x: number) => (x > 0 ? '+' : '') + fmt(x, d);
  const text = `${sign(v.mean)} <small>[${sign(v.lo)}, ${sign(v.hi)}]</small>`;
  return v.significant ? `<b>${text}</b>` : text;
}

/**
 * A graph drawn on a circle, edges labelled with weights; an edge with `directed: false` (its
 * direction not determined by the data: causal/essential-graph.ts) is drawn dashed, without an arrow.
 */
export function graphSvg(
  nodes: string[],
  edges: { from: string; to: string; weight?: number; directed?: boolean }[],
  highlight: 'good' | 'plain' = 'plain',
): string {
  const W = 380;
  const H = 300;
  const r = 105;
  const pos = nodes.map((_, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / nodes.length;
    return [W / 2 + r * Math.cos(a) * 1.25, H / 2 + r * Math.sin(a)];
  });
  const color = highlight === 'good' ? '#1f6feb' : '#555';
  const lines = edges.map((e) => {
    const i = nodes.indexOf(e.from);
    const j = nodes.indexOf(e.to);
    if (i < 0 || j < 0) return '';
    const [x1, y1] = pos[i];
    const [x2, y2] = pos[j];
    const len = Math.hypot(x2 - x1, y2 - y1);
    const ux = (x2 - x1) / len;
    const uy = (y2 - y1) / len;
    const sx = x1 + ux * 22;
    const sy = y1 + uy * 22;
    const ex = x2 - ux * 26;
    const ey = y2 - uy * 26;
    const label =
      e.weight !== undefined
        ? `<text x="${(sx + ex) / 2 + 4}" y="${(sy + ey) / 2 - 4}" font-size="11" fill="${color}">${e.weight.toFixed(2)}</text>`
        : '';
    return `<line x1="${sx}" y1="${sy}" x2="${ex}" y2="${ey}" stroke="${color}" stroke-width="${1.5 + Math.min(3, Math.abs(e.weight ?? 1))}"${e.directed === false ? ' stroke-dasharray="5 3"' : ` marker-end="url(#arrow-${highlight})"`}/>${label}`;
  });
  const circles = nodes.map((n, i) => {
    const [x, y] = pos[i];
    return `<circle cx="${x}" cy="${y}" r="20" fill="#fff" stroke="#333"/><text x="${x}" y="${y + 34}" font-size="12" text-anchor="middle">${esc(n)}</text><text x="${x}" y="${y + 4}" font-size="11" text-anchor="middle">${i + 1}</text>`;
  });
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg"><defs><marker id="arrow-${highlight}" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="${color}"/></marker></defs>${lines.join('')}${circles.join('')}</svg>`;
}

/** A matrix as a colored table (blue positive, red negative). */
export function heatmap(
  rows: string[],
  cols: string[],
  M: number[][],
  { signed = true, digits = 2 } = {},
): string {
  const max = Math.max(1e-9, ...M.flat().map((v) => Math.abs(Number.isFinite(v) ? v : 0)));
  const cell = (v: number) => {
    const a = Number.isFinite(v) ? Math.min(1, Math.abs(v) / max) : 0;
    const bg = !signed || v >= 0 ? `rgba(31,111,235,${a * 0.85})` : `rgba(220,60,50,${a * 0.85})`;
    return `<td style="background:${bg};color:${a > 0.55 ? '#fff' : '#111'}">${fmt(v, digits)}</td>`;
  };
  return `<table class="heat"><tr><th></th>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>${rows.map((r, i) => `<tr><th>${esc(r)}</th>${M[i].map(cell).join('')}</tr>`).join('')}</table>`;
}

/** Line chart of several series over steps. */
export function lineChart(title: string, steps: number[], series: Record<string, number[]>): string {
  const W = 440;
  const H = 220;
  const pad = 36;
  const all = Object.values(series).flat().filter(Number.isFinite);
  if (!steps.length || !all.length) return '';
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (hi - lo < 1e-9) hi = lo + 1;
  const x0 = steps[0];
  const x1 = Math.max(steps[steps.length - 1], x0 + 1);
  const px = (s: number) => pad + ((s - x0) / (x1 - x0)) * (W - 2 * pad);
  const py = (v: number) => H - pad - ((v - lo) / (hi - lo)) * (H - 2 * pad);
  const colors = ['#1f6feb', '#d1242f', '#1a7f37', '#9a6700', '#8250df', '#0a7ea4', '#bf3989'];
  const lines = Object.entries(series).map(([name, ys], k) => {
    const pts = ys
      .map((y, i) => (Number.isFinite(y) ? `${px(steps[i]).toFixed(1)},${py(y).toFixed(1)}` : ''))
      .filter(Boolean)
      .join(' ');
    return `<polyline fill="none" stroke="${colors[k % colors.length]}" stroke-width="1.5" points="${pts}"/><text x="${W - pad + 4}" y="${pad + 14 * k}" font-size="11" fill="${colors[k % colors.length]}">${esc(name)}</text>`;
  });
  lo = Math.round(lo * 1000) / 1000;
  hi = Math.round(hi * 1000) / 1000;
  return `<figure><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${W + 90} ${H}" width="${W + 90}" height="${H}" xmlns="http://www.w3.org/2000/svg"><rect x="${pad}" y="${pad}" width="${W - 2 * pad}" height="${H - 2 * pad}" fill="none" stroke="#ccc"/><text x="4" y="${pad + 4}" font-size="10">${hi}</text><text x="4" y="${H - pad}" font-size="10">${lo}</text><text x="${pad}" y="${H - 8}" font-size="10">step ${x0}</text><text x="${W - pad - 50}" y="${H - 8}" font-size="10">step ${x1}</text>${lines.join('')}</svg></figure>`;
}

/**
 * The graph's headline figures: SHD, TPR and FDR for a learned graph; for a given one (where they
 * are trivial, GraphResult.caveat) the word "given" instead, so no "SHD 0" reads as learned.
 */
export function graphKpis(g: GraphResult): string {
  const c = g.comparison;
  if (g.caveat) return '<span class="kpi"><b>given</b>graph (SHD, TPR, FDR trivial: see below)</span>';
  return `<span class="kpi"><b>${c.shd}</b>SHD vs ${esc(g.reference)}</span>
<span class="kpi"><b>${fmt(c.tpr, 2)}</b>TPR</span>
<span class="kpi"><b>${fmt(c.fdr, 2)}</b>FDR</span>`;
}

export function renderReport(d: ReportData): string {
  const r = d.result;
  const names = r.attributes;
  const g = r.graph;
  const c = g.comparison;
  const img = (i: ReportImage) =>
    `<figure><figcaption><b>${esc(i.title)}</b> — ${esc(i.caption)}</figcaption><img src="data:image/png;base64,${i.png.toString('base64')}" alt="${esc(i.title)}"></figure>`;
  const steps = d.log.map((l) => l.step);
  const lossKeys = d.log.length ? Object.keys(d.log[0].losses).filter((k) => k !== 'h') : [];
  const curves = [
    lineChart('losses', steps, Object.fromEntries(lossKeys.map((k) => [k, d.log.map((l) => l.losses[k])]))),
    lineChart(
      'held-out corr(mu_c, label)',
      steps,
      Object.fromEntries(names.map((n) => [n, d.log.map((l) => l.corr?.[n] ?? Number.NaN)])),
    ),
    d.structure === 'learned' ? lineChart('h(A)', steps, { h: d.log.map((l) => l.h ?? l.losses.h) }) : '',
  ].join('');
  const world = r.interventions.world;
  const labels = r.interventions.labels;
  const scoreRows = <K extends string>(
    rows: {
      attribute: string;
      descendants: string[];
      causal: Record<K, Interval | null>;
      nonCausal: Record<K, Interval | null>;
      difference: Record<K, PairedInterval | null>;
    }[],
    keys: readonly { key: K; label: string }[],
  ) =>
    rows
      .flatMap((w) =>
        keys
          .filter(({ key }) => w.causal[key] || w.nonCausal[key])
          .map(
            ({ key, label }, k) =>
              `<tr>${k === 0 ? `<td rowspan="${keys.filter(({ key: kk }) => w.causal[kk] || w.nonCausal[kk]).length}">${esc(w.attribute)}<br><small>descendants: ${esc(w.descendants.join(', ') || '–')}</small></td>` : ''}<td>${label}</td><td>${fmtInterval(w.causal[key])}</td><td>${fmtInterval(w.nonCausal[key])}</td><td>${fmtDifference(w.difference[key])}</td></tr>`,
          ),
      )
      .join('');
  const intervalNote = `<p class="note">Each figure: mean over ${r.n} test images, each with its own target, and its bootstrap 95% interval (1,000 resamples of the images). Δ = causal − non-causal on the same images; <b>bold</b> when its paired interval excludes 0 (a significant difference), otherwise the two edits are not distinguishable on these images.</p>`;
  const worldTable = world
    ? `<table><tr><th>do(factor)</th><th>score</th><th>causal edit (CCIG)</th><th>non-causal edit</th><th>Δ causal − non-causal</th></tr>
${scoreRows(world, [
  { key: 'effectiveness', label: 'effectiveness error ↓' },
  { key: 'descendants', label: 'descendant error ↓' },
  { key: 'nonDescendants', label: 'non-descendant drift ↓' },
  { key: 'pixelL1', label: 'pixel L1 ↓' },
  { key: 'ssim', label: 'SSIM ↑' },
] as const)}</table><p class="note">Errors are oracle readings of the edited image against the world's exact counterfactual, divided by each factor's range. L1 and SSIM compare with the exactly re-rendered counterfactual image.</p>${intervalNote}`
    : '';
  const labelTable = labels
    ? `<table><tr><th>do(attribute)</th><th>score</th><th>causal edit</th><th>non-causal edit</th><th>Δ causal − non-causal</th></tr>
${scoreRows(labels, [
  { key: 'targetHit', label: 'target reached (binary) ↑' },
  { key: 'targetError', label: 'target error / range ↓' },
  { key: 'descendantShift', label: 'descendant shift' },
  { key: 'nonDescendantShift', label: 'non-descendant shift ↓' },
] as const)}</table><p class="note">Targets: binary attributes flipped, continuous ones drawn per image inside the label range. Shifts: oracle reading of the edit against the oracle reading of the reconstruction, divided by the range.</p>${intervalNote}`
    : '';
  const ax = r.axioms;
  const cycleTable = (rows: { label: string; d: CycleDistances }[]) =>
    `<table><tr><th></th>${ax.composition.cycles.map((c) => `<th>pixel L1, ${c} cycle${c > 1 ? 's' : ''} ↓</th>`).join('')}${ax.composition.cycles.map((c) => `<th>oracle-feature L1, ${c} cycle${c > 1 ? 's' : ''} ↓</th>`).join('')}</tr>${rows
      .map(
        ({ label, d }) =>
          `<tr><td>${esc(label)}</td>${d.pixel.map((v) => `<td>${fmtInterval(v, 2)}</td>`).join('')}${d.features.map((v) => `<td>${fmtInterval(v, 4)}</td>`).join('')}</tr>`,
      )
      .join('')}</table>`;
  const axiomTables = `<h3>Composition</h3>
${cycleTable([{ label: 'null intervention', d: ax.composition }])}
<p class="note">d(x, f<sup>m</sup>(x)): the null intervention (abduct, no do(), decode) applied m times. Pixel L1 on [0, 255]; feature L1 on the oracle's 128 features. 0 for a perfect model.</p>
<h3>Reversibility</h3>
${cycleTable([{ label: 'all', d: ax.reversibility }, ...ax.reversibility.perAttribute.map((p) => ({ label: `do(${p.attribute}) and back`, d: p }))])}
<p class="note">d(x, x̃), x̃ = f(f(x, do(a = target)), do(a = factual value)), repeated m times; the images are split evenly between the attributes. 0 for a perfect model.</p>
<h3>Effectiveness</h3>
<table><tr><th>do(attribute)</th><th>factor read</th><th>role</th><th>causal edit</th><th>non-causal edit</th><th>Δ causal − non-causal</th></tr>${ax.effectiveness.rows
    .flatMap((row) =>
      row.factors.map(
        (f, k) =>
          `<tr>${k === 0 ? `<td rowspan="${row.factors.length}">${esc(row.attribute)}</td>` : ''}<td>${esc(f.name)} (${f.metric === 'mae' ? 'MAE ↓' : 'F1 ↑'})</td><td>${f.role}</td><td>${fmtInterval(f.causal)}</td><td>${fmtInterval(f.nonCausal)}</td><td>${fmtDifference(f.difference)}</td></tr>`,
      ),
    )
    .join('')}</table>
<p class="note">The oracle's reading of each factor of the counterfactual against what it should show: the target for the intervened factor, ${esc(ax.effectiveness.truth)} for the others. MAE in label units (continuous), F1 at 0.5 (binary).</p>
<h3>Minimality (counterfactual latent divergence)</h3>
<table><tr><th>do(attribute)</th><th>CLD, causal ↓</th><th>CLD, non-causal ↓</th><th>Δ</th><th>P1, causal</th><th>P2, causal</th></tr>${ax.minimality
    .map(
      (row) =>
        `<tr><td>${esc(row.attribute)}</td><td>${fmtInterval(row.causal.cld)}</td><td>${fmtInterval(row.nonCausal.cld)}</td><td>${fmtDifference(row.difference)}</td><td>${fmtInterval(row.causal.p1)}</td><td>${fmtInterval(row.causal.p2)}</td></tr>`,
    )
    .join('')}</table>
<p class="note">In the oracle's feature space (L1): P1 = share of test images with the counterfactual's value (same bin) that are at most as far from x as x<sub>cf</sub> is; P2 = share of those with the factual value that are at least as far; CLD = log(0.8 e<sup>P1</sup> + 0.2 e<sup>P2</sup>) (Melistas et al., NeurIPS 2024).</p>
<h3>CDM (CDG-VAE)</h3>
<div class="row"><figure><figcaption>CDM, |mean difference| (rows: do(s) at s's lowest vs highest latent; columns: factor c read)</figcaption>${heatmap(
    names.map((nm) => `do(${nm})`),
    names,
    ax.cdm.lower,
    { signed: false, digits: 3 },
  )}</figure><figure><figcaption>CDM, mean |difference|</figcaption>${heatmap(
    names.map((nm) => `do(${nm})`),
    names,
    ax.cdm.upper.map((row) => row.map((v) => v?.mean ?? Number.NaN)),
    { signed: false, digits: 3 },
  )}</figure></div>
<p class="note">CDM(c, s): the change of factor c's oracle score (scaled to [0, 1]) between do(s = min) and do(s = max) of the encoder's latent for s over the test images, through the learned SCM with each image's abducted noise (an-seunghwan/CDG-VAE metric.py). Diagonal: large is good; off the true graph's edges: 0 is ideal. do() values: ${names
    .map((nm, i) => `${esc(nm)} ${fmt(ax.cdm.values[i][0], 2)}…${fmt(ax.cdm.values[i][1], 2)}`)
    .join(', ')}.</p>`;
  const diag = (M: number[][]) => names.map((_, i) => M[i][i]);
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(d.title)}</title>
<style>.fail{color:#d1242f}.pass{color:#1a7f37}
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1180px;color:#1f2328;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d0d7de;padding:3px 7px;text-align:right;font-variant-numeric:tabular-nums}th{background:#f6f8fa}
table.heat td{min-width:52px;text-align:center}.row{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
figure{margin:6px 0}figcaption{font-size:13px;color:#57606a;margin-bottom:4px;max-width:640px}img{image-rendering:pixelated;border:1px solid #d0d7de}
.note{color:#57606a;font-size:12.5px;max-width:900px}code{background:#f6f8fa;padding:1px 4px;border-radius:4px}.kpi{display:inline-block;margin-right:22px}
.kpi b{font-size:20px;display:block}
</style></head><body>
<h1>${esc(d.title)}</h1>
<p class="note">checkpoint <code>${esc(d.checkpoint)}</code> · preset ${esc(d.preset)} · structure <b>${esc(d.structure)}</b> · step ${d.step} · ${r.n} test images · reproduce: <code>${esc(d.command)}</code></p>
<div>
${graphKpis(g)}
<span class="kpi"><b>${fmt(Math.min(...diag(r.alignment.spearman.latents).map(Math.abs)), 3)}</b>min |Spearman| latent↔own factor</span>
<span class="kpi"><b>${fmt(r.quality.reconstructionL1, 3)}</b>reconstruction L1</span>
${r.interventions.summary['causal.descendants'] != null ? `<span class="kpi"><b>${fmt(r.interventions.summary['causal.descendants'])} vs ${fmt(r.interventions.summary['nonCausal.descendants'])}</b>descendant error, causal vs non-causal</span>` : ''}
</div>
<h2>Causal graph</h2>
<div class="row"><figure><figcaption>${esc(g.reference)}</figcaption>${graphSvg(
    names,
    g.referenceEdges.map(([from, to]) => ({ from, to })),
  )}</figure>
<figure><figcaption>learned A, edges with a standardized effect &gt; 0.3 (h(A) = ${g.h.toExponential(2)})${r.edgeStability?.edges.some((e) => e.directed === false) ? '; dashed, no arrow: a direction the held-out data and their regimes do not determine (trained as the search chose)' : ''}</figcaption>${graphSvg(
    names,
    g.learnedEdges.map((e) => ({
      ...e,
      directed: r.edgeStability?.edges.find((s) => s.from === e.from && s.to === e.to)?.directed,
    })),
    'good',
  )}</figure>
<figure><figcaption>adjacency A (row = cause, column = effect)</figcaption>${heatmap(names, names, g.adjacency)}</figure></div>
<p class="note">${g.caveat ? `<b>SHD, TPR and FDR are trivial here</b>: ${esc(g.caveat)}. ` : ''}Against the ${esc(g.reference)}: true positives ${c.truePositive}, reversed ${c.reversed}, extra ${c.extra}, missing ${c.missing}; SHD ${c.shd} (extra + missing + reversed).</p>
${r.edgeStability?.skipped ? `<p class="note">Edge stability not measured: ${esc(r.edgeStability.skipped)}.</p>` : ''}
${
  r.edgeStability && !r.edgeStability.skipped
    ? `<table><tr><th>edge</th><th>weight A</th><th>stability</th></tr>${[
        ...r.edgeStability.edges,
        ...r.edgeStability.others,
      ]
        .map(
          (e) =>
            `<tr><td>${esc(e.from)} ${e.directed === false ? '— (undetermined)' : '→'} ${esc(e.to)}${Math.abs(e.weight) > r.edgeStability!.threshold ? '' : ' (not in A)'}</td><td>${fmt(e.weight, 2)}</td><td>${fmt(e.stability * 100, 0)}%</td></tr>`,
        )
        .join(
          '',
        )}</table><p class="note">Stability: the share of ${r.edgeStability.resamples} resamples of ${r.edgeStability.n} held-out images' causal latents (${r.edgeStability.interventionalRows} of them interventional) in which ${esc(r.edgeStability.method ?? 'a label-level structure search on bootstrap resamples')} finds the edge in this direction.</p>`
    : ''
}
<h2>Interventions</h2>
${worldTable}${labelTable}
<div class="row">${d.images.map(img).join('')}</div>
<h2>Counterfactual axioms</h2>
${axiomTables}
${r.binaryEdits ? binaryEditsSection(r.binaryEdits, r.oracle, d.grids ?? []) : ''}
<h2>Alignment of latents to factors</h2>
<p class="note">Rows: encoder latent mu_c for each factor; columns: the true factor values. Read each matrix against the same statistic computed among the labels themselves (right), which shows how much two factors are related by the data alone.</p>
${(['spearman', 'mic', 'r2'] as const)
  .map(
    (k) =>
      `<div class="row"><figure><figcaption>${k} (latents × factors)</figcaption>${heatmap(names, names, r.alignment[k].latents, { signed: k === 'spearman' })}</figure><figure><figcaption>${k} (labels × labels)</figcaption>${heatmap(names, names, r.alignment[k].labels, { signed: k === 'spearman' })}</figure></div>`,
  )
  .join('')}
<h2>Image quality</h2>
<table><tr><th>reconstruction L1 (|G(E(x)) − x|, [0,1] units)</th><td>${fmt(r.quality.reconstructionL1, 4)}</td></tr>
<tr><th>oracle-feature Fréchet distance (not Inception FID)</th><td>${fmt(r.quality.oracleFrechet, 3)}</td></tr>
<tr><th>oracle-feature KID</th><td>${fmt(r.quality.oracleKid, 4)}</td></tr></table>
<p class="note">The oracle is a small CNN trained by the project on ${esc(r.oracle.source)}; its own held-out error is the floor of every oracle reading: ${Object.entries(
    r.oracle.heldOutError,
  )
    .map(([k, v]) => `${esc(k)} ${fmt(v)}`)
    .join(', ')}.</p>
<h2>Training</h2>
<div class="row">${curves || '<p class="note">no training log found next to the checkpoint</p>'}</div>
</body></html>`;
}

const passMark = (pass: boolean | null) =>
  pass === null ? '' : pass ? '<span class="pass">pass</span>' : '<b class="fail">fail</b>';

/**
 * The report's section on counterfactual edits of real faces: per attribute and direction the
 * success, each other attribute's shift and identity, causal beside non-causal; then the
 * oracle's own held-out scores and what reconstructions keep.
 */
function binaryEditsSection(e: BinaryEditsResult, oracle: EvalResult['oracle'], grids: string[]): string {
  const attrs = Object.keys(e.reconstruction.kept);
  const effectRows = (r: BinaryEditsResult['rows'][number], names: string[], role: string) =>
    names.map(
      (o) =>
        `<tr><td></td><td>${role}: ${esc(o)} <small>(model ${fmt(r.intended[o], 2)})</small></td><td>${fmtInterval(r.effects[o].causal)}</td><td>${fmtInterval(r.effects[o].nonCausal)}</td><td>${fmtDifference(r.effects[o].difference)}</td><td>${fmt(r.effects[o].keptCausal)} / ${fmt(r.effects[o].keptNonCausal)}</td><td>${fmt(r.effects[o].unchangedCausal)} / ${fmt(r.effects[o].unchangedNonCausal)}</td></tr>`,
    );
  const rows = e.rows
    .map((r) =>
      [
        `<tr><td><b>do(${esc(r.attribute)} = ${r.target})</b><br><small>${r.n} faces labelled ${1 - r.target}</small></td><td>success ↑</td><td>${fmtInterval(r.success.causal)}</td><td>${fmtInterval(r.success.nonCausal)}</td><td>${fmtDifference(r.success.difference)}</td><td></td><td></td></tr>`,
        ...effectRows(r, r.descendants, 'descendant'),
        ...effectRows(r, r.nonDescendants, 'non-descendant'),
        `<tr><td></td><td>identity: L1 ↓ / SSIM ↑ to the face; non-descendants kept ↑</td><td>${fmtInterval(r.identity.causal.pixelL1)} / ${fmtInterval(r.identity.causal.ssim)}; ${fmt(r.identity.causal.nonDescendantAgreement)}</td><td>${fmtInterval(r.identity.nonCausal.pixelL1)} / ${fmtInterval(r.identity.nonCausal.ssim)}; ${fmt(r.identity.nonCausal.nonDescendantAgreement)}</td><td></td><td></td><td></td></tr>`,
        `<tr><td></td><td>identity outside the edit: L1 ↓ / SSIM ↑ <small>(share of pixels outside)</small></td><td>${fmtInterval(r.identity.causal.outside.pixelL1)} / ${fmtInterval(r.identity.causal.outside.ssim)} <small>(${fmt(r.identity.causal.outside.share, 2)})</small></td><td>${fmtInterval(r.identity.nonCausal.outside.pixelL1)} / ${fmtInterval(r.identity.nonCausal.outside.ssim)} <small>(${fmt(r.identity.nonCausal.outside.share, 2)})</small></td><td></td><td></td><td></td></tr>`,
        `<tr><td></td><td>realism: Fréchet to real faces ↓ (reconstructions ${fmt(r.realism.reconstruction, 1)})</td><td>${fmt(r.realism.causal, 1)} <small>(${fmt(r.realism.ratio, 2)}x; colour layout ${fmt(r.realism.layout?.ratio, 2)}x)</small> ${passMark(r.realism.pass)}</td><td>${fmt(r.realism.nonCausal, 1)} <small>(${fmt(r.realism.nonCausalRatio, 2)}x)</small></td><td></td><td></td><td></td></tr>`,
      ].join(''),
    )
    .join('');
  const realismRows = attrs
    .filter((a) => e.rows.some((r) => r.attribute === a))
    .map((a) => {
      const cells = ([1, 0] as const).map((t) => {
        const r = e.rows.find((x) => x.attribute === a && x.target === t);
        return r
          ? `<td>${fmt(r.success.causal?.mean)}</td><td>${fmt(r.realism.causal, 1)} / ${fmt(r.realism.reconstruction, 1)} = ${fmt(r.realism.ratio, 2)}x; colour layout ${fmt(r.realism.layout?.ratio, 2)}x ${passMark(r.realism.pass)}</td>`
          : '<td>–</td><td>–</td>';
      });
      return `<tr><th>${esc(a)}</th>${cells.join('')}<td>${e.editable[a] ? '<b>yes</b>' : 'no'}</td></tr>`;
    })
    .join('');
  const oracleRows = attrs
    .map(
      (a) =>
        `<tr><th>${esc(a)}</th><td>${fmt(oracle.positiveRate?.[a])}</td><td>${fmt(oracle.heldOutAccuracy?.[a])}</td><td>${fmt(oracle.heldOutBalancedAccuracy?.[a])}</td><td>${fmt(e.reconstruction.kept[a])}</td></tr>`,
    )
    .join('');
  return `<h2>Counterfactual edits of held-out faces</h2>
<p class="note">${e.n} held-out faces; each gets do(a = 1 − its label) for every attribute a: do(a = 1) on the faces labelled 0, do(a = 0) on those labelled 1. Success: the oracle reads the target. Shifts: the oracle's probability on the edit minus on the reconstruction G(E(x)), for each other attribute; descendants follow the learned graph (|A| &gt; ${e.edgeThreshold}); "model" is the shift the model's own latents make under the causal edit, the direction of the learned edges. Kept: share of faces whose oracle reading (at 0.5) stays the face's own (causal / non-causal); unchanged: the same against the reconstruction, i.e. what the edit itself changed. 95% bootstrap intervals; the difference is causal − non-causal on the same faces, bold when its interval excludes 0.</p>
<h3>Does every attribute respond, with a real-looking face?</h3>
<p class="note">Per attribute and direction: success of the causal edit (target ${e.successTarget}) and its realism: the oracle-feature Fréchet distance of do(a = t)'s edits to the real held-out faces labelled t, over that of the reconstructions G(E(x)) of faces labelled t (k of each, k the smaller count, so the small-sample bias is alike), and the same ratio on the colour layout (the mean colour of 8 × 8 blocks, which a saturated blob fails even where the oracle's features take it for a face); pass when both are ≤ ${e.realismRatio}x. Editable: both directions succeed and pass. Edits made ${e.residual ? 'as residuals, x + G(z_do) − G(z)' : 'as G(z_do)'}.</p>
<table><tr><th>attribute</th><th>do(= 1) success</th><th>do(= 1) Fréchet edit / reconstruction</th><th>do(= 0) success</th><th>do(= 0) Fréchet edit / reconstruction</th><th>editable</th></tr>${realismRows}</table>
<table><tr><th>edit</th><th>figure</th><th>causal edit</th><th>non-causal edit</th><th>difference</th><th>kept (= face), causal / non-causal</th><th>unchanged (= reconstruction), causal / non-causal</th></tr>${rows}</table>
<h3>Oracle and reconstruction</h3>
<table><tr><th>attribute</th><th>train share of 1s</th><th>oracle accuracy</th><th>oracle balanced acc.</th><th>kept by reconstruction ↑</th></tr>${oracleRows}</table>
<p class="note">Reconstructions keep every attribute in ${fmt(e.reconstruction.allKept)} of faces. The oracle is trained on the data's train split with a class-balanced loss; its balanced accuracy is the floor under every reading above. Composition (the null intervention returns the face) is in the axioms section. Identity outside the edit: pixels where the generator's change |G(z_do) − G(z)| (channel mean, [0, 1] units) is at most 0.05. Grids of counterfactual rows (face | reconstruction | do(a = 1) | do(a = 0) | non-causal edit to the other value) are next to this report, not in it: ${grids.map((g) => `<code>${esc(g)}</code>`).join(', ') || 'none'}.</p>`;
}
