export async function serveCommand(_raw: Record<string, unknown>): Promise<void> {
  throw new Error('serve: not implemented yet');
}
