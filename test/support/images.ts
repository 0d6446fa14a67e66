/**
 * Images for the run tests, built by seamlab's own pipeline
 * (`buildImage(files, file, { profile })`: cpp → gas → link). Cached per
 * revision, file and profile within one test file.
 */
import { buildImage } from '../../src/image/build.js';
import type { Image } from '../../src/image/types.js';
import type { Revision } from '../../src/intake/types.js';
import { resolveRevision } from '../../src/intake/revision.js';

const cache = new Map<string, Image>();

export function testImage(rev: Revision | string, file: string, profile = 'default'): Image {
  const name = typeof rev === 'string' ? rev : rev.name;
  const key = `${name}\u0000${file}\u0000${profile}`;
  let img = cache.get(key);
  if (!img) {
    img = buildImage((typeof rev === 'string' ? resolveRevision(rev) : rev).files, file, { profile }).image;
    cache.set(key, img);
  }
  return img;
}
