/**
 * Typed errors. Each names what the user did wrong; the CLI maps them to exit codes and the
 * server to HTTP 400 (user error) vs 500 (our error).
 */

/** A bad option or argument given by the user (unknown preset, out-of-range value, ...). */
export class OptionError extends Error {
  override name = 'OptionError';
}

/** Bad input data: missing file, corrupt image, malformed label row. `file`/`line` locate it. */
export class DataError extends Error {
  override name = 'DataError';
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super(file ? `${file}${line !== undefined ? `:${line}` : ''}: ${message}` : message);
  }
}

/** A causal graph that is not acceptable (cycle, self-loop, unknown node). */
export class GraphError extends Error {
  override name = 'GraphError';
}

/** A checkpoint that cannot be read or does not fit the model asked for. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** An error raised inside libtorch, carrying its message without the C++ backtrace. */
export class NativeError extends Error {
  override name = 'NativeError';
}

/**
 * The machine refused a file operation: no space, permission denied, read-only file system, a
 * file where a folder should be, too many open files. The message names the operation, the path
 * and what to do (src/files.ts builds it); `code` is the errno code (ENOSPC, EACCES, ...).
 * `userMistake` is true for paths the user gave that cannot be used (a file where a folder is
 * expected, a missing folder): the CLI exits 2 for those and 4 for faults of the environment.
 */
export class FileSystemError extends Error {
  override name = 'FileSystemError';
  constructor(
    message: string,
    readonly code: string,
    readonly path: string,
    readonly operation: string,
    readonly userMistake: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A data-parallel group that broke: a peer process stopped, a collective timed out, the network
 * failed. Not the user's mistake and not our bug: the CLI exits 4, as for machine faults.
 */
export class DistributedError extends Error {
  override name = 'DistributedError';
}

/**
 * An allocation libtorch could not make (CUDA or host memory). Raised by the native addon; the
 * trainer re-raises it naming the batch size. A user error: a smaller batch or another device
 * fixes it.
 */
export class OutOfMemoryError extends NativeError {
  override name = 'OutOfMemoryError';
}

/** True for errors a user can cause and fix (exit code 2 / HTTP 4xx). */
export function isUserError(
  e: unknown,
): e is OptionError | DataError | GraphError | CheckpointError | OutOfMemoryError {
  return (
    e instanceof OptionError ||
    e instanceof DataError ||
    e instanceof GraphError ||
    e instanceof CheckpointError ||
    e instanceof OutOfMemoryError
  );
}
