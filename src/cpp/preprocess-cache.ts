/**
 * Preprocessed .S files kept on disk (ccache's direct mode for seamlab's
 * cpp): the output lines, the source map and the warnings of one file,
 * stored with the fingerprint of every file the preprocessor read (and the
 * answer to every existence test and directory listing it made), through
 * the same entries as the generated environment (env-cache.ts).
 *
 * The key holds the environment's disk key and the digest of what it
 * generated (autoconf.h, asm-offsets.h … are layered over the revision and
 * are not recorded as inputs), the file, the file's Kbuild flags and
 * SOURCE_DATE_EPOCH (__DATE__/__TIME__).
 */
import { createHash } from 'node:crypto';
import type { ReadonlyFs } from '../support/vfs.js';
import { OverlayFs } from '../support/vfs.js';
import { EnvCacheSlot, RecordingFs } from '../kbuild/env-cache.js';
import { environmentDiskIdentity, envCacheStats, type CppEnvironment } from '../kbuild/environment.js';
import { Preprocessor } from './preprocessor.js';
import type { PreprocessedSource } from './types.js';

/** The shape of stored origins (a `SourceLocation` per line); part of the key, so entries of other shapes are never read. */
const ORIGIN_FORMAT = 'source-location-1';

function isPreprocessed(x: unknown): x is PreprocessedSource {
  const s = x as PreprocessedSource;
  return (
    typeof s === 'object' && s !== null && typeof s.file === 'string' && Array.isArray(s.lines) && Array.isArray(s.origins) && s.lines.length === s.origins.length &&
    s.origins.every((o) => Array.isArray(o.includeStack) && Array.isArray(o.cppStack) && Array.isArray(o.gasStack)) &&
    (s.diagnostics === undefined || Array.isArray(s.diagnostics)) && (s.reads === undefined || Array.isArray(s.reads))
  );
}

/** Preprocesses `main` (a checked tree path) of the revision `files` in `env`, through the disk cache when the environment has one. */
export function preprocessInEnvironment(files: ReadonlyFs, env: CppEnvironment, main: string): PreprocessedSource {
  const config = env.cppConfig(main);
  const id = environmentDiskIdentity(env);
  if (id === undefined) {
    // RecordingFs fingerprints what it records; a file system without fingerprints (tests' in-memory trees) is not recorded.
    const recorder = files.fingerprint ? new RecordingFs(files) : undefined;
    const run = new Preprocessor(recorder ? layeredOver(recorder, env) : env.files, config).run(main);
    return { file: main, lines: run.lines, origins: run.origins, diagnostics: run.diagnostics, ...(recorder ? { reads: filesRead(recorder) } : {}) };
  }
  const flags = createHash('sha256').update(JSON.stringify(env.flagsFor(main))).digest('hex');
  const slot = new EnvCacheSlot<PreprocessedSource>(JSON.stringify({ env: id.key, digest: id.digest, file: main, flags, epoch: config.sourceDateEpoch ?? 0, origins: ORIGIN_FORMAT }), 'cpp');
  const hit = slot.lookup(files, isPreprocessed);
  if (hit) {
    envCacheStats.cppHits++;
    return hit.result;
  }
  envCacheStats.cppMisses++;
  // The generated headers over a recorder of the revision: what is read from the revision is recorded.
  const recorder = new RecordingFs(files);
  const run = new Preprocessor(layeredOver(recorder, env), config).run(main);
  const out: PreprocessedSource = { file: main, lines: run.lines, origins: run.origins, diagnostics: run.diagnostics, reads: filesRead(recorder) };
  slot.store(recorder.inputs(), out);
  return out;
}

/** The environment's generated headers over `files`. */
function layeredOver(files: ReadonlyFs, env: CppEnvironment): ReadonlyFs {
  const layered = new OverlayFs(files, 'generated');
  for (const [p, text] of env.generated) layered.set(p, text);
  return layered;
}

/** Files (not existence tests or listings) the preprocessor read through `recorder`. */
function filesRead(recorder: RecordingFs): string[] {
  return recorder.inputs().filter((i) => i[0] === 'f' && i[2] !== null).map((i) => i[1]);
}
