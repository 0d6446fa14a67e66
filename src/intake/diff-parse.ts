/**
 * Unified diffs with git's extended headers, read from a mail body, with the
 * leniency web-archive copies need.
 *
 * jsdiff's `parsePatch` is strict about hunk line prefixes and keeps no
 * source positions, so the parsing is done here: every hunk remembers the
 * `file:line` of its header, and a hunk line that lost its leading space
 * (web archives turn "\t" and " " runs into one space and drop leading
 * white space) is taken as context, guided by the hunk header's line counts.
 * The hunks are jsdiff `StructuredPatchHunk`s, applied as GNU patch applies
 * them (hunks.ts, apply.ts).
 */
import type { StructuredPatchHunk } from 'diff';
import { SeamlabError } from '../errors.js';
import { locationAt, type SourcePos } from '../support/source-location.js';
import { checkDiffPath, MAX_FILES_PER_PATCH } from './path-safety.js';
import type { ErrorCode } from '../error-codes.js';

export type FileChangeKind = 'modify' | 'create' | 'delete' | 'rename' | 'copy';

export interface ParsedHunk extends StructuredPatchHunk {
  /** Position of the `@@` line. */
  at: SourcePos;
  header: string;
  /** Positions of each entry of `lines`. */
  linePos: SourcePos[];
}

export interface FilePatch {
  kind: FileChangeKind;
  /** Tree-relative path before the change (absent for created files). */
  oldPath?: string;
  /** Tree-relative path after the change (absent for deleted files). */
  newPath?: string;
  /** Abbreviated or full blob ids from the `index` line; all-zero ids mean "no file". */
  oldBlob?: string;
  newBlob?: string;
  oldMode?: string;
  newMode?: string;
  isGit: boolean;
  hunks: ParsedHunk[];
  /** Position of the `diff --git` (or `---`) line. */
  at: SourcePos;
}

export interface WhitespaceDamage {
  damaged: boolean;
  /** Why the text is believed damaged (one line each). */
  evidence: string[];
}

export interface ParsedDiff {
  files: FilePatch[];
  damage: WhitespaceDamage;
}

const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$/;
const ZERO_BLOB = /^0+$/;
/** Files whose lines are indented with tabs in the kernel (so single-space indentation means damage). */
const TAB_INDENTED = /(\.(c|h|S|s|inc|lds)|(^|\/)(Makefile|Kbuild)[^/]*|(^|\/)Kconfig[^/]*)$/;

function fail(code: ErrorCode, msg: string, hint: string, pos: SourcePos, text?: string): never {
  throw new SeamlabError(code, msg, hint, { where: { ...locationAt(pos), text } });
}

/** Splits `diff --git a/x b/y` into its two paths (quoted or not). */
function gitHeaderPaths(line: string): [string, string] | undefined {
  const rest = line.slice('diff --git '.length);
  const quoted = /^"((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$/.exec(rest);
  if (quoted) return [unquote(quoted[1]!), unquote(quoted[2]!)];
  // Unquoted: the split is the " b/" (or other prefix) where both halves name the same path.
  const idx: number[] = [];
  for (let i = rest.indexOf(' '); i >= 0; i = rest.indexOf(' ', i + 1)) idx.push(i);
  for (const i of idx) {
    const a = rest.slice(0, i);
    const b = rest.slice(i + 1);
    if (a.slice(a.indexOf('/') + 1) === b.slice(b.indexOf('/') + 1)) return [a, b];
  }
  const mid = rest.indexOf(' b/');
  return mid > 0 ? [rest.slice(0, mid), rest.slice(mid + 1)] : undefined;
}

function unquote(s: string): string {
  return s.replace(/\\([\\"abfnrtv]|[0-7]{3})/g, (_m, c: string) => {
    if (/^[0-7]{3}$/.test(c)) return String.fromCharCode(parseInt(c, 8));
    return ({ a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' } as Record<string, string>)[c] ?? c;
  });
}

function fileHeaderName(line: string): string {
  let name = line.slice(4);
  const tab = name.indexOf('\t');
  if (tab >= 0) name = name.slice(0, tab); // GNU diff: "--- a/x\t2022-04-06 …"
  name = name.trim();
  if (name.startsWith('"') && name.endsWith('"')) name = unquote(name.slice(1, -1));
  return name;
}

/** Drops git's one-component prefix (a/, b/ or --src-prefix) the way `git apply -p1` does. */
function stripOne(p: string): string {
  const i = p.indexOf('/');
  return i >= 0 ? p.slice(i + 1) : p;
}

/**
 * Parses all file diffs in a mail body. `lines` are the decoded body lines,
 * `map` their positions in the patch file.
 */
export function parseDiff(lines: string[], map: SourcePos[]): ParsedDiff {
  const files: FilePatch[] = [];
  const evidence: string[] = [];
  let lostLeadingSpace = 0;
  let firstLost: SourcePos | undefined;
  let i = 0;
  const posOf = (k: number): SourcePos => map[k] ?? map[map.length - 1] ?? { file: '?', line: 0 };

  // The part before the first diff: a diffstat whose lines lost their leading space is a damage sign.
  let diffStatLost = 0;

  while (i < lines.length) {
    const line = lines[i]!;
    const isGit = line.startsWith('diff --git ');
    const isPlain = !isGit && line.startsWith('--- ') && (lines[i + 1] ?? '').startsWith('+++ ');
    if (!isGit && !isPlain) {
      if (files.length === 0 && /^\S[^|]*\S \| +\d+ ?[+-]*$/.test(line)) diffStatLost++;
      if (/^GIT binary patch$/.test(line) || /^Binary files .* differ$/.test(line)) {
        fail('PATCH_BINARY', 'binary patch outside a file diff', 'seamlab applies text patches only', posOf(i), line);
      }
      i++;
      continue;
    }
    if (files.length >= MAX_FILES_PER_PATCH) {
      fail('PATCH_TOO_LARGE', `patch changes more than ${MAX_FILES_PER_PATCH} files`, 'split the patch', posOf(i));
    }
    const fp: FilePatch = { kind: 'modify', isGit, hunks: [], at: posOf(i) };
    let rawOld: string | undefined;
    let rawNew: string | undefined;
    let renameFrom: string | undefined;
    let renameTo: string | undefined;
    let binary = false;
    if (isGit) {
      const paths = gitHeaderPaths(line);
      if (paths) [rawOld, rawNew] = paths;
      i++;
      for (; i < lines.length; i++) {
        const ext = lines[i]!;
        let m: RegExpExecArray | null;
        if (ext.startsWith('diff --git ') || ext.startsWith('--- ') || ext.startsWith('@@ ')) break;
        if ((m = /^new file mode (\d+)/.exec(ext))) {
          fp.kind = 'create';
          fp.newMode = m[1];
        } else if ((m = /^deleted file mode (\d+)/.exec(ext))) {
          fp.kind = 'delete';
          fp.oldMode = m[1];
        } else if ((m = /^old mode (\d+)/.exec(ext))) fp.oldMode = m[1];
        else if ((m = /^new mode (\d+)/.exec(ext))) fp.newMode = m[1];
        else if ((m = /^(rename|copy) from (.*)$/.exec(ext))) {
          fp.kind = m[1] === 'rename' ? 'rename' : 'copy';
          renameFrom = m[2]!.startsWith('"') ? unquote(m[2]!.slice(1, -1)) : m[2]!;
        } else if ((m = /^(rename|copy) to (.*)$/.exec(ext))) {
          renameTo = m[2]!.startsWith('"') ? unquote(m[2]!.slice(1, -1)) : m[2]!;
        } else if ((m = /^index ([0-9a-f]+)\.\.([0-9a-f]+)(?: (\d+))?$/.exec(ext))) {
          fp.oldBlob = m[1];
          fp.newBlob = m[2];
          if (m[3]) fp.oldMode = fp.newMode = m[3];
        } else if (/^GIT binary patch$/.test(ext) || /^Binary files .* differ$/.test(ext)) {
          binary = true;
        } else if (/^(similarity|dissimilarity) index /.test(ext)) {
          // informational
        } else if (ext.trim() === '' || ext === '-- ' || ext === '--') {
          break; // end of this file's header (mode-only change or pure rename at the end of a mail)
        } else if (binary) {
          // base85 payload lines of a binary patch
        } else {
          break;
        }
      }
    }
    // ---/+++ lines (the only names a plain diff has).
    if ((lines[i] ?? '').startsWith('--- ') && (lines[i + 1] ?? '').startsWith('+++ ')) {
      rawOld = fileHeaderName(lines[i]!);
      rawNew = fileHeaderName(lines[i + 1]!);
      i += 2;
    }
    const shown = rawNew && rawNew !== '/dev/null' ? rawNew : rawOld ?? line;
    if (binary) {
      fail('PATCH_BINARY', `binary patch for ${stripOne(shown)}`, 'seamlab applies text patches only; leave binary files out of the series (git format-patch without --binary)', fp.at, line);
    }
    if (fp.newMode === '120000' || fp.oldMode === '120000' || fp.newMode === '160000' || fp.oldMode === '160000') {
      fail('PATCH_UNSUPPORTED_MODE', `patch for ${stripOne(shown)} is a ${fp.newMode === '160000' || fp.oldMode === '160000' ? 'submodule' : 'symlink'} change`, 'seamlab applies changes to regular files only', fp.at, line);
    }
    // Resolve and check paths.
    const headerPos = fp.at;
    const resolve = (raw: string | undefined, strip: boolean): string | undefined => {
      if (raw === undefined || raw === '/dev/null') return undefined;
      if (raw.startsWith('/')) checkDiffPath(raw, raw, headerPos); // absolute: refused before any prefix handling
      return checkDiffPath(strip ? stripOne(raw) : raw, raw, headerPos);
    };
    if (isGit) {
      if (renameFrom !== undefined) fp.oldPath = checkDiffPath(renameFrom, renameFrom, headerPos);
      else if (rawOld !== undefined) fp.oldPath = resolve(rawOld, true);
      if (renameTo !== undefined) fp.newPath = checkDiffPath(renameTo, renameTo, headerPos);
      else if (rawNew !== undefined) fp.newPath = resolve(rawNew, true);
      if (fp.kind === 'create') fp.oldPath = undefined;
      if (fp.kind === 'delete') fp.newPath = undefined;
    } else {
      // Plain diffs: strip one component when both names carry a prefix
      // (a/ b/, or linux.orig/ linux/), keep the path as written otherwise.
      const o = rawOld === '/dev/null' ? undefined : rawOld;
      const n = rawNew === '/dev/null' ? undefined : rawNew;
      const first = (p: string | undefined) => (p && p.includes('/') ? p.slice(0, p.indexOf('/')) : undefined);
      const strip = (o === undefined || n === undefined)
        ? /^[ab]\//.test(o ?? n ?? '')
        : (/^a\//.test(o) && /^b\//.test(n)) || (first(o) !== undefined && first(n) !== undefined && first(o) !== first(n));
      fp.oldPath = resolve(rawOld, strip);
      fp.newPath = resolve(rawNew, strip);
      fp.kind = fp.oldPath === undefined ? 'create' : fp.newPath === undefined ? 'delete' : fp.oldPath !== fp.newPath ? 'rename' : 'modify';
    }
    if (fp.oldPath === undefined && fp.newPath === undefined) {
      fail('PATCH_BAD_HEADER', 'file diff names no file', 'regenerate the patch with git format-patch', fp.at, line);
    }
    if (fp.oldBlob && ZERO_BLOB.test(fp.oldBlob)) fp.oldBlob = undefined;
    if (fp.newBlob && ZERO_BLOB.test(fp.newBlob)) fp.newBlob = undefined;

    // Hunks.
    while (i < lines.length && HUNK_HEADER.test(lines[i]!)) {
      const r = parseHunk(lines, i, posOf);
      fp.hunks.push(r.hunk);
      lostLeadingSpace += r.lostLeadingSpace;
      if (r.firstLost && !firstLost) firstLost = r.firstLost;
      i = r.next;
    }
    if (fp.hunks.length === 0 && (fp.kind === 'modify') && fp.oldMode === fp.newMode) {
      if (!isGit) fail('PATCH_NO_HUNKS', `diff for ${fp.newPath ?? fp.oldPath} has no hunks`, 'the diff looks truncated; save the complete mail', fp.at, line);
    }
    files.push(fp);
  }

  if (lostLeadingSpace > 0) {
    evidence.push(`${lostLeadingSpace} hunk line(s) have no leading ' ', '+' or '-' (context lines lost their leading space), first at ${firstLost!.file}:${firstLost!.line}`);
  }
  const tabs = tabEvidence(files);
  if (tabs) evidence.push(tabs);
  if (evidence.length > 0 && diffStatLost > 0) evidence.push(`${diffStatLost} diffstat line(s) lost their leading space`);
  return { files, damage: { damaged: evidence.length > 0, evidence } };
}

/** Kernel sources indent with tabs: single-space indentation and no tab anywhere means the tabs were collapsed. */
function tabEvidence(files: FilePatch[]): string | undefined {
  let anyTab = false;
  let singleSpaceIndented = 0;
  let example: SourcePos | undefined;
  for (const f of files) {
    const p = f.newPath ?? f.oldPath ?? '';
    for (const h of f.hunks) {
      h.lines.forEach((l, k) => {
        if (l.includes('\t')) anyTab = true;
        if (TAB_INDENTED.test(p) && /^[-+ ] [^\s*]/.test(l)) {
          singleSpaceIndented++;
          example ??= h.linePos[k];
        }
      });
    }
  }
  if (anyTab || singleSpaceIndented === 0) return undefined;
  return `no tab characters anywhere, and ${singleSpaceIndented} line(s) of tab-indented kernel sources are indented by a single space (tabs collapsed), e.g. ${example!.file}:${example!.line}`;
}

interface HunkParse { hunk: ParsedHunk; next: number; lostLeadingSpace: number; firstLost?: SourcePos }

function parseHunk(lines: string[], start: number, posOf: (k: number) => SourcePos): HunkParse {
  const header = lines[start]!;
  const m = HUNK_HEADER.exec(header)!;
  const hunk: ParsedHunk = {
    oldStart: Number(m[1]),
    oldLines: m[2] === undefined ? 1 : Number(m[2]),
    newStart: Number(m[3]),
    newLines: m[4] === undefined ? 1 : Number(m[4]),
    lines: [],
    at: posOf(start),
    header,
    linePos: [],
  };
  // jsdiff's convention: a zero-length range starts one line later.
  if (hunk.oldLines === 0) hunk.oldStart += 1;
  if (hunk.newLines === 0) hunk.newStart += 1;
  let oldSeen = 0;
  let newSeen = 0;
  let lost = 0;
  let firstLost: SourcePos | undefined;
  let i = start + 1;
  const push = (l: string, k: number) => {
    hunk.lines.push(l);
    hunk.linePos.push(posOf(k));
  };
  while (oldSeen < hunk.oldLines || newSeen < hunk.newLines) {
    if (i >= lines.length) break;
    const l = lines[i]!;
    const c = l[0];
    if (c === '+' && newSeen < hunk.newLines) {
      newSeen++;
      push(l, i);
    } else if (c === '-' && oldSeen < hunk.oldLines) {
      oldSeen++;
      push(l, i);
    } else if (c === '\\') {
      push(l, i);
    } else if (oldSeen < hunk.oldLines && newSeen < hunk.newLines && (c === ' ' || l === '')) {
      oldSeen++;
      newSeen++;
      push(l === '' ? ' ' : l, i);
    } else if (oldSeen < hunk.oldLines && newSeen < hunk.newLines && c !== '+' && c !== '-' && !HUNK_HEADER.test(l) && !l.startsWith('diff --git ')) {
      // A context line whose leading space was eaten (web-archive copy).
      oldSeen++;
      newSeen++;
      lost++;
      firstLost ??= posOf(i);
      push(' ' + l, i);
    } else {
      break;
    }
    i++;
  }
  if (oldSeen !== hunk.oldLines || newSeen !== hunk.newLines) {
    fail(
      'PATCH_BAD_HUNK',
      `hunk ${header.replace(/ @@.*$/, ' @@')} declares ${hunk.oldLines} old and ${hunk.newLines} new line(s) but has ${oldSeen} and ${newSeen}`,
      'the patch is truncated or was edited by hand; save the complete mail (raw source) again',
      hunk.at,
      header,
    );
  }
  while (i < lines.length && (lines[i]![0] === '\\')) {
    push(lines[i]!, i);
    i++;
  }
  return { hunk, next: i, lostLeadingSpace: lost, firstLost };
}
