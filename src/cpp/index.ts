/**
 * seamlab's C preprocessor for the kernel's .S files: `preprocess()` runs a
 * file of a revision exactly as Kbuild's `gcc -E` would (same include
 * chain, forced includes, -D flags, predefined macros, generated headers)
 * and returns the output lines with their source map. Environments and
 * preprocessed files are cached on disk (env-cache.ts, preprocess-cache.ts).
 */
import type { ReadonlyFs } from '../support/vfs.js';
import { buildEnvironment, checkMainFile, type EnvironmentOptions } from '../kbuild/environment.js';
import { preprocessInEnvironment } from './preprocess-cache.js';
import type { PreprocessedSource } from './types.js';

export { buildEnvironment, type CppEnvironment, type EnvironmentOptions } from '../kbuild/environment.js';
export { PROFILES, findProfile, FEATURE_OPTIONS, type Profile, type Feature } from '../kbuild/kconfig/profiles.js';
export { gccInvocation, gccTree, type GccInvocation, type GccTree } from './gcc.js';
export type { PreprocessedSource, CppDiagnostic } from './types.js';

/**
 * Preprocesses `file` (tree-relative) of a revision with a kconfig profile
 * (default "default") or a user .config (text or path).
 */
export function preprocess(files: ReadonlyFs, file: string, opts: EnvironmentOptions = {}): PreprocessedSource {
  const env = buildEnvironment(files, opts);
  const main = checkMainFile(env.files, file);
  return preprocessInEnvironment(files, env, main);
}
