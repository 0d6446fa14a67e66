/**
 * Hand-made regression patches for tests: the text comes from the cached
 * kernel tree (never committed), edited in the test, and written as a
 * unified diff with the `diff` package, so `BASE+PATCH` revision specs can
 * apply it like a mailed patch.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createPatch } from 'diff';
import { treePath } from './kernel.js';

let dir: string | undefined;

/** A temporary directory for this test process's patches (removed at exit). */
function patchDir(): string {
  if (!dir) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-patch-'));
    const d = dir;
    process.on('exit', () => fs.rmSync(d, { recursive: true, force: true }));
  }
  return dir;
}

/** The text of `file` in a cached tree. */
export function treeFile(tree: 'linux-6.1' | 'linux-6.12', file: string): string {
  return fs.readFileSync(path.join(treePath(tree), file), 'utf8');
}

/**
 * Writes a patch that turns `file` of `tree` into `edit(text)` and returns
 * its path; throws when the edit changes nothing (the kernel text moved).
 */
export function makePatch(tree: 'linux-6.1' | 'linux-6.12', file: string, name: string, edit: (text: string) => string): string {
  const before = treeFile(tree, file);
  const after = edit(before);
  if (after === before) throw new Error(`the edit for ${name} changed nothing in ${tree}/${file}`);
  const out = path.join(patchDir(), `${name}.patch`);
  fs.writeFileSync(out, createPatch(file, before, after).replace(/^Index: .*\n=+\n--- .*\n\+\+\+ .*\n/, `--- a/${file}\n+++ b/${file}\n`));
  return out;
}
