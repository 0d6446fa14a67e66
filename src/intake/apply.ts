/**
 * Applying parsed patches into an in-memory overlay over the base tree. The
 * user's tree is only ever read.
 *
 * Hunks are applied as GNU patch applies them (hunks.ts): searched from the
 * header's line with offsets, with all their context first, then with fuzz
 * (up to 2 context lines ignored at each end; `maxFuzz` 0 refuses), each
 * level exactly first, then whitespace-insensitively (web-archive copies
 * lost their tabs). Fuzz and offsets are reported per hunk.
 * A hunk that cannot be applied is an error when the file is a build input
 * (an assembler source or a header that gets included), and is reported as
 * not applied otherwise: a Makefile change made against a file an earlier,
 * absent patch of the series created must not stop the assembly from being
 * built. Where the patch names git blob ids, the pre-image and the result are
 * verified.
 */
import { SeamlabError } from '../errors.js';
import { locationAt, type SourcePos } from '../support/source-location.js';
import { gitBlobId } from '../support/cache.js';
import type { PatchMessage } from './mail.js';
import type { FilePatch, ParsedDiff, ParsedHunk } from './diff-parse.js';
import { checkTreePath, formatBytes, MAX_PATCHED_FILE_BYTES } from './path-safety.js';
import type { FileApplication, HunkApplication, PatchApplication } from './types.js';
import type { OverlayFs } from '../support/vfs.js';
import { indentationRepairs } from './ws-repair.js';
import { applyHunksLikePatch, DEFAULT_MAX_FUZZ } from './hunks.js';
import type { ErrorCode } from '../error-codes.js';

export interface LoadedPatch {
  message: PatchMessage;
  diff: ParsedDiff;
}

export interface ApplyTarget {
  /** The base tree on disk (for symlink checks). */
  root: string;
  /** Display name of the base, for messages ("linux-6.1", a path). */
  baseName: string;
  overlay: OverlayFs;
  /** Largest fuzz a hunk may need (default DEFAULT_MAX_FUZZ, as GNU patch; 0 = --no-fuzz). */
  maxFuzz?: number;
}

/**
 * Files the assembler build reads: assembler sources and headers (both get
 * #included). A hunk that fails on one of these would change what is
 * assembled, so it is an error rather than a note.
 */
export function isBuildInput(p: string): boolean {
  return /\.(S|h|inc)$/.test(p);
}

const NOT_BUILD_INPUT = 'not an input of the assembly build (only .S, .h and .inc files are), so the revision is built without this change';


function blobMatches(content: string, id: string): boolean {
  return gitBlobId(Buffer.from(content, 'utf8')).startsWith(id.toLowerCase());
}

function shortBlob(content: string): string {
  return gitBlobId(Buffer.from(content, 'utf8')).slice(0, 12);
}

type FileHunksOutcome = { text: string; results: HunkApplication[]; anyWs: boolean; anyFuzz: boolean; failed: HunkApplication[] };

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

/** Applies a file's hunks as GNU patch does (offsets, fuzz up to `maxFuzz`), each hunk with its own result. */
function applyHunks(text: string, hunks: ParsedHunk[], path: string, maxFuzz: number): FileHunksOutcome {
  const r = applyHunksLikePatch(text, hunks, { maxFuzz });
  const results: HunkApplication[] = r.hunks.map((o, k) => {
    const h = hunks[k]!;
    const header = h.header.replace(/ @@.*$/, ' @@');
    if (o.result === 'not-applied') {
      const reason = o.neededFuzz !== undefined
        ? `its context matches ${path} only with fuzz ${o.neededFuzz} (${plural(o.neededFuzz, 'context line')} ignored at each end), and fuzz is limited to ${maxFuzz}${maxFuzz === 0 ? ' (--no-fuzz)' : ''}`
        : `its context and removed lines are not in ${path}, not even ignoring whitespace or with fuzz ${DEFAULT_MAX_FUZZ}`;
      return { header, at: h.at, result: 'not-applied', reason, ...(o.neededFuzz !== undefined ? { neededFuzz: o.neededFuzz } : {}) };
    }
    return { header, at: h.at, result: o.result, fuzz: o.fuzz, offset: o.offset, line: o.line };
  });
  const failed = results.filter((x) => x.result === 'not-applied');
  return {
    text: r.text, results, failed,
    anyWs: results.some((x) => x.result === 'whitespace-insensitive'),
    anyFuzz: results.some((x) => (x.fuzz ?? 0) > 0),
  };
}

/** A note for a hunk that applied with fuzz or at an offset (as GNU patch reports it). */
function hunkNote(h: HunkApplication): string | undefined {
  if (h.result === 'not-applied' || (!h.fuzz && !h.offset)) return undefined;
  const fuzz = h.fuzz ? ` with fuzz ${h.fuzz} (${plural(h.fuzz, 'context line')} at each end not compared)` : '';
  const offset = h.offset ? ` (offset ${plural(h.offset, 'line')})` : '';
  return `hunk ${h.header} applied at line ${h.line}${fuzz}${offset}`;
}

function capSize(content: string, path: string, at: SourcePos): void {
  if (content.length > MAX_PATCHED_FILE_BYTES) {
    throw new SeamlabError('PATCH_TOO_LARGE', `patched ${path} would be ${formatBytes(content.length)}, over the ${formatBytes(MAX_PATCHED_FILE_BYTES)} limit per file`, 'check that the patch is what you meant to apply', { where: locationAt(at) });
  }
}

/** Content of a file a patch creates: its '+' lines. */
function createdContent(fp: FilePatch): string {
  const out: string[] = [];
  let noEol = false;
  for (const h of fp.hunks) {
    h.lines.forEach((l, k) => {
      if (l[0] === '+') out.push(l.slice(1));
      else if (l[0] === '\\') noEol = true;
      else {
        throw new SeamlabError('PATCH_BAD_HUNK', `hunk of new file ${fp.newPath} has a context or removed line`, 'a created file\'s hunk may only add lines; regenerate the patch', { where: { ...locationAt(h.linePos[k]!), text: l } });
      }
    });
  }
  if (out.length === 0) return '';
  return out.join('\n') + (noEol ? '' : '\n');
}

/** Tells, for a missing file, which later patch of this revision would create it. */
function laterCreator(later: LoadedPatch[], p: string): LoadedPatch | undefined {
  return later.find((lp) => lp.diff.files.some((f) => f.newPath === p && (f.kind === 'create' || f.kind === 'rename' || f.kind === 'copy')));
}

function patchLabel(m: PatchMessage): string {
  const subj = m.subject?.subject;
  return subj ? `${m.source} (${subj})` : m.source;
}

/** Applies one message's diff into the overlay and says what happened to each file. */
export function applyLoadedPatch(target: ApplyTarget, patch: LoadedPatch, later: LoadedPatch[]): PatchApplication {
  const { message: msg, diff } = patch;
  const damaged = diff.damage.damaged;
  const { overlay } = target;
  const files: FileApplication[] = [];
  const notes = [...msg.headerNotes];
  const pos = msg.subject?.position;

  // Checks on every path before anything is applied: a hostile path fails the whole patch.
  for (const fp of diff.files) {
    for (const p of [fp.oldPath, fp.newPath]) if (p !== undefined) checkTreePath(target.root, p, p, fp.at);
  }

  for (const fp of diff.files) {
    const path = (fp.newPath ?? fp.oldPath)!;
    const build = isBuildInput(path) || (fp.oldPath !== undefined && isBuildInput(fp.oldPath));
    const notApplied = (reason: string, at: SourcePos, code: ErrorCode, hint: string, extra: Partial<FileApplication> = {}): void => {
      if (build) {
        throw new SeamlabError(code, `${reason} (${path} is a build input)`, hint, { where: locationAt(at), notes: [`in patch ${patchLabel(msg)}`] });
      }
      files.push({ path, ...(fp.oldPath && fp.oldPath !== path ? { from: fp.oldPath } : {}), mode: 'not-applied', at: fp.at, notes: [reason, NOT_BUILD_INPUT], ...extra });
    };

    if (fp.kind === 'create') {
      if (overlay.isDirectory(path)) {
        notApplied(`${path} is a directory in ${target.baseName}, so the patch cannot create a file there`, fp.at, 'PATCH_FILE_EXISTS', 'check the path in the patch: it names a directory of the tree');
        continue;
      }
      if (overlay.exists(path)) {
        notApplied(`${path} already exists, so the patch cannot create it`, fp.at, 'PATCH_FILE_EXISTS', 'the base already has this file: apply the patch to an older base, or drop the earlier patch that created it');
        continue;
      }
      let content = createdContent(fp);
      capSize(content, path, fp.at);
      const fa: FileApplication = { path, mode: 'created', at: fp.at, notes: [] };
      if (fp.newBlob) {
        if (blobMatches(content, fp.newBlob)) fa.blobCheck = 'ok';
        else if (damaged) {
          const lines = content.split('\n');
          const eol = lines[lines.length - 1] === '';
          if (eol) lines.pop();
          const repairs = indentationRepairs(lines, path);
          const repaired = repairs.find((r) => blobMatches(r.lines.join('\n') + (eol ? '\n' : ''), fp.newBlob!));
          if (repaired) {
            content = repaired.lines.join('\n') + (eol ? '\n' : '');
            fa.blobCheck = 'ok';
            fa.notes.push(`whitespace repaired (${repaired.label}): the result has blob ${fp.newBlob}, as the patch says`);
          } else {
            fa.blobCheck = 'whitespace-damaged';
            fa.notes.push(`content differs from blob ${fp.newBlob} (got ${shortBlob(content)}) only because the source text lost its whitespace; equal to the patch's lines up to whitespace${repairs.length ? '; indentation repair tried, no match' : ''}`);
          }
        } else {
          fa.blobCheck = 'mismatch';
          fa.notes.push(`created content has blob ${shortBlob(content)}, the patch says ${fp.newBlob}`);
        }
      }
      if (damaged && fa.blobCheck !== 'ok') fa.notes.push('created from whitespace-damaged text: tabs became single spaces');
      overlay.set(path, content);
      files.push(fa);
      continue;
    }

    // modify / delete / rename / copy: need the old file.
    const oldPath = fp.oldPath!;
    const current = overlay.readFile(oldPath);
    if (current === undefined) {
      const creator = laterCreator(later, oldPath);
      let reason = `${oldPath} does not exist in the base tree (${target.baseName}) or in earlier patches`;
      if (creator) reason += `; a later patch creates it: ${patchLabel(creator.message)}`;
      else if (pos && pos.index > 1) reason += `; it was probably created by an earlier patch of the series (this is patch ${pos.index}/${pos.total}) that is not part of this revision`;
      const hint = creator ? 'the patches are out of order: apply the patch that creates the file first' : 'add the patches that create the file (the earlier patches of the series) before this one';
      notApplied(reason, fp.at, 'PATCH_MISSING_FILE', hint);
      continue;
    }
    const fa: FileApplication = { path, ...(fp.oldPath !== path ? { from: oldPath } : {}), mode: 'exact', at: fp.at, notes: [] };
    let preOk = true;
    if (fp.oldBlob) {
      preOk = blobMatches(current, fp.oldBlob);
      if (!preOk) fa.notes.push(`pre-image: ${oldPath} has blob ${shortBlob(current)}, the patch was made against ${fp.oldBlob}`);
    }
    const r = applyHunks(current, fp.hunks, oldPath, target.maxFuzz ?? DEFAULT_MAX_FUZZ);
    for (const h of r.results) {
      const n = hunkNote(h);
      if (n) fa.notes.push(n);
    }
    if (fp.hunks.length) fa.hunks = r.results;
    if (r.failed.length > 0) {
      const first = r.failed[0]!;
      if (build) {
        const hint = first.neededFuzz !== undefined
          ? `GNU patch applies it with fuzz ${first.neededFuzz}: leave out --no-fuzz to accept that, or use the base the patch was made against`
          : preOk ? 'the file differs from what the patch expects: check the base revision and the patch order' : `the patch was made against another version of ${oldPath} (blob ${fp.oldBlob}): use the matching base`;
        throw new SeamlabError('PATCH_HUNK_FAILED', `hunk ${first.header} does not apply to ${oldPath} (${path} is a build input)`, hint, {
          where: { ...locationAt(first.at), text: first.header },
          notes: [first.reason!, `in patch ${patchLabel(msg)}`, ...fa.notes],
        });
      }
      if (r.failed.length === r.results.length) {
        files.push({ path, ...(fa.from ? { from: fa.from } : {}), mode: 'not-applied', at: fp.at, notes: [...r.failed.map((f) => `hunk ${f.header} at ${f.at.file}:${f.at.line}: ${f.reason}`), NOT_BUILD_INPUT, ...fa.notes], hunks: r.results, ...(fp.oldBlob ? { blobCheck: preOk ? 'ok' as const : 'mismatch' as const } : {}) });
        continue;
      }
      for (const f of r.failed) fa.notes.push(`hunk ${f.header} at ${f.at.file}:${f.at.line} not applied: ${f.reason}`);
    }
    capSize(r.text, path, fp.at);
    const contentMode = r.anyWs ? 'whitespace-insensitive' : r.anyFuzz ? 'fuzzy' : 'exact';

    if (fp.kind === 'delete') {
      if (r.text !== '') {
        notApplied(`${oldPath} has lines the deletion patch does not list`, fp.at, 'PATCH_HUNK_FAILED', 'the file differs from what the patch expects: check the base revision');
        continue;
      }
      overlay.delete(oldPath);
      fa.mode = 'deleted';
      fa.path = oldPath;
      if (fp.hunks.length) fa.contentMatch = contentMode;
    } else if (fp.kind === 'rename' || fp.kind === 'copy') {
      if (overlay.exists(path)) {
        notApplied(`${path} already exists, so ${oldPath} cannot be ${fp.kind === 'rename' ? 'renamed' : 'copied'} to it`, fp.at, 'PATCH_FILE_EXISTS', 'check the base revision and the patch order');
        continue;
      }
      overlay.set(path, r.text);
      if (fp.kind === 'rename') overlay.delete(oldPath);
      fa.mode = fp.kind === 'rename' ? 'renamed' : 'created';
      if (fp.kind === 'copy') fa.notes.push(`copied from ${oldPath}`);
      if (fp.hunks.length) fa.contentMatch = contentMode;
    } else {
      overlay.set(path, r.text);
      fa.mode = contentMode;
    }
    if (fp.oldBlob || fp.newBlob) {
      const postOk = fp.kind === 'delete' || !fp.newBlob || blobMatches(r.text, fp.newBlob);
      if (!postOk) fa.notes.push(`result has blob ${shortBlob(r.text)}, the patch says ${fp.newBlob}`);
      fa.blobCheck = !preOk ? 'mismatch' : postOk ? 'ok' : damaged ? 'whitespace-damaged' : 'mismatch';
    }
    if (damaged && fp.hunks.some((h) => h.lines.some((l) => l[0] === '+'))) fa.notes.push('added lines come from whitespace-damaged text: tabs became single spaces');
    files.push(fa);
  }

  return {
    source: msg.source,
    subject: msg.subject?.subject,
    ...(msg.from !== undefined ? { author: msg.from } : {}),
    ...(msg.date !== undefined ? { date: msg.date } : {}),
    version: msg.subject?.version,
    position: msg.subject?.position,
    whitespaceDamaged: damaged,
    files,
    damageEvidence: diff.damage.evidence,
    messageIndex: msg.messageIndex,
    format: msg.format,
    transferEncoding: msg.transferEncoding,
    notes,
  };
}
