/** Access to the built-in kernel trees that scripts/setup puts in the cache. */
import { requireTree } from '../../src/intake/kernel-cache.js';
import { cacheDir } from '../../src/support/cache.js';

/** The cached tree's directory; fails with the setup hint when it is missing (CI always runs setup first). */
export function treePath(name: 'linux-6.1' | 'linux-6.12'): string {
  return requireTree(name, cacheDir()).dir;
}
