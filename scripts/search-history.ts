// How a learned run's graph moved during training: each structure search the log recorded (one
// per search step), and for every pair the share of searches with each direction and with either.
//   node --import tsx scripts/search-history.ts runs/NAME/log.jsonl [--from STEP]
import { readFileSync } from 'node:fs';

const [path, ...rest] = process.argv.slice(2);
if (!path) {
  console.error('usage: search-history.ts LOG.jsonl [--from STEP]');
  process.exit(2);
}
const from = rest[0] === '--from' ? Number(rest[1]) : 0;
const searches = new Map<number, [string, string][]>();
for (const line of readFileSync(path, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  let entry: { search?: { step: number; edges: [string, string][] } };
  try {
    entry = JSON.parse(line);
  } catch {
    continue; // a line cut short (a full disk) loses a point, not the history
  }
  if (entry.search && entry.search.step >= from) searches.set(entry.search.step, entry.search.edges);
}
const n = searches.size;
console.log(`${n} searches from step ${from} (steps ${[...searches.keys()].join(', ')})\n`);
const count = new Map<string, number>();
for (const edges of searches.values())
  for (const [a, b] of edges) count.set(`${a}|${b}`, (count.get(`${a}|${b}`) ?? 0) + 1);
const pairs = new Map<string, [string, string]>();
for (const key of count.keys()) {
  const [a, b] = key.split('|');
  const id = [a, b].sort().join('|');
  // list each pair in its more frequent direction
  const cur = pairs.get(id);
  if (!cur || (count.get(key) ?? 0) > (count.get(cur.join('|')) ?? 0)) pairs.set(id, [a, b]);
}
const share = (a: string, b: string) => (count.get(`${a}|${b}`) ?? 0) / n;
console.log('| pair a – b | searches with a → b | b → a | either |');
console.log('| --- | --- | --- | --- |');
for (const [a, b] of [...pairs.values()].sort(
  (p, q) => share(q[0], q[1]) + share(q[1], q[0]) - share(p[0], p[1]) - share(p[1], p[0]),
))
  console.log(
    `| ${a} – ${b} | ${share(a, b).toFixed(2)} | ${share(b, a).toFixed(2)} | ${(share(a, b) + share(b, a)).toFixed(2)} |`,
  );
