/**
 * The file layer. Every file ccig writes (checkpoints, grids, logs, reports, images) goes
 * through here, so that:
 * - the machine's refusals (no space, permission denied, read-only file system, a file where a
 *   folder should be, too many open files) become one FileSystemError naming the operation, the
 *   path and what to do, instead of a raw errno message and a stack trace;
 * - writes are atomic (temp file in the same folder, fsync, rename) and a failed write leaves no
 *   temp file and the previous file untouched;
 * - tests can inject those refusals at any operation (setFileFaultInjector) on any machine.
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmdirSync,
  statfsSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { constants } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { FileSystemError } from './errors.ts';

/** What the file layer does; the fault injector sees one of these before each system call. */
export type FileOp = 'mkdir' | 'open' | 'write' | 'fsync' | 'close' | 'rename' | 'append' | 'unlink';

type FaultInjector = (op: FileOp, path: string) => void;
let injector: FaultInjector | undefined;

/**
 * Tests only: `fn` runs before each system call of the file layer and may throw (errnoError) to
 * simulate a full disk, a read-only file system, ... at exactly that call. undefined removes it.
 */
export function setFileFaultInjector(fn: FaultInjector | undefined): void {
  injector = fn;
}

function before(op: FileOp, path: string): void {
  injector?.(op, path);
}

/** An error shaped like the ones node:fs throws (code, errno, syscall, path). */
export function errnoError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: ${REASONS[code] ?? code}, ${syscall} '${path}'`);
  e.code = code;
  e.errno = -((constants.errno as Record<string, number>)[code] ?? 1);
  e.syscall = syscall;
  e.path = path;
  return e;
}

/** errno codes of the file system, in words. */
const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a file is in the way',
  EISDIR: 'it is a folder, not a file',
  EMFILE: 'too many open files in this process',
  ENFILE: 'too many open files on this machine',
  ENOENT: 'no such file or folder',
  EIO: 'input/output error',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many levels of symbolic links',
  EFBIG: 'the file is too large for this file system',
  EBUSY: 'the file or folder is busy',
  ETXTBSY: 'the file is busy',
  EXDEV: 'the paths are on different file systems',
  ENOTEMPTY: 'the folder is not empty',
  ESTALE: 'stale network file handle',
};

/** What to do about each code (the message's last part). */
const ADVICE: Record<string, string> = {
  ENOSPC: 'free some space on that disk or use a folder on another disk',
  EDQUOT: 'free some space within your quota or use a folder elsewhere',
  EACCES: 'make it writable for this user (chmod/chown) or use another folder',
  EPERM: 'make it writable for this user (chmod/chown) or use another folder',
  EROFS: 'use a folder on a writable disk',
  ENOTDIR: 'rename or remove the file that is in the way, or choose another path',
  EEXIST: 'rename or remove the file that is in the way, or choose another path',
  EISDIR: 'give a file name, not a folder',
  EMFILE: 'raise the open-file limit (ulimit -n 4096) and run again',
  ENFILE: 'close other programs or raise the system open-file limit (fs.file-max), then run again',
  ENOENT: 'check the path',
  EIO: 'the disk may be failing: check it (dmesg) or use another disk',
  ENAMETOOLONG: 'use a shorter path',
  ELOOP: 'check the symbolic links in the path',
  EFBIG: 'use a file system that holds large files',
  EBUSY: 'wait for the other program to finish, or use another path',
  ETXTBSY: 'wait for the other program to finish, or use another path',
  EXDEV: 'keep the files on one file system',
  ENOTEMPTY: 'empty or remove the folder, or choose another path',
  ESTALE: 'remount the network file system or use a local folder',
};

/** Codes that mean "this path cannot be used" (the user's choice): the CLI exits 2 for them. */
const USER_PATH_CODES = new Set(['ENOTDIR', 'EEXIST', 'EISDIR', 'ENOENT', 'ENAMETOOLONG', 'ELOOP']);

/** Codes that may clear up by themselves (space freed, files closed): worth a retry. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ENOSPC',
  'EDQUOT',
  'EIO',
  'EMFILE',
  'ENFILE',
  'EBUSY',
  'ETXTBSY',
  'ESTALE',
  'EAGAIN',
]);

/** The verb of each fs system call, for errors that reach us without an operation named. */
const SYSCALL_VERBS: Record<string, string> = {
  open: 'open',
  write: 'write',
  read: 'read',
  fsync: 'write',
  close: 'write',
  mkdir: 'create the folder',
  rename: 'write',
  unlink: 'remove',
  rmdir: 'remove the folder',
  rm: 'remove',
  scandir: 'list the folder',
  opendir: 'list the folder',
  stat: 'look at',
  lstat: 'look at',
  statfs: 'check the free space of',
  access: 'access',
  copyfile: 'copy to',
  ftruncate: 'write',
  utime: 'write',
  chmod: 'change the mode of',
};

/** An errno code in words and what to do about it: { reason: 'no space left on device', advice }. */
export function describeCode(code: string): { reason: string; advice: string } {
  return { reason: REASONS[code] ?? code, advice: ADVICE[code] ?? 'check the path and the disk' };
}

/** True for an error node:fs throws about a file (it has an errno code we know). */
export function isFileSystemFault(e: unknown): e is NodeJS.ErrnoException {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && code in REASONS && !(e instanceof FileSystemError);
}

/**
 * Turns a node:fs error into a FileSystemError: "cannot OPERATION PATH: REASON (CODE); ADVICE".
 * `operation` says what ccig was doing ("write the checkpoint"); `path` is the file the user
 * knows (the target, not a temp file). Anything else is returned unchanged.
 */
export function toFileSystemError(e: unknown, operation?: string, path?: string, advice?: string): unknown {
  if (!isFileSystemFault(e)) return e;
  const code = e.code as string;
  const where = path ?? e.path ?? (e as { dest?: string }).dest;
  // not about a file (a socket's EACCES, say): leave it to whoever knows what it was
  if (where === undefined) return e;
  const what = operation ?? SYSCALL_VERBS[e.syscall ?? ''] ?? 'use';
  const message = `cannot ${what} ${where}: ${REASONS[code]} (${code}); ${advice ?? ADVICE[code]}`;
  return new FileSystemError(message, code, where, what, USER_PATH_CODES.has(code), { cause: e });
}

/** Runs `fn`; a file-system fault comes out as a FileSystemError about `operation` on `path`. */
export function describingFaults<T>(operation: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toFileSystemError(e, operation, path);
  }
}

const CHUNK = 1 << 20;

/** The temp file next to `path` that an atomic write goes through (see removeStaleTemps). */
function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

const TEMP_NAME = /\.tmp-(\d+)(-[a-z0-9]+)?$/;

/**
 * Writes bytes to `path` atomically: a temp file in the same folder, fsync, rename, then fsync of
 * the folder. On any failure the temp file is removed and `path` keeps its previous contents;
 * the error is a FileSystemError about `operation` (default "write").
 */
export function writeFileAtomic(path: string, data: Uint8Array | string, operation = 'write'): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const tmp = tempPathFor(path);
  let fd: number | undefined;
  let created = false;
  try {
    before('open', tmp);
    fd = openSync(tmp, 'w');
    created = true;
    for (let off = 0; off < bytes.length; ) {
      before('write', tmp);
      off += writeSync(fd, bytes, off, Math.min(CHUNK, bytes.length - off));
    }
    before('fsync', tmp);
    fsyncSync(fd);
    before('close', tmp);
    const closing = fd;
    fd = undefined;
    closeSync(closing);
    before('rename', path);
    renameSync(tmp, path);
    created = false;
  } catch (e) {
    if (fd !== undefined) ignoreErrors(() => closeSync(fd as number));
    if (created) ignoreErrors(() => unlinkSync(tmp));
    throw toFileSystemError(e, operation, path);
  }
  syncFolder(dirname(path));
}

/** fsync a folder so a rename in it survives a power cut; not every file system allows it. */
function syncFolder(dir: string): void {
  ignoreErrors(() => {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
}

function ignoreErrors(fn: () => void): void {
  try {
    fn();
  } catch {
    // best effort: the caller already reports the error that matters
  }
}

/**
 * Appends one line to a text file (a JSONL log). If the write fails part way (a full disk), the
 * file is cut back to where it was, so the log never holds half a line.
 */
export function appendLine(path: string, line: string, operation = 'write to'): void {
  let size = 0;
  ignoreErrors(() => {
    size = statSync(path).size;
  });
  try {
    before('append', path);
    appendFileSync(path, line.endsWith('\n') ? line : `${line}\n`);
  } catch (e) {
    ignoreErrors(() => truncateSync(path, size));
    throw toFileSystemError(e, operation, path);
  }
}

/** mkdir -p, with a FileSystemError naming the folder. */
export function makeFolder(dir: string, operation = 'create the folder'): void {
  try {
    before('mkdir', dir);
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw toFileSystemError(realMkdirError(dir, e), operation, dir);
  }
}

/**
 * Node's recursive mkdir reports ENOENT for most failures below an existing folder (a read-only
 * file system, a full disk): it stats the path after the failed mkdir and returns that error.
 * Creating the first missing folder alone gives the real reason.
 */
function realMkdirError(dir: string, e: unknown): unknown {
  if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return e;
  let missing = dir;
  while (!existsSync(dirname(missing)) && dirname(missing) !== missing) missing = dirname(missing);
  try {
    mkdirSync(missing);
    rmdirSync(missing);
  } catch (real) {
    return real;
  }
  return e;
}

/**
 * Checks that files can be created in `dir` by creating and removing one: catches read-only
 * mounts, missing permissions and full disks before any work is done (access(2) alone says yes
 * to root on a folder it cannot write, and nothing about space).
 */
export function checkWritable(dir: string, operation = 'write into'): void {
  writeFileAtomic(join(dir, `.ccig-write-test-${process.pid}`), 'ok\n', operation);
  ignoreErrors(() => unlinkSync(join(dir, `.ccig-write-test-${process.pid}`)));
}

/**
 * After a file failed to load (a decoder's error says only "cannot open"): opens it again to
 * learn whether the machine is at fault (too many open files, an I/O error), as a
 * FileSystemError, or undefined when the file opens (the content is bad) or the fault is the
 * file's own (missing, no permission).
 */
export function machineFault(path: string): FileSystemError | undefined {
  try {
    before('open', path);
    closeSync(openSync(path, 'r'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined && TRANSIENT_CODES.has(code))
      return toFileSystemError(e, 'read the image', path) as FileSystemError;
  }
  return undefined;
}

/** Bytes free for this user in the file system holding `dir`, or undefined where unknown. */
export function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/**
 * Removes temp files that atomic writes of a dead process left in `dir` (a kill -9 mid-write);
 * a live process's temp files are left alone. Returns the names removed.
 */
export function removeStaleTemps(dir: string): string[] {
  const removed: string[] = [];
  let names: string[] = [];
  ignoreErrors(() => {
    names = readdirSync(dir);
  });
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    try {
      before('unlink', join(dir, name));
      unlinkSync(join(dir, name));
      removed.push(basename(name));
    } catch {
      // someone else's file, or gone already
    }
  }
  return removed;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Byte counts for people: 1.5 MB. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
