/**
 * The image builder `seamlab run` uses: seamlab's own preprocessor and
 * assembler (src/image/build.ts) over the revision's files.
 */
import { buildImage } from '../image/build.js';
import type { Image } from '../image/types.js';
import type { Revision } from '../intake/types.js';

export function buildRevisionImage(revision: Revision, file: string, profile: string): Image {
  return buildImage(revision.files, file, { profile });
}
