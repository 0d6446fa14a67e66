/**
 * The persistent cache of generated build environments (autoconf.h, the
 * asm-generic wrappers, asm-offsets.h, Kbuild's flags per file) and of
 * preprocessed files: what makes the first build in a process nearly as fast
 * as the tenth.
 *
 * It works like ccache's direct mode. The generator reads the revision
 * through a RecordingFs, which notes every question asked of the file
 * system and its answer: the fingerprint of every file read (a missing file
 * is recorded as missing — creating it would change the result), the
 * fingerprints of the directories those fingerprints rely on (vfs.ts), and
 * the answers to exists / isDirectory / listDir. An entry stores those
 * inputs with the result; a lookup asks the same questions again and uses
 * the entry only if every answer is the same. So an entry cannot be stale:
 * editing a Kconfig file, a Makefile, a header, or a patch changes a
 * fingerprint, and the lookup misses.
 *
 * The entry's key names what is not a file of the revision: the profile or
 * the .config text, where the files come from (tree directory, patch
 * layers), ENV_GENERATOR_VERSION and the identity of seamlab's own code (the
 * bundle's or the source files' size and times), so that a changed seamlab
 * never reads an old seamlab's results. Node's version is not in the key:
 * the generator is deterministic JavaScript whose output does not depend on
 * it.
 *
 * Files, under $SEAMLAB_CACHE/cpp-env/, named by the sha256 of the key:
 * <key>.env.json (one per revision layout and configuration, ~300 KB, most
 * of it the ~3,000 Kconfig/header/Makefile inputs), <key>.flags.json
 * (Kbuild's flags for one .S file, ~2 KB) and <key>.cpp.json (one
 * preprocessed file with its source map and the headers it read, 1–500 KB).
 * Writes go to a temporary file renamed into place; every entry starts with
 * the digest of the rest (writeCheckedFile), checked on every lookup, so an
 * entry that is damaged, truncated, or cannot be read or parsed is a miss
 * (and is rewritten), never an error and never used; the directory is kept within
 * ENV_CACHE_LIMITS, dropping the entries used longest ago.
 * SEAMLAB_NO_DISK_CACHE=1 turns the persistent caches off.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, diskCacheEnabled, readCheckedFile, writeCheckedFile } from '../support/cache.js';
import { DirFs, normalizeTreePath, OverlayFs, type ReadonlyFs } from '../support/vfs.js';

/**
 * Bump when the generator's output for the same inputs changes in a way the
 * code identity below would not catch (it catches every edit of the source
 * files and every rebuilt bundle; this is for installs that keep times).
 */
export const ENV_GENERATOR_VERSION = 1;

/** Entry format (the JSON shape of this file's entries; 2: behind a digest line). */
const FORMAT = 2;

export function envCacheDir(): string {
  return path.join(cacheDir(), 'cpp-env');
}

// ---- recording ------------------------------------------------------------

/** One question asked of the file system and its answer: file fingerprint, directory fingerprint, exists, isDirectory, listDir. */
export type RecordedInput = ['f' | 'D', string, string | null] | ['e' | 'd', string, boolean] | ['l', string, string | null];

/** A directory listing, short (include/linux has ~1,000 entries). */
function listingDigest(names: string[] | undefined): string | null {
  return names === undefined ? null : createHash('sha1').update(names.join('/')).digest('base64');
}

/** A ReadonlyFs that records every question asked of the one below it. */
export class RecordingFs implements ReadonlyFs {
  private readonly seen = new Map<string, RecordedInput>();

  constructor(readonly base: ReadonlyFs) {}

  private note(input: RecordedInput): void {
    const k = `${input[0]}\0${input[1]}`;
    if (!this.seen.has(k)) this.seen.set(k, input);
  }

  /** What was asked so far, in order. */
  inputs(): RecordedInput[] {
    return [...this.seen.values()];
  }

  readFile(p: string): string | undefined {
    // Content first: a DirFs fingerprints from the stat taken before the read.
    const text = this.base.readFile(p);
    this.noteFile(p);
    return text;
  }

  fingerprint(p: string): string | undefined {
    return this.noteFile(p);
  }

  dirFingerprint(p: string): string | undefined {
    const fp = this.base.dirFingerprint?.(p);
    this.note(['D', p, fp ?? null]);
    return fp;
  }

  /**
   * Records a file's fingerprint, preceded by the directory fingerprints a
   * metadata fingerprint relies on (vfs.ts): every directory above the
   * file's directory for "s:", and the file's directory too for "p:".
   */
  private noteFile(p: string): string | undefined {
    const fp = this.base.fingerprint!(p);
    if (fp !== undefined && (fp.startsWith('s:') || fp.startsWith('p:')) && this.base.dirFingerprint) {
      const parts = (normalizeTreePath(p) ?? p).split('/');
      parts.pop();
      const upTo = fp.startsWith('s:') ? parts.length - 1 : parts.length;
      for (let k = 0; k <= upTo; k++) {
        const dir = parts.slice(0, k).join('/');
        if (!this.seen.has(`D\0${dir}`)) this.note(['D', dir, this.base.dirFingerprint(dir) ?? null]);
      }
    }
    this.note(['f', p, fp ?? null]);
    return fp;
  }

  exists(p: string): boolean {
    const r = this.base.exists(p);
    this.note(['e', p, r]);
    return r;
  }

  isDirectory(p: string): boolean {
    const r = this.base.isDirectory(p);
    this.note(['d', p, r]);
    return r;
  }

  listDir(p: string): string[] | undefined {
    const r = this.base.listDir(p);
    this.note(['l', p, listingDigest(r)]);
    return r;
  }

  describe(p: string): string {
    return this.base.describe(p);
  }
}

/** Whether `files` still answers every recorded question the same way. */
export function inputsUnchanged(files: ReadonlyFs, inputs: readonly RecordedInput[]): boolean {
  for (const [op, p, answer] of inputs) {
    switch (op) {
      case 'f':
        if ((files.fingerprint!(p) ?? null) !== answer) return false;
        break;
      case 'D':
        if ((files.dirFingerprint?.(p) ?? null) !== answer) return false;
        break;
      case 'e':
        if (files.exists(p) !== answer) return false;
        break;
      case 'd':
        if (files.isDirectory(p) !== answer) return false;
        break;
      case 'l': {
        if (listingDigest(files.listDir(p)) !== answer) return false;
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

/**
 * Where a file system's files come from, for the key: the tree directory
 * and each layer's changed and deleted paths (their contents are checked
 * through the fingerprints). Undefined for a file system that cannot be
 * fingerprinted — it is then never cached on disk.
 */
export function fsIdentity(files: ReadonlyFs): string | undefined {
  if (files instanceof DirFs) return `dir:${files.root}`;
  if (files instanceof OverlayFs) {
    const base = fsIdentity(files.base);
    if (base === undefined) return undefined;
    return `overlay:${files.label}:${JSON.stringify(files.changedPaths())}:${JSON.stringify(files.deletedPaths())}(${base})`;
  }
  return undefined;
}

// ---- seamlab's own identity ---------------------------------------------------

let codeId: string | undefined;

/**
 * The identity of the running seamlab code: size, times and inode of the
 * bundle this module is part of, or — running from TypeScript sources —
 * of every file under src/. A rebuilt bundle or an edited source file
 * gives new keys.
 */
export function codeIdentity(): string {
  if (codeId !== undefined) return codeId;
  const self = fileURLToPath(import.meta.url);
  const h = createHash('sha256');
  const add = (file: string): void => {
    try {
      const st = fs.statSync(file);
      h.update(`${file}\0${st.size}\0${st.mtimeMs}\0${st.ctimeMs}\0${st.ino}\n`);
    } catch {
      h.update(`${file}\0missing\n`);
    }
  };
  if (self.endsWith('.ts')) {
    // src/kbuild/env-cache.ts → every source file under src/.
    const walk = (dir: string): void => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else add(p);
      }
    };
    walk(path.resolve(path.dirname(self), '..'));
  } else {
    add(self);
  }
  codeId = h.digest('hex');
  return codeId;
}

// ---- entries ------------------------------------------------------------------

/** An entry as stored (behind its digest line, support/cache.ts). */
interface StoredEntry<T> {
  format: number;
  key: string;
  inputs: RecordedInput[];
  /** sha256 of JSON.stringify(result). */
  digest: string;
  result: T;
}

export interface CacheHit<T> {
  result: T;
  digest: string;
}

/** A persistent cache slot: a key string (hashed to a file name) and its entry. */
export class EnvCacheSlot<T> {
  readonly file: string;

  constructor(
    readonly key: string,
    kind: 'env' | 'flags' | 'cpp',
  ) {
    this.file = path.join(envCacheDir(), `${createHash('sha256').update(key).digest('hex')}.${kind}.json`);
  }

  /** The stored result if the entry exists, matches its digest, and every input is unchanged in `files`. */
  lookup(files: ReadonlyFs, valid: (result: unknown) => result is T): CacheHit<T> | undefined {
    const text = readCheckedFile(this.file);
    if (text === undefined) return undefined;
    let entry: StoredEntry<unknown>;
    try {
      entry = JSON.parse(text) as StoredEntry<unknown>;
    } catch {
      return undefined;
    }
    try {
      if (entry === null || typeof entry !== 'object' || entry.format !== FORMAT || entry.key !== this.key) return undefined;
      if (!Array.isArray(entry.inputs) || typeof entry.digest !== 'string' || !valid(entry.result)) return undefined;
      if (!inputsUnchanged(files, entry.inputs)) return undefined;
    } catch {
      // A malformed entry (wrong shapes inside) is a miss like any other.
      return undefined;
    }
    // Used now: pruning deletes the entries used longest ago.
    try {
      const now = new Date();
      fs.utimesSync(this.file, now, now);
    } catch {
      // Read-only cache directory: pruning order is all that is lost.
    }
    return { result: entry.result, digest: entry.digest };
  }

  /** Stores a result with its inputs; returns the result's digest. */
  store(inputs: RecordedInput[], result: T): string {
    const json = JSON.stringify(result);
    const digest = createHash('sha256').update(json).digest('hex');
    const entry = `{"format":${FORMAT},"key":${JSON.stringify(this.key)},"digest":"${digest}","inputs":${JSON.stringify(inputs)},"result":${json}}\n`;
    if (writeCheckedFile(this.file, entry)) pruneEnvCache(path.dirname(this.file));
    return digest;
  }
}

/**
 * The cache directory's bounds. Every seamlab build (and every edit of its
 * sources) and every tree directory makes new entries; beyond these, the
 * entries used longest ago are deleted (a deleted entry is a miss).
 */
export const ENV_CACHE_LIMITS = { maxBytes: 64 << 20, maxEntries: 1000 };

/** Deletes the entries used longest ago (a hit touches its file) beyond ENV_CACHE_LIMITS, and temporary files left by interrupted writes. Called after each write (a miss). */
export function pruneEnvCache(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const now = Date.now();
  const entries: { file: string; size: number; mtime: number }[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      const st = fs.statSync(file);
      if (name.endsWith('.tmp')) {
        if (now - st.mtimeMs > 3600_000) fs.rmSync(file, { force: true });
      } else if (name.endsWith('.json')) entries.push({ file, size: st.size, mtime: st.mtimeMs });
    } catch {
      // Removed meanwhile by another process.
    }
  }
  let bytes = entries.reduce((n, e) => n + e.size, 0);
  let count = entries.length;
  if (bytes <= ENV_CACHE_LIMITS.maxBytes && count <= ENV_CACHE_LIMITS.maxEntries) return;
  entries.sort((a, b) => a.mtime - b.mtime);
  // Down to three quarters of the limits, so that pruning is not needed again at the next write.
  for (const e of entries) {
    if (bytes <= ENV_CACHE_LIMITS.maxBytes * 0.75 && count <= ENV_CACHE_LIMITS.maxEntries * 0.75) break;
    try {
      fs.rmSync(e.file, { force: true });
    } catch {
      continue;
    }
    bytes -= e.size;
    count--;
  }
}

/** The key of a revision's environment: null when the file system cannot be cached on disk. */
export function environmentKey(files: ReadonlyFs, configKey: string): string | undefined {
  if (!diskCacheEnabled()) return undefined;
  const id = fsIdentity(files);
  if (id === undefined) return undefined;
  return JSON.stringify({ generator: ENV_GENERATOR_VERSION, code: codeIdentity(), config: configKey, files: id });
}
