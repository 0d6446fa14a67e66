/** The seamlab package directory, found from the running code (src/ or the dist/ bundle). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

let packageRootCache: string | undefined;

/** The seamlab package directory (the built-in patch fixtures live there), from src/ or the dist/ bundle. */
export function packageRoot(): string {
  if (packageRootCache) return packageRootCache;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if ((JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string }).name === 'seamlab') return (packageRootCache = dir);
      } catch {
        // not ours; keep looking
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`seamlab package root not found above ${path.dirname(fileURLToPath(import.meta.url))}`);
    dir = up;
  }
}
