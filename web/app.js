// The causal image editor: sliders perform do() through the server's JSON API; the graph shows
// which attributes an edit moves. State: the current context (exogenous noise + free dims,
// from a sample or abducted from an uploaded image) and the active interventions.

const $ = (id) => document.getElementById(id);
const state = { info: null, input: null, context: null, interventions: {}, lastEdited: null, pending: false, queued: false, current: null };

async function api(path, body) {
  const init = body instanceof FormData ? { method: 'POST', body } : body ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {};
  const res = await fetch(path, init);
  const json = await res.json();
  if (!res.ok) throw new Error(json.error || res.statusText);
  return json;
}

function status(msg) {
  $('status').textContent = msg;
}

// ---- graph ------------------------------------------------------------------------------------
function drawGraph() {
  const { attributes, edges } = state.info;
  const svg = $('graph');
  const W = 340;
  const H = 300;
  const pos = attributes.map((_, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / attributes.length;
    return [W / 2 + 118 * Math.cos(a), H / 2 + 105 * Math.sin(a)];
  });
  const ns = 'http://www.w3.org/2000/svg';
  svg.innerHTML = '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#888"/></marker></defs>';
  const names = attributes.map((a) => a.name);
  for (const e of edges) {
    const [x1, y1] = pos[names.indexOf(e.from)];
    const [x2, y2] = pos[names.indexOf(e.to)];
    const d = Math.hypot(x2 - x1, y2 - y1);
    const [ux, uy] = [(x2 - x1) / d, (y2 - y1) / d];
    const line = document.createElementNS(ns, 'line');
    Object.entries({ x1: x1 + ux * 20, y1: y1 + uy * 20, x2: x2 - ux * 24, y2: y2 - uy * 24, 'stroke-width': 1.5 + Math.min(3, Math.abs(e.weight)), 'marker-end': 'url(#arrow)' }).forEach(([k, v]) => line.setAttribute(k, v));
    line.classList.add('edge');
    line.dataset.from = e.from;
    svg.appendChild(line);
    const t = document.createElementNS(ns, 'text');
    t.setAttribute('x', (x1 + x2) / 2 + 4);
    t.setAttribute('y', (y1 + y2) / 2 - 4);
    t.classList.add('weight');
    t.textContent = e.weight.toFixed(2);
    svg.appendChild(t);
  }
  attributes.forEach((a, i) => {
    const g = document.createElementNS(ns, 'g');
    g.classList.add('node');
    g.dataset.name = a.name;
    const c = document.createElementNS(ns, 'circle');
    c.setAttribute('cx', pos[i][0]);
    c.setAttribute('cy', pos[i][1]);
    c.setAttribute('r', 17);
    const label = document.createElementNS(ns, 'text');
    label.setAttribute('x', pos[i][0]);
    label.setAttribute('y', pos[i][1] + (pos[i][1] > H / 2 ? 32 : -24));
    label.textContent = a.name;
    g.append(c, label);
    svg.appendChild(g);
  });
}

/** Highlights the edited attribute and its descendants in the graph and the sliders. */
function highlight(name) {
  const desc = new Set(name && !$('noncausal').checked ? state.info.descendants[name] : []);
  document.querySelectorAll('#graph .node').forEach((g) => {
    g.classList.toggle('edited', g.dataset.name === name);
    g.classList.toggle('descendant', desc.has(g.dataset.name));
  });
  document.querySelectorAll('#graph .edge').forEach((l) => l.classList.toggle('active', l.dataset.from === name || desc.has(l.dataset.from)));
  document.querySelectorAll('.slider').forEach((s) => {
    s.classList.toggle('edited', s.dataset.name === name);
    s.classList.toggle('descendant', desc.has(s.dataset.name));
  });
}

// ---- sliders ----------------------------------------------------------------------------------
function range(a) {
  return a.kind === 'binary' ? [0, 1] : [a.min, a.max];
}

/** Attributes the editor offers: all, unless the checkpoint records that some edits fail the eval's checks. */
function offered(a) {
  const record = state.info.editable;
  return record?.attributes[a.name] !== false;
}

function buildSliders() {
  const box = $('sliders');
  box.innerHTML = '';
  const hidden = state.info.attributes.filter((a) => !offered(a));
  const note = $('hidden-attributes');
  note.hidden = hidden.length === 0;
  note.textContent = hidden.length
    ? `Hidden: ${hidden.map((a) => `${a.name} (${state.info.editable.why[a.name] || 'fails the checks'})`).join('; ')}. Their edits fail ccig eval's checks on held-out faces (the target read on at least ${Math.round(100 * state.info.editable.successTarget)}% of faces, and a Fréchet distance within ${state.info.editable.realismRatio}x of the reconstructions').`
    : '';
  for (const a of state.info.attributes.filter(offered)) {
    const [lo, hi] = range(a);
    const div = document.createElement('div');
    div.className = 'slider';
    div.dataset.name = a.name;
    div.innerHTML = `<label for="s-${a.name}">${a.name} <span class="kind">${a.kind}</span><output id="o-${a.name}"></output></label><input type="range" id="s-${a.name}" min="${lo}" max="${hi}" step="${(hi - lo) / 200}">`;
    box.appendChild(div);
    const input = div.querySelector('input');
    input.addEventListener('input', () => {
      state.interventions[a.name] = Number(input.value);
      state.lastEdited = a.name;
      highlight(a.name);
      render();
    });
  }
}

function setSliders(labels) {
  for (const a of state.info.attributes.filter(offered)) {
    const v = state.interventions[a.name] ?? labels[a.name];
    const input = $(`s-${a.name}`);
    if (!(a.name in state.interventions)) input.value = v;
    $(`o-${a.name}`).textContent = Number(v).toFixed(2);
  }
}

// ---- images -----------------------------------------------------------------------------------
function loadImage(src) {
  return new Promise((resolve) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.src = src;
  });
}

async function drawDiff(a, b) {
  const [ia, ib] = await Promise.all([loadImage(a), loadImage(b)]);
  const c = $('diff');
  const ctx = c.getContext('2d');
  const w = c.width;
  const h = c.height;
  ctx.drawImage(ia, 0, 0, w, h);
  const da = ctx.getImageData(0, 0, w, h);
  ctx.drawImage(ib, 0, 0, w, h);
  const db = ctx.getImageData(0, 0, w, h);
  for (let i = 0; i < da.data.length; i += 4)
    for (let k = 0; k < 3; k++) db.data[i + k] = 255 - Math.min(255, 3 * Math.abs(da.data[i + k] - db.data[i + k]));
  ctx.putImageData(db, 0, 0);
}

function showLabels(labels) {
  const body = document.querySelector('#labels tbody');
  body.innerHTML = '';
  for (const a of state.info.attributes) {
    const f = labels.factual[a.name];
    const e = labels.edited[a.name];
    const tr = document.createElement('tr');
    if (Math.abs(f - e) > 0.01 * ((range(a)[1] - range(a)[0]) || 1)) tr.className = 'changed';
    tr.innerHTML = `<td>${a.name}</td><td>${f.toFixed(2)}</td><td>${e.toFixed(2)}</td>`;
    body.appendChild(tr);
  }
}

/** Sends the current edit; coalesces slider moves so at most one request is in flight. */
async function render() {
  if (!state.context) return;
  if (state.pending) {
    state.queued = true;
    return;
  }
  state.pending = true;
  const t0 = performance.now();
  try {
    const mode = $('noncausal').checked ? 'noncausal' : 'causal';
    const r = await api('/api/intervene', { context: state.context, interventions: state.interventions, mode });
    $('factual').src = r.factual;
    $('edited').src = r.image;
    $('download').href = r.image;
    $('edited-caption').textContent = Object.keys(state.interventions).length ? (mode === 'causal' ? 'after do() — causal' : 'after the non-causal edit') : 'no edit yet';
    state.current = r;
    showLabels(r.labels);
    setSliders(r.labels.edited);
    await drawDiff(r.factual, r.image);
    status(`round trip ${Math.round(performance.now() - t0)} ms`);
    document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
  } catch (e) {
    status(`error: ${e.message}`);
  } finally {
    state.pending = false;
    if (state.queued) {
      state.queued = false;
      render();
    }
  }
}

function start(context, note, input) {
  state.input = input;
  $('input-figure').hidden = !input;
  if (input) $('input').src = input;
  const residual = state.info.edit === 'residual';
  $('factual-caption').textContent = input ? (residual ? 'your image (residual edits keep it)' : 'reconstruction (factual)') : 'factual';
  state.context = context;
  state.interventions = {};
  state.lastEdited = null;
  highlight(null);
  $('mode').textContent = note;
  render();
}

async function loadSamples(seed) {
  const { items } = await api('/api/sample', { n: 10, seed });
  const strip = $('strip');
  strip.innerHTML = '';
  items.forEach((it, i) => {
    const img = document.createElement('img');
    img.src = it.image;
    img.alt = `sample ${i + 1}`;
    img.addEventListener('click', () => {
      strip.querySelectorAll('img').forEach((x) => x.classList.remove('selected'));
      img.classList.add('selected');
      start(it.context, 'editing a sample from the prior (interventional)');
    });
    strip.appendChild(img);
  });
  strip.firstChild.click();
}

async function main() {
  state.info = await api('/api/info');
  const i = state.info;
  $('model-info').textContent = `${i.preset} · structure ${i.structure} · step ${i.step} · ${i.imageSize}px · ${i.attributes.length} causal attributes`;
  drawGraph();
  buildSliders();
  let seed = 0;
  $('more').addEventListener('click', () => loadSamples(++seed));
  $('reset').addEventListener('click', () => start(state.context, $('mode').textContent, state.input));
  $('noncausal').addEventListener('change', () => {
    highlight(state.lastEdited);
    render();
  });
  $('upload').addEventListener('change', async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    const form = new FormData();
    form.append('image', file);
    try {
      const r = await api('/api/encode', form);
      document.querySelectorAll('#strip img').forEach((x) => x.classList.remove('selected'));
      start(r.context, `counterfactual of ${file.name}: the noise was abducted from your image`, r.input);
    } catch (e) {
      status(`upload failed: ${e.message}`);
    }
  });
  await loadSamples(seed);
}

main().catch((e) => status(`cannot start: ${e.message}`));
