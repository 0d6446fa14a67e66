/**
 * Read-only virtual file systems: how every later stage reads a revision.
 *
 * Paths are tree-relative POSIX paths without a leading slash
 * (`arch/x86/virt/vmx/tdx/tdxcall.S`). A revision is a stack of layers: files
 * generated for a build (autoconf.h, asm-offsets.h, …) over a patch overlay
 * over the base tree on disk. Nothing here can write to the user's tree.
 * A DirFs over a tree whose every entry was recorded (a cached kernel tree)
 * checks what it reads against that record (TreeExpectation).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SeamlabError } from '../errors.js';
import { gitBlobId } from './cache.js';

export interface ReadonlyFs {
  /** File contents, or undefined if there is no such file. */
  readFile(p: string): string | undefined;
  exists(p: string): boolean;
  isDirectory(p: string): boolean;
  /** Entry names of a directory (sorted), or undefined if not a directory. */
  listDir(p: string): string[] | undefined;
  /** Human-readable description of where a path comes from (for messages). */
  describe(p: string): string;
  /**
   * A short string that changes whenever readFile(p) would return other
   * content; undefined exactly when readFile(p) is undefined. Persistent
   * caches record it for every file a result was computed from and compare
   * it on lookup (src/kbuild/env-cache.ts). Optional: a file system without it
   * is never cached on disk. Forms: "h:" content hash; "s:"/"p:" metadata
   * (DirFs) — "s:" is only valid together with dirFingerprint() of every
   * directory above the file's directory, "p:" with the file's directory too.
   */
  fingerprint?(p: string): string | undefined;
  /**
   * For a directory: a string that changes whenever an entry is added,
   * removed, renamed or replaced in it, or the directory is replaced (e.g.
   * by a symbolic link); undefined when nothing is there.
   */
  dirFingerprint?(p: string): string | undefined;
}

/** What an entry on disk is. */
export type EntryKind = 'file' | 'dir' | 'link' | 'other';

/** An entry a tree is expected to hold. A file with `blob` undefined is only expected to exist. */
export type ExpectedEntry = { kind: 'file'; size: number; mtimeMs: number; ctimeMs: number; blob: string | undefined } | { kind: 'dir' } | { kind: 'link'; target: string };

/**
 * What a DirFs expects under its root: every entry of the tree, recorded
 * when the tree was made (cached kernel trees: src/intake/tree-manifest.ts).
 * A DirFs given one throws mismatch() instead of answering from an entry
 * that differs: a file whose size, modification or change time is not the
 * recorded one and whose content does not have the recorded git blob id (a
 * file with the recorded size and times is taken as is: the cheap path every
 * read of an intact tree takes; any write changes the change time), an entry of another kind,
 * a missing entry, an entry the record does not have, a link to elsewhere,
 * a directory listing with other names or kinds.
 */
export interface TreeExpectation {
  /** The entry expected at a normalised tree path ('' is the root), or undefined when the tree has nothing there. */
  entry(p: string): ExpectedEntry | undefined;
  /** What differs in a directory's listing (names and kinds as read from disk), or undefined when it is the recorded one. */
  listingProblem(dir: string, listing: readonly { name: string; kind: EntryKind }[]): { path: string; problem: string } | undefined;
  /** The error for a path whose entry differs (`problem` completes "<path> …"). */
  mismatch(p: string, problem: string): Error;
}

/** "a file", "a directory" … for messages. */
export function kindName(k: EntryKind): string {
  return k === 'file' ? 'a file' : k === 'dir' ? 'a directory' : k === 'link' ? 'a symbolic link' : 'a special file';
}

/** The kind of a directory entry or stat. */
export function entryKind(e: fs.Dirent | fs.Stats): EntryKind {
  return e.isSymbolicLink() ? 'link' : e.isDirectory() ? 'dir' : e.isFile() ? 'file' : 'other';
}

/** Content fingerprint: for files whose metadata cannot be trusted to change (in memory, or modified just now). */
export function contentFingerprint(text: string): string {
  return 'h:' + createHash('sha1').update(text).digest('hex');
}

/**
 * A file modified less than this long before it was examined may be written
 * again within the file system's timestamp granularity (Linux stamps with a
 * coarse clock, ~4 ms) without its size or times changing: such a file is
 * fingerprinted by content, like git's "racily clean" entries.
 */
const RACY_MS = 3000;

/** `dir/name` for a real absolute directory path. */
function under(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

const NEEDS_NORMALIZING = /^\/|\/\/|\/$|(^|\/)\.\.?(\/|$)|\0/;

/** Normalises a tree-relative path; returns undefined for paths that leave the tree. */
export function normalizeTreePath(p: string): string | undefined {
  // Most paths are already normal: no empty, "." or ".." component, no leading or trailing slash.
  if (!NEEDS_NORMALIZING.test(p)) return p;
  if (p.startsWith('/') || p.includes('\0')) return undefined;
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return undefined;
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out.join('/');
}

/**
 * A directory on disk. Symlinks are followed only while they stay inside the
 * root; reads are cached (trees are immutable while seamlab runs).
 */
export class DirFs implements ReadonlyFs {
  /** The racy window (RACY_MS); tests lower it to exercise metadata fingerprints on files they just made. */
  static racyMs = RACY_MS;
  readonly root: string;
  private readonly cache = new Map<string, string | undefined>();
  /** resolve() results and directory listings, cached for the same reason as file contents. */
  private readonly resolved = new Map<string, string | undefined>();
  /** The stat of each resolved absolute path (taken before its content is read), for isFile/isDirectory and fingerprints. */
  private readonly stats = new Map<string, fs.Stats | undefined>();
  /** When each stat was taken (ms since the epoch), for the racy-file test. */
  private readonly statTimes = new Map<string, number>();
  private readonly fingerprints = new Map<string, string | undefined>();
  /** lstat of directory paths (not resolved first), when they were taken, and whether each is a real directory chain. */
  private readonly dirLstats = new Map<string, fs.Stats | undefined>();
  private readonly dirLstatTimes = new Map<string, number>();
  private readonly realDirs = new Map<string, boolean>();
  private readonly dirs = new Map<string, boolean>();
  private readonly listings = new Map<string, string[] | undefined>();
  private readonly realRoot: string;
  /** What the tree must hold, when it was recorded (see TreeExpectation). */
  readonly expect: TreeExpectation | undefined;

  constructor(root: string, opts: { expect?: TreeExpectation } = {}) {
    this.root = path.resolve(root);
    this.realRoot = fs.realpathSync(this.root);
    this.expect = opts.expect;
  }

  /** The tree path of a real absolute path inside the root. */
  private relOf(abs: string): string {
    return abs === this.realRoot ? '' : abs.slice(this.realRoot.length + 1);
  }

  /** Throws the expectation's mismatch when an entry found on disk is not of the expected kind (or, for a link, target). */
  private checkEntry(rel: string, st: fs.Stats | undefined, abs: string): void {
    const want = this.expect!.entry(rel);
    if (st === undefined) {
      if (want !== undefined) throw this.expect!.mismatch(rel, 'is missing');
      return;
    }
    const kind = entryKind(st);
    if (want === undefined) throw this.expect!.mismatch(rel, 'is not part of the extracted tree');
    if (want.kind !== kind) throw this.expect!.mismatch(rel, `is ${kindName(kind)}, expected ${kindName(want.kind)}`);
    if (want.kind === 'link') {
      const target = fs.readlinkSync(abs);
      if (target !== want.target) throw this.expect!.mismatch(rel, `links to ${target}, expected ${want.target}`);
    }
  }

  /** Absolute path on disk, or undefined when missing or escaping the root through a symlink. */
  private resolve(p: string): string | undefined {
    if (this.resolved.has(p)) return this.resolved.get(p);
    const n = normalizeTreePath(p);
    const r = n === undefined ? undefined : n === p ? this.resolveNormal(n) : this.resolve(n);
    this.resolved.set(p, r);
    return r;
  }

  /**
   * Resolves a normalised path from its resolved parent: one lstat per path,
   * and a realpath only for symbolic links (whose target must stay inside
   * the root). The result is the real path, as realpath(3) would give it.
   */
  private resolveNormal(n: string): string | undefined {
    if (n === '') return this.realRoot;
    const slash = n.lastIndexOf('/');
    const parent = slash < 0 ? this.realRoot : this.resolve(n.slice(0, slash));
    if (parent === undefined) return undefined;
    // parent is a real absolute path and the name a plain component: no normalising needed.
    const candidate = under(parent, n.slice(slash + 1));
    const t = Date.now();
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(candidate, { throwIfNoEntry: false });
    } catch {
      // ENOTDIR: the parent is a file.
      return undefined;
    }
    if (this.expect) this.checkEntry(this.relOf(candidate), st, candidate);
    if (st === undefined) return undefined;
    if (!st.isSymbolicLink()) {
      this.noteStat(candidate, st, t);
      return candidate;
    }
    let real: string;
    try {
      real = fs.realpathSync(candidate);
    } catch {
      return undefined;
    }
    if (real !== this.realRoot && !real.startsWith(this.realRoot + path.sep)) return undefined;
    return real;
  }

  private noteStat(abs: string, st: fs.Stats | undefined, t: number): void {
    if (this.stats.has(abs)) return;
    this.stats.set(abs, st);
    this.statTimes.set(abs, t);
  }

  /** The stat of a resolved path (followed symlinks), cached. */
  private statOf(abs: string): fs.Stats | undefined {
    if (!this.stats.has(abs)) {
      const t = Date.now();
      let st: fs.Stats | undefined;
      try {
        st = fs.statSync(abs, { throwIfNoEntry: false });
      } catch {
        st = undefined;
      }
      this.noteStat(abs, st, t);
    }
    return this.stats.get(abs);
  }

  readFile(p: string): string | undefined {
    if (this.cache.has(p)) return this.cache.get(p);
    const abs = this.resolve(p);
    let text: string | undefined;
    let bytes: Buffer | undefined;
    // The stat comes first: a fingerprint taken from it can only be older than the content.
    const st = abs === undefined ? undefined : this.statOf(abs);
    try {
      if (abs !== undefined && st?.isFile()) {
        if (this.expect) bytes = fs.readFileSync(abs);
        else text = fs.readFileSync(abs, 'utf8');
      }
    } catch {
      text = undefined;
    }
    if (bytes !== undefined) {
      this.checkContent(this.relOf(abs!), st!, bytes);
      text = bytes.toString('utf8');
    }
    this.cache.set(p, text);
    return text;
  }

  /** A file read from a recorded tree: as recorded by size and times, or else by blob id. */
  private checkContent(rel: string, st: fs.Stats, bytes: Buffer): void {
    const want = this.expect!.entry(rel);
    if (want?.kind !== 'file') throw this.expect!.mismatch(rel, want === undefined ? 'is not part of the extracted tree' : `is a file, expected ${kindName(want.kind)}`);
    if (want.blob === undefined || (st.size === want.size && st.mtimeMs === want.mtimeMs && st.ctimeMs === want.ctimeMs)) return;
    const blob = gitBlobId(bytes);
    if (blob !== want.blob) throw this.expect!.mismatch(rel, `differs from what setup extracted (blob ${blob}, expected ${want.blob})`);
  }

  /**
   * Size, modification and change times and inode of the file as it was
   * when first examined (by content when it had been modified within
   * RACY_MS of that moment). Any write changes the change time, so a
   * fingerprint cannot stay the same over a change short of a clock going
   * backwards.
   *
   * Form "s:" (the common case) takes one lstat of the path: it says nothing
   * about whether the directories above are still real directories inside
   * the tree, which is what dirFingerprint() of each of them — recorded
   * alongside — answers (a directory replaced by a symbolic link, or an
   * entry replaced, changes the parent's times). The file's own directory
   * needs no check: its entry in its parent is covered by the parent's
   * fingerprint. A path that goes through a symbolic link gets form "p:",
   * resolved component by component as reads are.
   */
  fingerprint(p: string): string | undefined {
    const n = normalizeTreePath(p);
    if (n === undefined) return undefined;
    if (this.fingerprints.has(n)) return this.fingerprints.get(n);
    const fp = this.fingerprintOf(n);
    this.fingerprints.set(n, fp);
    return fp;
  }

  private fingerprintOf(n: string): string | undefined {
    if (n === '') return undefined;
    const plain = under(this.realRoot, n);
    let fast: boolean;
    if (this.resolved.has(n)) {
      // Resolved already (it was read): the real path tells whether a symbolic link is on the way.
      fast = this.resolved.get(n) === plain;
    } else {
      const slash = n.lastIndexOf('/');
      const dir = slash < 0 ? '' : n.slice(0, slash);
      // The file's own directory is not examined (that is the saving), unless a recorded
      // dirFingerprint() already did and found a symbolic link.
      fast = dir === '' || (!this.dirLstats.get(dir)?.isSymbolicLink() && this.realDirChain(dir.includes('/') ? dir.slice(0, dir.lastIndexOf('/')) : ''));
    }
    let abs: string | undefined;
    let st: fs.Stats | undefined;
    if (fast) {
      if (this.stats.has(plain)) st = this.stats.get(plain);
      else {
        const t = Date.now();
        try {
          st = fs.lstatSync(plain, { throwIfNoEntry: false });
        } catch {
          st = undefined;
        }
        if (st?.isSymbolicLink()) fast = false;
        else this.noteStat(plain, st, t);
      }
      abs = plain;
    }
    if (!fast) {
      abs = this.resolve(n);
      st = abs === undefined ? undefined : this.statOf(abs);
    }
    if (abs === undefined || !st?.isFile()) return undefined;
    const seen = this.statTimes.get(abs) ?? Date.now();
    if (Math.max(st.mtimeMs, st.ctimeMs) > seen - DirFs.racyMs) {
      const text = this.readFile(n);
      return text === undefined ? undefined : contentFingerprint(text);
    }
    return `${fast ? 's' : 'p'}:${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`;
  }

  /** lstat of a directory path as written under the root (components before it followed), cached. */
  private dirLstat(n: string): fs.Stats | undefined {
    if (this.dirLstats.has(n)) return this.dirLstats.get(n);
    const t = Date.now();
    let st: fs.Stats | undefined;
    try {
      st = n === '' ? fs.statSync(this.realRoot) : fs.lstatSync(under(this.realRoot, n), { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    this.dirLstats.set(n, st);
    this.dirLstatTimes.set(n, t);
    return st;
  }

  /** Whether `n` and every directory above it are real directories (no symbolic link on the way). */
  private realDirChain(n: string): boolean {
    if (n === '') return true;
    let ok = this.realDirs.get(n);
    if (ok === undefined) {
      const st = this.dirLstat(n);
      ok = st !== undefined && st.isDirectory() && !st.isSymbolicLink() && this.realDirChain(n.includes('/') ? n.slice(0, n.lastIndexOf('/')) : '');
      this.realDirs.set(n, ok);
    }
    return ok;
  }

  /**
   * Inode and times of a directory ("D:"), or of the symbolic link or file
   * that replaced it; for a directory changed within RACY_MS, a digest of
   * its entries and their types ("L:").
   */
  dirFingerprint(p: string): string | undefined {
    const n = normalizeTreePath(p);
    if (n === undefined) return undefined;
    const st = this.dirLstat(n);
    if (st === undefined) return undefined;
    const kind = st.isSymbolicLink() ? 'S' : st.isDirectory() ? 'D' : 'F';
    if (kind === 'D' && Math.max(st.mtimeMs, st.ctimeMs) > (this.dirLstatTimes.get(n) ?? Date.now()) - DirFs.racyMs) {
      try {
        const entries = fs.readdirSync(n === '' ? this.realRoot : under(this.realRoot, n), { withFileTypes: true });
        const list = entries.map((e) => `${e.name}:${e.isDirectory() ? 'd' : e.isSymbolicLink() ? 'l' : e.isFile() ? 'f' : 'o'}`).sort();
        return `L:${st.ino}:` + createHash('sha1').update(list.join('/')).digest('base64');
      } catch {
        return undefined;
      }
    }
    return `${kind}:${st.ino}:${st.mtimeMs}:${st.ctimeMs}`;
  }

  exists(p: string): boolean {
    return this.resolve(p) !== undefined;
  }

  isDirectory(p: string): boolean {
    const known = this.dirs.get(p);
    if (known !== undefined) return known;
    const abs = this.resolve(p);
    const d = abs !== undefined && this.statOf(abs)?.isDirectory() === true;
    this.dirs.set(p, d);
    return d;
  }

  listDir(p: string): string[] | undefined {
    if (this.listings.has(p)) return this.listings.get(p)?.slice();
    const abs = this.resolve(p);
    let entries: fs.Dirent[] | undefined;
    try {
      entries = abs === undefined ? undefined : fs.readdirSync(abs, { withFileTypes: true });
    } catch {
      entries = undefined;
    }
    let names: string[] | undefined;
    if (entries !== undefined) {
      names = entries.map((e) => e.name).sort();
      if (this.expect) this.checkListing(this.relOf(abs!), entries);
      // Entries that are not symlinks resolve to abs/name inside the root:
      // remember that (and whether they are directories) without more syscalls.
      const n = normalizeTreePath(p);
      for (const e of entries) {
        if (e.isSymbolicLink() || n === undefined) continue;
        const child = n === '' ? e.name : `${n}/${e.name}`;
        if (!this.resolved.has(child)) this.resolved.set(child, under(abs!, e.name));
        if (!this.dirs.has(child)) this.dirs.set(child, e.isDirectory());
      }
    }
    this.listings.set(p, names);
    return names?.slice();
  }

  /** A directory listed in a recorded tree: the recorded names, each of the recorded kind. */
  private checkListing(rel: string, entries: fs.Dirent[]): void {
    const problem = this.expect!.listingProblem(rel, entries.map((e) => ({ name: e.name, kind: entryKind(e) })));
    if (problem) throw this.expect!.mismatch(problem.path, problem.problem);
  }

  describe(p: string): string {
    return path.join(this.root, p);
  }
}

/** An in-memory layer: files added or replaced, and paths deleted, over a base. */
export class OverlayFs implements ReadonlyFs {
  private readonly files = new Map<string, string>();
  private readonly deleted = new Set<string>();
  private readonly fingerprints = new Map<string, string>();

  constructor(readonly base: ReadonlyFs, readonly label = 'overlay') {}

  private key(p: string): string {
    const n = normalizeTreePath(p);
    if (n === undefined) {
      throw new SeamlabError('PATH_OUTSIDE_TREE', `path ${JSON.stringify(p)} leaves the tree`, 'use a path relative to the kernel tree root without ".." components');
    }
    return n;
  }

  /** Adds or replaces a file in this layer. */
  set(p: string, content: string): void {
    const k = this.key(p);
    this.files.set(k, content);
    this.deleted.delete(k);
    this.fingerprints.delete(k);
  }

  delete(p: string): void {
    const k = this.key(p);
    this.files.delete(k);
    this.deleted.add(k);
    this.fingerprints.delete(k);
  }

  /** Paths this layer adds or replaces (sorted). */
  changedPaths(): string[] {
    return [...this.files.keys()].sort();
  }

  deletedPaths(): string[] {
    return [...this.deleted].sort();
  }

  readFile(p: string): string | undefined {
    const k = normalizeTreePath(p);
    if (k === undefined) return undefined;
    if (this.files.has(k)) return this.files.get(k);
    if (this.deleted.has(k)) return undefined;
    return this.base.readFile(k);
  }

  /** This layer's files by content; the rest as the base fingerprints them (by content when it cannot). */
  fingerprint(p: string): string | undefined {
    const k = normalizeTreePath(p);
    if (k === undefined) return undefined;
    const own = this.files.get(k);
    if (own !== undefined) {
      let fp = this.fingerprints.get(k);
      if (fp === undefined) this.fingerprints.set(k, (fp = contentFingerprint(own)));
      return fp;
    }
    if (this.deleted.has(k)) return undefined;
    if (this.base.fingerprint) return this.base.fingerprint(k);
    const text = this.base.readFile(k);
    return text === undefined ? undefined : contentFingerprint(text);
  }

  dirFingerprint(p: string): string | undefined {
    const k = normalizeTreePath(p);
    return k === undefined ? undefined : this.base.dirFingerprint?.(k);
  }

  exists(p: string): boolean {
    const k = normalizeTreePath(p);
    if (k === undefined) return false;
    if (this.files.has(k)) return true;
    if (this.deleted.has(k)) return false;
    return this.base.exists(k) || this.isDirectory(k);
  }

  isDirectory(p: string): boolean {
    const k = normalizeTreePath(p);
    if (k === undefined) return false;
    const prefix = k === '' ? '' : k + '/';
    for (const f of this.files.keys()) if (f.startsWith(prefix)) return true;
    return this.base.isDirectory(k);
  }

  listDir(p: string): string[] | undefined {
    const k = normalizeTreePath(p);
    if (k === undefined) return undefined;
    const prefix = k === '' ? '' : k + '/';
    const names = new Set(this.base.listDir(k) ?? []);
    let any = this.base.isDirectory(k);
    for (const f of this.files.keys()) {
      if (f.startsWith(prefix)) {
        names.add(f.slice(prefix.length).split('/')[0]!);
        any = true;
      }
    }
    for (const d of this.deleted) if (d.startsWith(prefix) && !d.slice(prefix.length).includes('/')) names.delete(d.slice(prefix.length));
    return any ? [...names].sort() : undefined;
  }

  describe(p: string): string {
    const k = normalizeTreePath(p) ?? p;
    return this.files.has(k) ? `${this.label}:${k}` : this.base.describe(k);
  }
}
