/**
 * Patches made at test time from the cached kernel trees (so no kernel text
 * is stored in the repository): a unified diff of one file, edited.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { treePath } from './kernel.js';

/** A temporary directory for patch files, removed when the test process exits. */
export const PATCH_DIR = mkdtempSync(join(tmpdir(), 'seamlab-test-patches-'));
process.on('exit', () => rmSync(PATCH_DIR, { recursive: true, force: true }));

/** Writes a diff of `file` of a built-in tree after `edit`, and returns its path. */
export function treePatch(tree: 'linux-6.1' | 'linux-6.12', file: string, edit: (text: string) => string, name: string): string {
  const old = readFileSync(join(treePath(tree), file), 'utf8');
  const text = createTwoFilesPatch(`a/${file}`, `b/${file}`, old, edit(old), undefined, undefined, { context: 3 });
  const out = join(PATCH_DIR, name);
  writeFileSync(out, text);
  return out;
}

/** Inserts `lines` after the first line matching `after`. */
export function insertAfter(text: string, after: RegExp, lines: string[]): string {
  const all = text.split('\n');
  const i = all.findIndex((l) => after.test(l));
  if (i < 0) throw new Error(`no line matches ${after}`);
  all.splice(i + 1, 0, ...lines);
  return all.join('\n');
}

/** A minimal kernel .config that turns on straight-line-speculation hardening (`ret; int3`) in 6.12. */
export function slsConfig(): string {
  const out = join(PATCH_DIR, 'sls.config');
  writeFileSync(out, '# seamlab test\nCONFIG_64BIT=y\nCONFIG_MITIGATION_SLS=y\n# CONFIG_MITIGATION_RETHUNK is not set\n');
  return out;
}

/** The text of `file` in a cached tree. */
export function treeFile(tree: 'linux-6.1' | 'linux-6.12', file: string): string {
  return readFileSync(join(treePath(tree), file), 'utf8');
}

/**
 * Writes a patch that turns `file` of `tree` into `edit(text)` and returns
 * its path; throws when the edit changes nothing (the kernel text moved).
 */
export function makePatch(tree: 'linux-6.1' | 'linux-6.12', file: string, name: string, edit: (text: string) => string): string {
  const before = treeFile(tree, file);
  const after = edit(before);
  if (after === before) throw new Error(`the edit for ${name} changed nothing in ${tree}/${file}`);
  return treePatch(tree, file, () => after, `${name}.patch`);
}
