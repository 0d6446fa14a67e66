/**
 * `resolveRevision(spec)`: a kernel tree plus patches, as a read-only file
 * system, with provenance and the TDX entry points it defines.
 *
 * Resolved revisions are cached per process by spec, base tree and the
 * content hash of every patch file; base trees are read through one DirFs
 * each, so their reads and the .S scan are shared by every revision built on
 * them.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { applyLoadedPatch, type LoadedPatch } from './apply.js';
import { discoverFunctions } from './discover.js';
import { requireTree } from './kernel-cache.js';
import { cacheDir } from '../support/cache.js';
import { parsePatchText } from './patch-file.js';
import { checkPatchFileSize } from './path-safety.js';
import { BUILTIN_REVISIONS, parseRevisionSpec, type BaseTreeName } from './spec.js';
import type { PatchApplication, Provenance, Revision } from './types.js';
import { DirFs, OverlayFs, type TreeExpectation } from '../support/vfs.js';
import { step } from '../support/progress.js';

export { parseRevisionSpec, BUILTIN_REVISIONS } from './spec.js';

export interface ResolveOptions {
  /** Kernel cache directory (default: $SEAMLAB_CACHE or ~/.cache/seamlab). */
  cache?: string;
  /** Directory relative paths in the spec are taken from (default: process.cwd()). */
  cwd?: string;
  /** Largest fuzz a patch hunk may need, as GNU patch's -F (default 2; 0 = --no-fuzz). */
  maxFuzz?: number;
}

export interface BuiltinRevisionInfo {
  name: string;
  description: string;
  /** The Debian package behind the base tree. */
  basePackage: string;
  base: BaseTreeName;
  /** Patch files (package-relative) applied on top, in order. */
  patches: string[];
}

/** The built-in revisions (no tree access needed). */
export function listBuiltinRevisions(): BuiltinRevisionInfo[] {
  return BUILTIN_REVISIONS.map((b) => ({ name: b.name, description: b.description, base: b.base, basePackage: `linux-source-${b.base.slice('linux-'.length)}`, patches: [...b.patches] }));
}

const dirFsCache = new Map<string, DirFs>();
const revisionCache = new Map<string, Revision>();

/** The DirFs of a tree directory; a cached kernel tree's checks every read against its manifest. */
function dirFs(dir: string, expect?: TreeExpectation): DirFs {
  let d = dirFsCache.get(dir);
  if (!d || d.expect !== expect) {
    d = new DirFs(dir, { expect });
    dirFsCache.set(dir, d);
  }
  return d;
}

/** Drops cached revisions and tree reads (for tests that change trees on disk). */
export function clearRevisionCache(): void {
  revisionCache.clear();
  dirFsCache.clear();
}

export function resolveRevision(spec: string, opts: ResolveOptions = {}): Revision {
  const cwd = opts.cwd ?? process.cwd();
  const parsed = parseRevisionSpec(spec, cwd);
  let baseDir: string;
  let base: Provenance['base'];
  let expect: TreeExpectation | undefined;
  if (parsed.base.kind === 'builtin') {
    const t = requireTree(parsed.base.name, opts.cache ?? cacheDir());
    baseDir = t.dir;
    expect = t.expect;
    base = { kind: 'builtin', name: parsed.base.name, package: t.manifest.package, version: t.manifest.version, tdxcallBlob: t.manifest.tdxcallBlob, dir: t.dir };
  } else {
    baseDir = parsed.base.dir;
    base = { kind: 'tree', dir: baseDir };
  }

  // Read every patch once (size-capped), hash it for the cache key.
  const texts = parsed.patches.map((p) => {
    checkPatchFileSize(p.file, p.display);
    const buf = fs.readFileSync(p.file);
    return { ...p, raw: buf.toString('latin1'), hash: createHash('sha256').update(buf).digest('hex') };
  });
  const key = JSON.stringify([spec, path.resolve(baseDir), texts.map((t) => [t.file, t.hash]), opts.maxFuzz ?? null]);
  const cached = revisionCache.get(key);
  if (cached) return cached;

  const baseFs = dirFs(path.resolve(baseDir), expect);
  const loaded: LoadedPatch[] = [];
  const skipped: NonNullable<Provenance['skipped']> = [];
  const fileNotes = new Map<LoadedPatch, string[]>();
  for (const t of texts) {
    const lf = parsePatchText(t.raw, t.display);
    loaded.push(...lf.patches);
    skipped.push(...lf.skipped);
    if (lf.notes.length && lf.patches[0]) fileNotes.set(lf.patches[0], lf.notes);
  }

  const overlay = new OverlayFs(baseFs, 'patches');
  const baseName = parsed.base.kind === 'builtin' ? parsed.base.name : baseDir;
  const patches: PatchApplication[] = loaded.map((lp, k) => {
    const a = applyLoadedPatch({ root: baseFs.root, baseName, overlay, ...(opts.maxFuzz !== undefined ? { maxFuzz: opts.maxFuzz } : {}) }, lp, loaded.slice(k + 1));
    const extra = fileNotes.get(lp);
    if (extra) a.notes = [...extra, ...(a.notes ?? [])];
    return a;
  });

  const files = loaded.length ? overlay : baseFs;
  const functions = step(`finding the TDX entry points of ${spec}`, () => discoverFunctions(files, { cacheKey: baseFs.root, base: baseFs, changed: overlay.changedPaths(), deleted: overlay.deletedPaths() }));
  const provenance: Provenance = { spec, base, patches, ...(skipped.length ? { skipped } : {}) };
  const rev: Revision = { name: spec, files, provenance, functions };
  revisionCache.set(key, rev);
  return rev;
}
