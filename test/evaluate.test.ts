// The evaluation's graph section on hand-set adjacencies: what SHD, TPR, FDR and h must be.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateWorldDataset, worldByName } from '../src/data/world-dataset.ts';
import type { EvalContext } from '../src/eval/context.ts';
import { graphSection } from '../src/eval/evaluate.ts';
import { graphKpis } from '../src/eval/report.ts';
import { Ccig } from '../src/model/ccig.ts';
import { resolveConfig } from '../src/model/config.ts';
import * as torch from '../src/torch/index.ts';

const world = generateWorldDataset(worldByName('pendulum'), { count: 4, imageSize: 64, seed: 1 });
// pendulum_angle, light_angle -> shadow_length, shadow_position
const TRUTH = [
  [0, 0, 1, 1],
  [0, 0, 1, 1],
  [0, 0, 0, 0],
  [0, 0, 0, 0],
];
const names = world.attributes.map((a) => a.name);
const truthEdges = names.flatMap((from, i) =>
  names.filter((_, j) => TRUTH[i][j]).map((to) => [from, to] as [string, string]),
);

function scored(A: number[][]) {
  const model = new Ccig(
    resolveConfig('tiny', { scm: { structure: 'learned', parents: 'linear' } }),
    world.attributes,
  );
  torch.noGrad(() => model.prior.stateDict().A.copy_(torch.tensor(A)));
  // graphSection reads only the model and the reference graph of the context
  const ctx = { model, reference: { kind: 'true graph', adjacency: TRUTH, edges: truthEdges } };
  const r = graphSection(ctx as unknown as EvalContext);
  model.dispose();
  return r;
}

test('graph section: the true graph scores SHD 0; a reversed and a missing edge count, small entries do not', () => {
  const exact = scored([
    [0, 0, 0.9, -0.6],
    [0, 0, 1.4, 0.5],
    [0, 0.1, 0, 0],
    [0, 0, 0.2, 0],
  ]);
  assert.equal(exact.comparison.shd, 0);
  assert.equal(exact.comparison.tpr, 1);
  assert.equal(exact.comparison.fdr, 0);
  assert.equal(exact.learnedEdges.length, 4, 'entries at or below 0.3 are not edges');
  assert.equal(exact.reference, 'true graph');
  assert.ok(exact.h > 0 && exact.h < 0.1, `h ${exact.h}: a weak 2-cycle among the small entries`);

  // shadow_position -> light_angle reversed, pendulum_angle -> shadow_length missing
  const wrong = scored([
    [0, 0, 0, 0.7],
    [0, 0, 0.8, 0],
    [0, 0, 0, 0],
    [0, 0.9, 0, 0],
  ]);
  assert.equal(wrong.comparison.shd, 2);
  assert.equal(wrong.comparison.tpr, 0.5);
  assert.ok(Math.abs(wrong.comparison.fdr - 1 / 3) < 1e-9, `FDR ${wrong.comparison.fdr}`);
  assert.equal(wrong.h, 0);
});

test('given mode: the graph section says SHD, TPR and FDR are trivial, and the report shows no SHD as learned', () => {
  const given = new Ccig(
    resolveConfig('tiny', { scm: { structure: 'given', edges: truthEdges, parents: 'linear' } }),
    world.attributes,
  );
  torch.noGrad(() => given.prior.stateDict().A.copy_(torch.tensor(TRUTH)));
  const ctx = { model: given, reference: { kind: 'true graph', adjacency: TRUTH, edges: truthEdges } };
  const r = graphSection(ctx as unknown as EvalContext);
  given.dispose();
  assert.equal(r.comparison.shd, 0, 'the given graph compared with itself');
  assert.equal(r.structure, 'given');
  assert.match(r.caveat ?? '', /given, not learned/);
  const kpis = graphKpis(r);
  assert.doesNotMatch(kpis, /SHD vs/);
  assert.match(kpis, /trivial/);

  const learned = scored(TRUTH);
  assert.equal(learned.structure, 'learned');
  assert.equal(learned.caveat, undefined);
  assert.match(graphKpis(learned), /<b>0<\/b>SHD vs true graph/);
});
