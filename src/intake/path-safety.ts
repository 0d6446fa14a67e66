/**
 * What a patch may touch, and how big intake inputs may be.
 *
 * Patch mails come from mailing lists and web archives: a path in a diff is
 * untrusted input. A path must be relative, must not contain `..`, and must
 * not resolve through a symlink to somewhere outside the tree. seamlab never
 * writes patched files anywhere (the overlay lives in memory), but these
 * checks make a hostile patch an error instead of a silently odd revision.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SeamlabError } from '../errors.js';
import { locationAt, type SourcePos } from '../support/source-location.js';

/** Largest patch file (or mbox) seamlab reads. The biggest real TDX series mbox is well under 1 MiB. */
export const MAX_PATCH_FILE_BYTES = 32 << 20;
/** Largest content of a single file created or patched by a diff. */
export const MAX_PATCHED_FILE_BYTES = 16 << 20;
/** Most messages read from one mbox. */
export const MAX_MESSAGES_PER_MBOX = 2000;
/** Most file diffs in one patch. */
export const MAX_FILES_PER_PATCH = 10000;

/** Throws when a patch file is missing, not a regular file, or larger than the cap (checked before reading). */
export function checkPatchFileSize(file: string, display: string): number {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new SeamlabError('PATCH_NOT_FOUND', `patch file ${display} does not exist`, 'check the path (relative paths are taken from the current directory)');
  }
  if (!st.isFile()) {
    throw new SeamlabError('PATCH_NOT_A_FILE', `patch ${display} is not a regular file`, 'give a mail, an mbox or a unified diff file');
  }
  if (st.size > MAX_PATCH_FILE_BYTES) {
    throw new SeamlabError(
      'PATCH_TOO_LARGE',
      `patch ${display} is ${formatBytes(st.size)}, over the ${formatBytes(MAX_PATCH_FILE_BYTES)} limit for patch input`,
      'split the series into smaller mboxes, or check that the file is really a patch',
    );
  }
  return st.size;
}

export function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(n % (1 << 30) === 0 ? 0 : 1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(n % (1 << 20) === 0 ? 0 : 1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(n % (1 << 10) === 0 ? 0 : 1)} KiB`;
  return `${n} bytes`;
}

/**
 * Checks a path as written in a diff (after the a/ b/ prefix is removed) and
 * returns it normalised. `raw` is what the diff said, for the message.
 */
export function checkDiffPath(p: string, raw: string, at: SourcePos): string {
  const where = { ...locationAt(at), text: raw };
  if (p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p)) {
    throw new SeamlabError('PATCH_PATH_ABSOLUTE', `patch names an absolute path ${JSON.stringify(raw)}`, 'patch paths must be relative to the kernel tree root (git diffs use a/… and b/…)', { where });
  }
  if (/[\0-\x1f\x7f]/.test(p)) {
    throw new SeamlabError('PATCH_PATH_BAD', `patch path ${JSON.stringify(raw)} contains control characters`, 'regenerate the patch with git format-patch', { where });
  }
  const parts = p.split('/');
  if (parts.includes('..')) {
    throw new SeamlabError('PATCH_PATH_TRAVERSAL', `patch path ${JSON.stringify(raw)} contains a ".." component`, 'patch paths must stay inside the kernel tree; regenerate the patch from the tree root', { where });
  }
  const clean = parts.filter((s) => s !== '' && s !== '.');
  if (clean.length === 0) {
    throw new SeamlabError('PATCH_PATH_BAD', `patch path ${JSON.stringify(raw)} names no file`, 'regenerate the patch with git format-patch', { where });
  }
  return clean.join('/');
}

/**
 * Checks that a tree-relative path does not go through a symlink that leaves
 * the tree, and does not name a symlink itself (a patch would change the link
 * target's text, which seamlab does not model). Components that do not exist
 * yet (files the patch creates) are fine.
 */
export function checkTreePath(root: string, rel: string, raw: string, at: SourcePos): void {
  const realRoot = fs.realpathSync(root);
  const parts = rel.split('/');
  let cur = root;
  for (let i = 0; i < parts.length; i++) {
    cur = path.join(cur, parts[i]!);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(cur);
    } catch {
      return; // does not exist: nothing below it can be a link either
    }
    if (!st.isSymbolicLink()) continue;
    let real: string | undefined;
    try {
      real = fs.realpathSync(cur);
    } catch {
      real = undefined;
    }
    const shown = parts.slice(0, i + 1).join('/');
    if (real === undefined || (real !== realRoot && !real.startsWith(realRoot + path.sep))) {
      throw new SeamlabError(
        'PATCH_PATH_SYMLINK_ESCAPE',
        `patch path ${JSON.stringify(raw)} goes through the symlink ${shown}, which points outside the tree${real ? ` (to ${real})` : ''}`,
        'seamlab refuses to follow links out of the tree; remove the link or patch the real file',
        { where: { ...locationAt(at), text: raw } },
      );
    }
    if (i === parts.length - 1) {
      throw new SeamlabError('PATCH_PATH_SYMLINK', `patch changes ${shown}, which is a symlink in the tree`, 'patch the file the link points to instead', { where: { ...locationAt(at), text: raw } });
    }
  }
}
