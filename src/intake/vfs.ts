/**
 * Read-only virtual file systems: how every later stage reads a revision.
 *
 * Paths are tree-relative POSIX paths without a leading slash
 * (`arch/x86/virt/vmx/tdx/tdxcall.S`). A revision is a stack of layers: files
 * generated for a build (autoconf.h, asm-offsets.h, …) over a patch overlay
 * over the base tree on disk. Nothing here can write to the user's tree.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SeamlabError } from '../errors.js';

export interface ReadonlyFs {
  /** File contents, or undefined if there is no such file. */
  readFile(p: string): string | undefined;
  exists(p: string): boolean;
  isDirectory(p: string): boolean;
  /** Entry names of a directory (sorted), or undefined if not a directory. */
  listDir(p: string): string[] | undefined;
  /** Human-readable description of where a path comes from (for messages). */
  describe(p: string): string;
}

/** Normalises a tree-relative path; returns undefined for paths that leave the tree. */
export function normalizeTreePath(p: string): string | undefined {
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
  readonly root: string;
  private readonly cache = new Map<string, string | undefined>();
  /** resolve() results and directory listings, cached for the same reason as file contents. */
  private readonly resolved = new Map<string, string | undefined>();
  private readonly dirs = new Map<string, boolean>();
  private readonly listings = new Map<string, string[] | undefined>();
  private readonly realRoot: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.realRoot = fs.realpathSync(this.root);
  }

  /** Absolute path on disk, or undefined when missing or escaping the root through a symlink. */
  private resolve(p: string): string | undefined {
    if (this.resolved.has(p)) return this.resolved.get(p);
    const r = this.resolveUncached(p);
    this.resolved.set(p, r);
    return r;
  }

  private resolveUncached(p: string): string | undefined {
    const n = normalizeTreePath(p);
    if (n === undefined) return undefined;
    const abs = path.join(this.root, n);
    let real: string;
    try {
      real = fs.realpathSync(abs);
    } catch {
      return undefined;
    }
    if (real !== this.realRoot && !real.startsWith(this.realRoot + path.sep)) return undefined;
    return real;
  }

  readFile(p: string): string | undefined {
    if (this.cache.has(p)) return this.cache.get(p);
    const abs = this.resolve(p);
    let text: string | undefined;
    try {
      text = abs !== undefined && fs.statSync(abs).isFile() ? fs.readFileSync(abs, 'utf8') : undefined;
    } catch {
      text = undefined;
    }
    this.cache.set(p, text);
    return text;
  }

  exists(p: string): boolean {
    return this.resolve(p) !== undefined;
  }

  isDirectory(p: string): boolean {
    const known = this.dirs.get(p);
    if (known !== undefined) return known;
    const abs = this.resolve(p);
    let d: boolean;
    try {
      d = abs !== undefined && fs.statSync(abs).isDirectory();
    } catch {
      d = false;
    }
    this.dirs.set(p, d);
    return d;
  }

  listDir(p: string): string[] | undefined {
    if (this.listings.has(p)) return this.listings.get(p)?.slice();
    const abs = this.resolve(p);
    let names: string[] | undefined;
    try {
      if (abs !== undefined) {
        const entries = fs.readdirSync(abs, { withFileTypes: true });
        names = entries.map((e) => e.name).sort();
        // Entries that are not symlinks resolve to abs/name inside the root:
        // remember that (and whether they are directories) without more syscalls.
        const n = normalizeTreePath(p);
        for (const e of entries) {
          if (e.isSymbolicLink() || n === undefined) continue;
          const child = n === '' ? e.name : `${n}/${e.name}`;
          if (!this.resolved.has(child)) this.resolved.set(child, path.join(abs, e.name));
          if (!this.dirs.has(child)) this.dirs.set(child, e.isDirectory());
        }
      }
    } catch {
      names = undefined;
    }
    this.listings.set(p, names);
    return names?.slice();
  }

  describe(p: string): string {
    return path.join(this.root, p);
  }
}

/** An in-memory layer: files added or replaced, and paths deleted, over a base. */
export class OverlayFs implements ReadonlyFs {
  private readonly files = new Map<string, string>();
  private readonly deleted = new Set<string>();

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
  }

  delete(p: string): void {
    const k = this.key(p);
    this.files.delete(k);
    this.deleted.add(k);
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
