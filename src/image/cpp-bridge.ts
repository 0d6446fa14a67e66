/**
 * The one place the image builder reaches the preprocessor stage, so that
 * the dependency on src/cpp's entry point is a single import.
 */
import type { PreprocessedSource } from '../cpp/types.js';
import { preprocess } from '../cpp/index.js';
import type { ReadonlyFs } from '../support/vfs.js';

/** seamlab's preprocessor with a kconfig profile or a user .config (src/cpp). */
export function defaultPreprocess(files: ReadonlyFs, file: string, opts: { profile: string; config?: string }): PreprocessedSource {
  return preprocess(files, file, { profile: opts.profile, ...(opts.config !== undefined ? { config: opts.config } : {}) });
}
