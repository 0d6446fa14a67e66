/**
 * Where seamlab keeps what it downloads and computes ($SEAMLAB_CACHE,
 * default ~/.cache/seamlab), how a cache file is written so readers never
 * see half of it, and git's blob id, which identifies file contents
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
export function writeFileAtomic(file: string, text: string): boolean {
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

/** git's blob id: sha1("blob <size>\0" + content). */
export function gitBlobId(content: Uint8Array): string {
  const h = createHash('sha1');
  h.update(`blob ${content.length}\0`);
  h.update(content);
  return h.digest('hex');
}
