/**
 * Where seamlab keeps what it downloads and computes ($SEAMLAB_CACHE,
 * default ~/.cache/seamlab), how a cache file is written so readers never
 * see half of it, how a cache file carries its own digest so a damaged one
 * is never used, and git's blob id, which identifies file contents
 * everywhere (kernel trees, patches, goldens).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function cacheDir(): string {
  return process.env.SEAMLAB_CACHE || path.join(os.homedir(), '.cache', 'seamlab');
}

/** False when SEAMLAB_NO_DISK_CACHE is set (to anything but "" or "0"): seamlab's own caches under cacheDir() are then neither read nor written. */
export function diskCacheEnabled(): boolean {
  const v = process.env.SEAMLAB_NO_DISK_CACHE;
  return v === undefined || v === '' || v === '0';
}

/**
 * Writes a cache file through a temporary file and a rename, so readers see
 * the old or the new content, never half of it. Best effort: a read-only or
 * full disk costs speed, not correctness, so failure returns false.
 */
export function writeFileAtomic(file: string, text: string | Uint8Array): boolean {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
    return true;
  } catch {
    fs.rmSync(tmp, { force: true });
    return false;
  }
}

/**
 * seamlab's own cache files (cpp-env entries, Keystone answers) start with
 * a line holding the sha256 of the rest. A file damaged on disk — a flipped
 * byte, a truncation, a write by something else — reads as absent: a cache
 * miss, never a wrong answer. Files from before this line existed read as
 * absent too.
 */
const CHECKED_TAG = 'seamlab-cache sha256:';
const CHECKED_HEAD_LENGTH = CHECKED_TAG.length + 64 + 1;

/** Writes `body` behind its digest line, atomically (writeFileAtomic); false when it could not be written. */
export function writeCheckedFile(file: string, body: string): boolean {
  const bytes = Buffer.from(body, 'utf8');
  const head = Buffer.from(`${CHECKED_TAG}${createHash('sha256').update(bytes).digest('hex')}\n`, 'latin1');
  return writeFileAtomic(file, Buffer.concat([head, bytes]));
}

/** The body of a file written by writeCheckedFile, or undefined when it is missing, unreadable, or does not match its digest. */
export function readCheckedFile(file: string): string | undefined {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  if (buf.length < CHECKED_HEAD_LENGTH || buf[CHECKED_HEAD_LENGTH - 1] !== 0x0a || buf.toString('latin1', 0, CHECKED_TAG.length) !== CHECKED_TAG) return undefined;
  const body = buf.subarray(CHECKED_HEAD_LENGTH);
  if (createHash('sha256').update(body).digest('hex') !== buf.toString('latin1', CHECKED_TAG.length, CHECKED_HEAD_LENGTH - 1)) return undefined;
  return body.toString('utf8');
}

/** git's blob id: sha1("blob <size>\0" + content). */
export function gitBlobId(content: Uint8Array): string {
  const h = createHash('sha1');
  h.update(`blob ${content.length}\0`);
  h.update(content);
  return h.digest('hex');
}
