/**
 * Source files as an editor sees them. A file whose content in the
 * revision is the file on disk in the base tree is given by its real path;
 * a file a patch created or changed exists only in the revision's overlay,
 * so it is written to `<tmpdir>/seamlab-sources/<git blob id>/<tree path>`:
 * a real, read-only-by-convention file the editor can open and set
 * breakpoints in, at a path that stays the same while the content does (so
 * breakpoints persist across sessions). Editor paths map back to tree paths.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Revision } from '../../intake/types.js';
import { gitBlobId, writeFileAtomic } from '../../support/cache.js';
import { matchSourceFile } from '../breakpoints.js';

export class SourcePaths {
  private readonly toClient = new Map<string, string>();
  private readonly toTree = new Map<string, string>();
  private readonly baseDir: string;
  readonly overlayRoot: string;

  constructor(private readonly revision: Revision, tmpRoot = os.tmpdir()) {
    this.baseDir = path.resolve(revision.provenance.base.dir);
    this.overlayRoot = path.join(tmpRoot, 'seamlab-sources');
  }

  /** The path an editor opens for a tree-relative file (undefined when the revision has no such file). */
  clientPath(treePath: string): string | undefined {
    const known = this.toClient.get(treePath);
    if (known) return known;
    const text = this.revision.files.readFile(treePath);
    if (text === undefined) return undefined;
    const onDisk = path.join(this.baseDir, treePath);
    let same = false;
    try {
      same = fs.readFileSync(onDisk, 'utf8') === text;
    } catch {
      // not on disk (or unreadable): the editor gets the overlay's copy
    }
    let client = onDisk;
    if (!same) {
      client = path.join(this.overlayRoot, gitBlobId(Buffer.from(text, 'utf8')), treePath);
      let current: string | undefined;
      try {
        current = fs.readFileSync(client, 'utf8');
      } catch {
        current = undefined;
      }
      if (current !== text) writeFileAtomic(client, text);
    }
    this.toClient.set(treePath, client);
    this.toTree.set(path.resolve(client), treePath);
    return client;
  }

  /**
   * The tree-relative file an editor path names: one handed out before, a
   * file under the base tree or the overlay directory, else whatever the
   * image's files end the path with.
   */
  treePath(clientPath: string, imageFiles: readonly string[]): string | undefined {
    const abs = path.resolve(clientPath);
    const known = this.toTree.get(abs);
    if (known) return known;
    const rel = (root: string) => (abs.startsWith(root + path.sep) ? abs.slice(root.length + 1).split(path.sep).join('/') : undefined);
    const inBase = rel(this.baseDir);
    if (inBase) return inBase;
    const inOverlay = rel(this.overlayRoot);
    if (inOverlay) return inOverlay.slice(inOverlay.indexOf('/') + 1);
    return matchSourceFile(imageFiles, abs.split(path.sep).join('/')).file;
  }
}
