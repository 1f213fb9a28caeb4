import { isDag } from '../../src/causal/graph.ts';

/** Every DAG on m nodes (each pair: none, i -> j or j -> i; the acyclic ones). */
export function allDags(m: number): number[][][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) pairs.push([i, j]);
  const out: number[][][] = [];
  for (let code = 0; code < 3 ** pairs.length; code++) {
    const A = Array.from({ length: m }, () => new Array<number>(m).fill(0));
    let c = code;
    for (const [i, j] of pairs) {
      if (c % 3 === 1) A[i][j] = 1;
      else if (c % 3 === 2) A[j][i] = 1;
      c = Math.floor(c / 3);
    }
    if (isDag(A)) out.push(A);
  }
  return out;
}
