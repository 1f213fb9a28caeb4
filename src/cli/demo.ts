export async function demoCommand(_raw: Record<string, unknown>): Promise<void> {
  throw new Error('demo: not implemented yet');
}
