// Band-restricted Pendulum readers (CDG-VAE's way of reading factors for its CDM): the bands must
// hold each factor's pixels on this project's renderer, and a reader must see nothing outside its band.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateWorldDataset, worldByName } from '../src/data/world-dataset.ts';
import { PENDULUM_BANDS, trainBandReaders } from '../src/eval/band-readers.ts';
import * as torch from '../src/torch/index.ts';

const S = 64;
const world = worldByName('pendulum');
const data = generateWorldDataset(world, { count: 24, imageSize: S, seed: 5 });
const names = data.attributes.map((a) => a.name);

/** Rows where two HWC RGB images differ. */
function changedRows(a: Uint8Array, b: Uint8Array): number[] {
  const rows: number[] = [];
  for (let r = 0; r < S; r++)
    for (let k = r * S * 3; k < (r + 1) * S * 3; k++)
      if (a[k] !== b[k]) {
        rows.push(r);
        break;
      }
  return rows;
}

test('each Pendulum factor is drawn inside its band at 64 x 64', () => {
  const values = data.batch(Array.from({ length: data.size }, (_, i) => i)).labels;
  const m = names.length;
  const seen = names.map(() => new Set<number>());
  for (let i = 0; i < data.size; i++) {
    const base = Float64Array.from(values.slice(i * m, (i + 1) * m));
    const image = world.render(base, S);
    names.forEach((_, j) => {
      const other = Float64Array.from(base);
      other[j] = values[((i + 7) % data.size) * m + j];
      for (const r of changedRows(image, world.render(other, S))) seen[j].add(r);
    });
  }
  names.forEach((name, j) => {
    const [from, to] = PENDULUM_BANDS[name];
    const rows = [...seen[j]].sort((a, b) => a - b);
    assert.ok(rows.length > 0, `${name} changed no pixel`);
    assert.ok(
      rows[0] >= from && rows[rows.length - 1] < to,
      `${name} drew rows ${rows[0]}-${rows.at(-1)}, band ${from}-${to}`,
    );
  });
});

test('a band reader reads nothing outside its band', () => {
  const readers = trainBandReaders(data, data, { steps: 2, batchSize: 8 });
  const b = data.batch([0, 1]);
  const x = torch.tensor(b.images, { shape: [2, 3, S, S] });
  // paint rows 56-63 (the shadow's band and the bob's lowest rows) white
  const rows = torch.tensor(
    Float32Array.from(
      Array.from({ length: S }, (_, r) => (r >= 56 ? 1 : 0)).flatMap((v) => new Array<number>(S).fill(v)),
    ),
    { shape: [1, 1, S, S] },
  );
  const painted = x.mul(rows.rsub(1)).add(rows);
  const before = readers.oracle.read(x).values.toNumbers();
  const after = readers.oracle.read(painted).values.toNumbers();
  const light = names.indexOf('light_angle');
  const shadow = names.indexOf('shadow_position');
  for (let i = 0; i < 2; i++) {
    assert.equal(
      after[i * names.length + light],
      before[i * names.length + light],
      'the light reader saw the shadow rows',
    );
    assert.notEqual(
      after[i * names.length + shadow],
      before[i * names.length + shadow],
      'the shadow reader did not see its rows',
    );
  }
  assert.deepEqual(Object.keys(readers.heldOutError).sort(), [...names].sort());
  for (const t of [x, rows, painted]) t.dispose();
  readers.dispose();
});
