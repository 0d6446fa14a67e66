/**
 * Files the user names on the command line (`--config`, `--scenario`,
 * `--batch`, `--elf`, `-o`), read and written so that a bad name is a user
 * error, never a hang, a memory blow-up or a stack trace:
 * - reading: regular files only (a FIFO, `/dev/zero` or a directory is
 *   refused before anything is read), at most `maxBytes` (checked before
 *   reading and again while reading: a file that grows, or a /proc file that
 *   says it is empty, cannot make seamlab read without end);
 * - writing: through a temporary file in the same directory and a rename,
 *   so an interrupted or failed write leaves the old file (or none), and
 *   errors (no such directory, read-only, a directory in the way) are
 *   `OUTPUT_*` user errors naming the file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ErrorCode } from '../error-codes.js';
import { SeamlabError } from '../errors.js';

/** What a file of the file system is, for messages ("a directory", "a FIFO"). */
export function fileKind(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'a regular file';
}

/** The error codes `readUserFile` throws for one kind of file (each registered in src/error-codes.ts). */
export interface UserFileCodes {
  /** Cannot be opened (no such file, permission denied). */
  notFound: ErrorCode;
  /** A directory, FIFO, device or socket. */
  notAFile: ErrorCode;
  /** Over `maxBytes`. */
  tooBig: ErrorCode;
}

export interface ReadUserFileOptions {
  /** What the file is, for messages: "scenario file", "kernel .config". */
  what: string;
  /** The codes of the three refusals, e.g. SCENARIO_NOT_FOUND, SCENARIO_NOT_A_FILE, SCENARIO_TOO_BIG. */
  codes: UserFileCodes;
  maxBytes: number;
  /** How to fix a refused file. */
  hint: string;
}

function human(n: number): string {
  return n >= 1 << 20 && n % (1 << 20) === 0 ? `${n >> 20} MiB` : n >= 1 << 10 && n % (1 << 10) === 0 ? `${n >> 10} KiB` : `${n} bytes`;
}

/** Reads a file the user named, as bytes; refuses what is not a regular file or is over `maxBytes`. */
export function readUserFile(file: string, opts: ReadUserFileOptions): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below).
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SeamlabError(opts.codes.notFound, `cannot read the ${opts.what} ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`, opts.hint);
  }
  const st = fs.fstatSync(fd);
  // /dev/null reads as an empty file (what `--batch /dev/null` means); other devices could be endless.
  if (st.isCharacterDevice() && st.rdev === fs.statSync('/dev/null', { throwIfNoEntry: false } as fs.StatSyncOptions)?.rdev) {
    fs.closeSync(fd);
    return Buffer.alloc(0);
  }
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw new SeamlabError(opts.codes.notAFile, `the ${opts.what} ${file} is ${fileKind(st)}, not a regular file`, opts.hint);
  }
  const tooBig = (): SeamlabError => new SeamlabError(opts.codes.tooBig, `the ${opts.what} ${file} is over ${human(opts.maxBytes)}`, opts.hint);
  if (st.size > opts.maxBytes) {
    fs.closeSync(fd);
    throw tooBig();
  }
  try {
    // Up to one byte more than allowed: reading it means the file is too big, whatever stat said.
    let buf = Buffer.alloc(Math.min(opts.maxBytes + 1, st.size + 1 + (1 << 12)));
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n > opts.maxBytes) throw tooBig();
        const bigger = Buffer.alloc(Math.min(opts.maxBytes + 1, buf.length * 2));
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
      const got = fs.readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) return buf.subarray(0, n);
      n += got;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Text for a message that quotes a line of a file the user gave: control
 * characters and bytes that are not printable are shown escaped (JSON
 * style), and a long line is cut, so binary garbage never reaches the
 * terminal raw.
 */
export function quotedLine(line: string, max = 80): string {
  const cut = line.length > max ? `${line.slice(0, max)}…` : line;
  // JSON's escapes for control characters and backslashes; a double quote is shown as it is.
  return JSON.stringify(cut).slice(1, -1).replace(/\\"/g, '"').replace(/[\u007f-\u009f\ufffd]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** True when text read as UTF-8 is evidently not text: NUL bytes, or bytes that are not UTF-8. */
export function looksBinary(text: string): boolean {
  return /[\0\ufffd]/.test(text);
}

/** The user error for an output file that cannot be written. */
export function outputError(file: string, what: string, e: unknown): SeamlabError {
  const code = (e as NodeJS.ErrnoException).code;
  const reason = code === 'ENOENT' ? (isDirectory(path.dirname(file)) ? `files cannot be created in ${path.dirname(file)}` : 'its directory does not exist')
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
      : code === 'EROFS' ? 'the file system is read-only'
        : code === 'EISDIR' ? 'it is a directory'
          : code === 'ENOTDIR' ? 'a component of the path is not a directory'
            : code === 'ENOSPC' ? 'no space left on the device'
              : (e as Error).message;
  return new SeamlabError('OUTPUT_WRITE_FAILED', `cannot write the ${what} ${file}: ${reason}`, 'give a path in an existing, writable directory');
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Refuses an output path that names an existing directory (or other
 * non-file), or whose directory does not exist, before anything is
 * computed or written.
 */
export function checkOutputPath(file: string, what: string): void {
  const dir = path.dirname(file);
  if (!isDirectory(dir)) {
    throw new SeamlabError('OUTPUT_WRITE_FAILED', `cannot write the ${what} ${file}: ${fs.existsSync(dir) ? `${dir} is not a directory` : 'its directory does not exist'}`, 'give a path in an existing, writable directory');
  }
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(file);
  } catch {
    st = undefined;
  }
  if (st && !st.isFile()) {
    throw new SeamlabError('OUTPUT_NOT_A_FILE', `the ${what} ${file} is ${fileKind(st)}`, `give a file name${st.isDirectory() ? `, e.g. ${path.join(file, 'out')}` : ''}`);
  }
}

/** Writes an output file through a temporary file and a rename; a failure is an OUTPUT_WRITE_FAILED user error and leaves nothing behind. */
export function writeOutputFile(file: string, data: string | Uint8Array, what: string): void {
  checkOutputPath(file, what);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw outputError(file, what, e);
  }
}

/**
 * Creates a directory for outputs (and its parents); a failure is an
 * OUTPUT_WRITE_FAILED user error. Component by component, not with
 * `mkdirSync(…, { recursive: true })`, which loops forever under /proc
 * (Node 20: ENOENT for the directory it just failed to create).
 */
export function makeOutputDir(dir: string, what: string): void {
  const missing: string[] = [];
  let cur = path.resolve(dir);
  while (!isDirectory(cur)) {
    missing.push(cur);
    const up = path.dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && isDirectory(d)) continue;
      throw outputError(d, what, e);
    }
  }
}
