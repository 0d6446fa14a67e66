/** An in-memory tree for tests: an OverlayFs over nothing. */
import { OverlayFs, type ReadonlyFs } from '../../src/support/vfs.js';

class EmptyFs implements ReadonlyFs {
  readFile(): string | undefined { return undefined; }
  exists(): boolean { return false; }
  isDirectory(): boolean { return false; }
  listDir(): string[] | undefined { return undefined; }
  describe(p: string): string { return p; }
}

export function memFs(files: Record<string, string>): OverlayFs {
  const o = new OverlayFs(new EmptyFs(), 'mem');
  for (const [p, t] of Object.entries(files)) o.set(p, t);
  return o;
}
