/**
 * Keystone's answers kept across processes, so that a build whose
 * instruction forms were all seen before never starts the Keystone worker
 * (starting it costs ~75 ms: a Node worker thread and a 4 MB wasm module).
 *
 * Keystone's output depends only on the placeholder text it is given
 * (src/encode/x86.ts) and on Keystone itself, so the store is keyed by the
 * Keystone package (its version and the sizes of its JS and wasm files) and
 * maps text → bytes, or text → Keystone's rejection message. Only
 * deterministic answers are stored: bytes and rejections. Timeouts and
 * crashes are answers about a worker, not about the text, and never reach
 * the store.
 *
 * File: $SEAMLAB_CACHE/keystone/keystone-f<format>-<version>-<hash>.json,
 * loaded on the first Keystone question of a process, rewritten (temporary
 * file + rename, merged with what other processes added meanwhile) by
 * flush() — the image builder calls it after each assembly. The file starts
 * with the digest of the rest (writeCheckedFile), checked at every load: a
 * file that is damaged, truncated, or cannot be read or parsed counts as
 * empty (and is rewritten at the next flush), never as answers.
 * SEAMLAB_NO_DISK_CACHE=1 turns it off.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { cacheDir, diskCacheEnabled, readCheckedFile, writeCheckedFile } from '../support/cache.js';

/** A deterministic Keystone answer: the bytes, or the rejection message. */
export type StoredAnswer = { ok: true; bytes: Uint8Array } | { ok: false; kind: 'rejected'; message: string };

/** On disk: hex bytes, or { rejected: message }. */
type DiskAnswer = string | { rejected: string };

/** The file's shape (2: behind a digest line). In the file name too, so seamlab versions with other formats keep separate files instead of discarding each other's. */
const FORMAT = 2;
/** Oldest answers are dropped beyond this: a kernel file has a few hundred distinct forms, and every answer is decoded at load (10,000 ≈ 5 ms). */
const MAX_ANSWERS = 10_000;

let keystoneId: string | undefined;

/** The Keystone package's identity: version and the sizes of its JS and wasm files. */
export function keystoneIdentity(): string {
  if (keystoneId !== undefined) return keystoneId;
  const main = createRequire(import.meta.url).resolve('@alexaltea/keystone-js');
  // package.json read directly (require() of it costs milliseconds of module loading).
  let version = 'unknown';
  try {
    version = (JSON.parse(fs.readFileSync(path.join(path.dirname(main), '..', 'package.json'), 'utf8')) as { version?: string }).version ?? version;
  } catch {
    // An unknown version still keys the store by the file sizes below.
  }
  const size = (f: string): string => {
    try {
      return String(fs.statSync(f).size);
    } catch {
      return '-';
    }
  };
  const sizes = `${size(main)}:${size(path.join(path.dirname(main), 'keystone.wasm'))}`;
  keystoneId = `${version}-${createHash('sha256').update(sizes).digest('hex').slice(0, 12)}`;
  return keystoneId;
}

function encodeAnswer(a: StoredAnswer): DiskAnswer {
  return a.ok ? Buffer.from(a.bytes).toString('hex') : { rejected: a.message };
}

function decodeAnswer(d: unknown): StoredAnswer | undefined {
  if (typeof d === 'string') return /^(?:[0-9a-f]{2})+$/.test(d) ? { ok: true, bytes: Uint8Array.from(Buffer.from(d, 'hex')) } : undefined;
  if (typeof d === 'object' && d !== null && typeof (d as { rejected?: unknown }).rejected === 'string') return { ok: false, kind: 'rejected', message: (d as { rejected: string }).rejected };
  return undefined;
}

/** Figures for tests and benchmarks. */
export const keystoneCacheStats = { loadedAnswers: 0, writes: 0 };

/** The persistent store of one cache directory. */
export class KeystoneAnswerStore {
  /** Answers added in this process and not yet written. */
  private readonly pending = new Map<string, DiskAnswer>();

  constructor(readonly file: string) {}

  /** The answers on disk (empty when missing or unreadable). */
  read(): Map<string, StoredAnswer> {
    const out = this.readFile();
    keystoneCacheStats.loadedAnswers += out.size;
    return out;
  }

  private readFile(): Map<string, StoredAnswer> {
    const out = new Map<string, StoredAnswer>();
    const text = readCheckedFile(this.file);
    if (text === undefined) return out;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return out;
    }
    const p = parsed as { format?: unknown; keystone?: unknown; answers?: unknown };
    if (typeof p !== 'object' || p === null || p.format !== FORMAT || p.keystone !== keystoneIdentity() || typeof p.answers !== 'object' || p.answers === null) return out;
    for (const [text, d] of Object.entries(p.answers as Record<string, unknown>)) {
      const a = decodeAnswer(d);
      if (a) out.set(text, a);
    }
    return out;
  }

  add(text: string, answer: StoredAnswer): void {
    this.pending.set(text, encodeAnswer(answer));
  }

  get dirty(): boolean {
    return this.pending.size > 0;
  }

  /** Writes the pending answers, merged with the file's current content. */
  flush(): void {
    if (this.pending.size === 0) return;
    const merged: Record<string, DiskAnswer> = {};
    for (const [text, a] of this.readFile()) merged[text] = encodeAnswer(a);
    for (const [text, a] of this.pending) {
      delete merged[text];
      merged[text] = a;
    }
    let entries = Object.entries(merged);
    if (entries.length > MAX_ANSWERS) entries = entries.slice(entries.length - MAX_ANSWERS);
    this.pending.clear();
    keystoneCacheStats.writes++;
    writeCheckedFile(this.file, JSON.stringify({ format: FORMAT, keystone: keystoneIdentity(), answers: Object.fromEntries(entries) }) + '\n');
  }
}

const stores = new Map<string, KeystoneAnswerStore>();

/** The store for the current $SEAMLAB_CACHE, or undefined when disk caches are off. */
export function keystoneStore(): KeystoneAnswerStore | undefined {
  if (!diskCacheEnabled()) return undefined;
  const file = path.join(cacheDir(), 'keystone', `keystone-f${FORMAT}-${keystoneIdentity()}.json`);
  let s = stores.get(file);
  if (!s) stores.set(file, (s = new KeystoneAnswerStore(file)));
  return s;
}
