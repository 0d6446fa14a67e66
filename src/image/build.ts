/**
 * Building images: preprocess (src/cpp) → assemble (src/gas) → link
 * (link.ts). A build gives the Image, the listing (as data) and the
 * assembler's warnings. `buildImage` is cached twice per process:
 *
 * - by (file system object, file, profile): file systems of revisions are
 *   immutable while seamlab runs, so a second build of the same revision
 *   returns the same Image without doing anything;
 * - by a hash of the preprocessed text and its source map: a revision that
 *   preprocesses to the same text (another spec naming the same tree) skips
 *   assembling and linking.
 *
 * A second build of the same inputs gives the same `BuildResult` object.
 */
import { createHash } from 'node:crypto';
import type { PreprocessedSource } from '../cpp/types.js';
import { SeamlabError } from '../errors.js';
import type { Revision } from '../intake/types.js';
import type { ReadonlyFs } from '../support/vfs.js';
import { assemble, type AsmLimits, type AsmWarning, type ObjectFile } from '../gas/assemble.js';
import type { InstructionLayer } from '../gas/layer.js';
import { flushEncodeMemo, prepareEncoder } from '../encode/x86.js';
import { defaultPreprocess } from './cpp-bridge.js';
import { step } from '../support/progress.js';
import { extableTypeNames } from './extable.js';
import { linkObject, placeSections } from './link.js';
import { listingOf, type Listing } from './listing.js';
import type { Image } from './types.js';

export type PreprocessFn = (files: ReadonlyFs, file: string, opts: { profile: string; config?: string }) => PreprocessedSource;

export interface BuildOptions {
  profile?: string;
  /** A kernel .config (its text, or a path) used instead of the profile. */
  config?: string;
  /** The preprocessor (default: seamlab's own, src/cpp). */
  preprocess?: PreprocessFn;
  layer?: InstructionLayer;
  limits?: Partial<AsmLimits>;
}

/** What a build gives: the image, the statement listing (render with src/report/listing.ts), the assembler's warnings, and the preprocessed source it was built from. */
export interface BuildResult {
  image: Image;
  listing: Listing;
  warnings: AsmWarning[];
  source: PreprocessedSource;
}

let byFs = new WeakMap<ReadonlyFs, Map<string, BuildResult>>();
const preprocessorIds = new WeakMap<PreprocessFn, number>();

let nextPreprocessorId = 0;

/** Different preprocessors may give different text for one file: the per-fs cache keeps them apart. */
function preprocessorId(fn: PreprocessFn): number {
  let id = preprocessorIds.get(fn);
  if (id === undefined) preprocessorIds.set(fn, (id = nextPreprocessorId++));
  return id;
}
const byContent = new Map<string, BuildResult>();

/** Statistics for tests and the benchmark. */
export const buildStats = { preprocessed: 0, assembled: 0, fsHits: 0, contentHits: 0 };

/** Forgets every built image (the next build preprocesses, assembles and links again). */
export function clearImageCache(): void {
  byContent.clear();
  byFs = new WeakMap();
}

function contentKey(src: PreprocessedSource, file: string, profile: string, typeNames: Map<number, string>): string {
  const h = createHash('sha256');
  h.update(`${file}\0${profile}\0${JSON.stringify([...typeNames])}\0`);
  for (let i = 0; i < src.lines.length; i++) {
    const o = src.origins[i]!;
    // The whole location: the image's byte map carries it.
    h.update(`${src.lines[i]}\0${o.pos.file}:${o.pos.line}\0${o.includeStack.map((p) => `${p.file}:${p.line}`).join(',')}\0${o.cppStack.map((m) => `${m.macro}@${m.at.file}:${m.at.line}`).join(',')}\n`);
  }
  return h.digest('hex');
}

/** Preprocesses, assembles and links one .S file of a revision's file system. */
export function buildImage(files: ReadonlyFs, file: string, opts: BuildOptions = {}): BuildResult {
  const profile = opts.profile ?? 'default';
  const preprocess = opts.preprocess ?? defaultPreprocess;
  // A custom encoder layer or limits are for tests: never cached.
  const custom = opts.layer !== undefined || opts.limits !== undefined;
  const configKey = opts.config === undefined ? '' : createHash('sha256').update(opts.config).digest('hex');
  const fsKey = `${preprocessorId(preprocess)}\0${file}\0${profile}\0${configKey}`;
  // What the image and messages call the configuration.
  const label = opts.config === undefined ? profile : `.config ${opts.config.includes('\n') ? '(text)' : opts.config}`;
  let perFs = byFs.get(files);
  if (!custom) {
    const hit = perFs?.get(fsKey);
    if (hit) {
      buildStats.fsHits++;
      return hit;
    }
  }
  // The default encoder: its persistent Keystone answers, or the worker started now to overlap preprocessing.
  const ownEncoder = opts.layer === undefined;
  if (ownEncoder) prepareEncoder();
  const src = step(`preprocessing ${file}`, () => preprocess(files, file, { profile, ...(opts.config !== undefined ? { config: opts.config } : {}) }));
  buildStats.preprocessed++;
  const typeNames = extableTypeNames(files);
  const key = contentKey(src, file, label, typeNames);
  let built = custom ? undefined : byContent.get(key);
  if (built) {
    buildStats.contentHits++;
    // Same image and listing; this revision's own preprocessed source (what it read).
    built = { ...built, source: src };
  } else {
    let obj: ObjectFile;
    let image: Image;
    try {
      obj = step(`assembling ${file}`, () => assemble(src, { layer: opts.layer, limits: opts.limits }));
      image = linkObject(obj, { sourceFile: file, profile: label, files, layer: opts.layer });
    } finally {
      // Keystone answers learnt while assembling and linking (also of a file that failed) are kept for the next process.
      if (ownEncoder) flushEncodeMemo();
    }
    buildStats.assembled++;
    built = { image, listing: listingOf(obj, image, placeSections(obj)), warnings: obj.warnings, source: src };
    if (!custom) byContent.set(key, built);
  }
  if (!custom) {
    if (!perFs) byFs.set(files, (perFs = new Map<string, BuildResult>()));
    perFs.set(fsKey, built);
  }
  return built;
}

export interface BuiltFile extends BuildResult {
  file: string;
  /** Entry points defined in this file. */
  functions: string[];
}

export interface BuiltRevision {
  revision: string;
  profile: string;
  files: BuiltFile[];
}

/** Builds every .S of the revision that defines a TDX entry point. */
export function buildRevision(rev: Revision, profile = 'default', opts: Omit<BuildOptions, 'profile'> = {}): BuiltRevision {
  const byFile = new Map<string, string[]>();
  for (const f of rev.functions) {
    const list = byFile.get(f.sourceFile) ?? [];
    list.push(f.name);
    byFile.set(f.sourceFile, list);
  }
  if (byFile.size === 0) {
    throw new SeamlabError('BUILD_NO_ENTRY_POINTS', `revision ${rev.name} defines no TDX entry point`, 'check the revision spec: it must contain a .S using TDX_MODULE_CALL');
  }
  const files = [...byFile.keys()].sort().map((file) => ({ file, functions: byFile.get(file)!, ...buildImage(rev.files, file, { ...opts, profile }) }));
  return { revision: rev.name, profile, files };
}
