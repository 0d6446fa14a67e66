/**
 * The manifest of an extracted kernel tree: every file with its size,
 * modification and change times and git blob id, every directory and
 * symbolic link, recorded when setup extracts the tree (kernel-cache.ts).
 *
 * A cached tree is only a copy of a .deb, and a copy can be damaged — by a
 * disk, a stray editor, a half-finished tool. The manifest is what lets
 * seamlab notice before a damaged header turns into a silently different
 * build:
 * - every read a build makes is checked (treeExpectation() for the tree's
 *   DirFs, support/vfs.ts): a file whose size, modification time and
 *   change time are the recorded ones is taken as is, any other is hashed
 *   and must have the recorded blob id; a missing or extra entry is refused
 *   too. The change time is what makes the cheap path safe: any write sets
 *   it to the current time, and unlike the modification time no tool can
 *   set it back. (A tree copied elsewhere has new change times: its reads
 *   all take the hashing path, a few milliseconds a build.)
 * - `seamlab doctor` and `seamlab setup` check the whole tree the same
 *   cheap way (verifyTreeEntries, quick), `seamlab setup --verify` hashes
 *   every file (full).
 *
 * Two files in the tree's root. .seamlab-tree.json: plain JSON with the
 * fields older seamlab versions read (so they accept a tree extracted by
 * this one), the format, and the entries file's name, count and blob id.
 * .seamlab-tree-entries: one entry a line, sorted by path —
 * `f<TAB>size<TAB>mtimeMs<TAB>ctimeMs<TAB>blob<TAB>path`,
 * `d<TAB>listing digest<TAB>path` (the root's path is empty),
 * `l<TAB>target<TAB>path` — because every build reads it, and lines load
 * several times faster than the same entries as JSON arrays. A directory's
 * listing digest (names and kinds of its entries) lets a build check a
 * listing with one hash instead of one lookup per entry.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SeamlabError } from '../errors.js';
import { gitBlobId, writeFileAtomic } from '../support/cache.js';
import { createHash } from 'node:crypto';
import { entryKind, kindName, type EntryKind, type ExpectedEntry, type TreeExpectation } from '../support/vfs.js';
import { locationAt } from '../support/source-location.js';

/**
 * Bump when the manifest's shape changes: a tree whose manifest has another
 * format counts as stale, and setup re-extracts it (from the kept .deb).
 * 1 (no "format" field): tdxcall.S's blob id only. 2: every entry.
 */
export const TREE_MANIFEST_FORMAT = 2;

/** The manifest's files, in the tree's root. */
export const MANIFEST_FILE = '.seamlab-tree.json';
export const ENTRIES_FILE = '.seamlab-tree-entries';
const OWN_FILES: readonly string[] = [MANIFEST_FILE, ENTRIES_FILE];

/** One entry as recorded: a file (size, modification and change times in ms, git blob id), a directory (its listing digest), or a symbolic link (its target). */
export type TreeEntry = ['f', number, number, number, string] | ['d', string] | ['l', string];

const KIND_LETTERS: Record<EntryKind, string> = { file: 'f', dir: 'd', link: 'l', other: 'o' };
const LETTER_KINDS: Record<string, EntryKind> = { f: 'file', d: 'dir', l: 'link' };

/** The digest of a directory's listing: its entries' names and kinds (the manifest's own files left out of the root's). */
export function listingDigest(listing: readonly { name: string; kind: EntryKind }[]): string {
  const parts = listing.map((e) => `${e.name}\0${KIND_LETTERS[e.kind]}`).sort(byCodeUnit);
  return createHash('sha1').update(parts.join('\n')).digest('base64');
}

/** The manifest's JSON part. */
export interface TreeManifestHead {
  format: number;
  name: string;
  package: string;
  version: string;
  deb: string;
  tdxcallBlob: string;
  members: string[];
  /** The entries file: its name, how many entries it has, its git blob id. */
  entries: { file: string; count: number; blob: string };
}

export interface TreeManifest extends TreeManifestHead {
  /** Every entry under the root but the manifest's own files, by tree path. */
  list: TreeEntries;
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The entries of a manifest, parsed line by line as they are asked for. */
export class TreeEntries {
  /** Tree path → its line. */
  private readonly lines = new Map<string, string>();
  private children: Map<string, string[]> | undefined;

  constructor(text: string) {
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const line = text.slice(start, end);
      this.lines.set(line.slice(line.lastIndexOf('\t') + 1), line);
      start = end + 1;
    }
  }

  get size(): number {
    return this.lines.size;
  }

  /** Every entry's path but the root's. */
  *paths(): IterableIterator<string> {
    for (const p of this.lines.keys()) if (p !== '') yield p;
  }

  /** The entry at a tree path, or undefined when it has none (or a malformed line). */
  get(p: string): TreeEntry | undefined {
    const line = this.lines.get(p);
    if (line === undefined) return undefined;
    const f = line.split('\t');
    if (f[0] === 'f' && f.length === 6) return ['f', Number(f[1]), Number(f[2]), Number(f[3]), f[4]!];
    if (f[0] === 'd' && f.length === 3) return ['d', f[1]!];
    if (f[0] === 'l' && f.length === 3) return ['l', f[1]!];
    return undefined;
  }

  /** The sorted names in a directory. */
  names(dir: string): readonly string[] {
    if (!this.children) {
      this.children = new Map();
      for (const k of this.paths()) {
        const slash = k.lastIndexOf('/');
        const parent = slash < 0 ? '' : k.slice(0, slash);
        let list = this.children.get(parent);
        if (!list) this.children.set(parent, (list = []));
        list.push(k.slice(slash + 1));
      }
      for (const list of this.children.values()) list.sort(byCodeUnit);
    }
    return this.children.get(dir) ?? [];
  }

  /** The text of an entries file holding `entries`. */
  static format(entries: Map<string, TreeEntry>): string {
    return [...entries.keys()]
      .sort(byCodeUnit)
      .map((p) => `${entries.get(p)!.join('\t')}\t${p}\n`)
      .join('');
  }
}

/**
 * Records every entry under `root` (hashing every file). A name holding a
 * tab or a line break cannot be written in the entries file: refused (no
 * kernel tree has one).
 */
export function recordTreeEntries(root: string): Map<string, TreeEntry> {
  const entries = new Map<string, TreeEntry>();
  /** Records a directory's entries; returns its listing digest. */
  const walk = (rel: string): string => {
    const abs = rel === '' ? root : path.join(root, rel);
    const listing: { name: string; kind: EntryKind }[] = [];
    for (const e of fs.readdirSync(abs, { withFileTypes: true }).sort((a, b) => byCodeUnit(a.name, b.name))) {
      if (rel === '' && OWN_FILES.includes(e.name)) continue;
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      if (/[\t\n\r]/.test(p)) throw new SeamlabError('KERNEL_TREE_UNSUPPORTED', `the extracted tree has a name with a tab or line break: ${JSON.stringify(p)}`, 'this is not a Debian kernel source package seamlab knows; report it');
      const full = path.join(root, p);
      if (e.isDirectory()) {
        entries.set(p, ['d', walk(p)]);
      } else if (e.isSymbolicLink()) {
        const target = fs.readlinkSync(full);
        if (/[\t\n\r]/.test(target)) throw new SeamlabError('KERNEL_TREE_UNSUPPORTED', `the extracted tree has a link to a name with a tab or line break: ${p}`, 'this is not a Debian kernel source package seamlab knows; report it');
        entries.set(p, ['l', target]);
      } else if (e.isFile()) {
        const st = fs.lstatSync(full);
        entries.set(p, ['f', st.size, st.mtimeMs, st.ctimeMs, gitBlobId(fs.readFileSync(full))]);
      } else {
        // A device or a socket is not recorded: checks find it as not part of the tree.
        continue;
      }
      listing.push({ name: e.name, kind: entryKind(e) });
    }
    return listingDigest(listing);
  };
  entries.set('', ['d', walk('')]);
  return entries;
}

/**
 * Writes both manifest files into `root`, the entries first, each through a
 * temporary file and a rename (a tree in use is only ever seen with its old
 * manifest or its new one). Returns the manifest as written.
 */
export function writeManifest(root: string, head: Omit<TreeManifestHead, 'format' | 'entries'>, entries: Map<string, TreeEntry>): TreeManifest {
  const text = TreeEntries.format(entries);
  const full: TreeManifestHead = { format: TREE_MANIFEST_FORMAT, ...head, entries: { file: ENTRIES_FILE, count: entries.size, blob: gitBlobId(Buffer.from(text, 'utf8')) } };
  for (const [name, body] of [[ENTRIES_FILE, text], [MANIFEST_FILE, JSON.stringify(full, null, 2) + '\n']] as const) {
    if (!writeFileAtomic(path.join(root, name), body)) throw new SeamlabError('KERNEL_TREE_UNWRITABLE', `cannot write ${path.join(root, name)}`, 'check free disk space and permissions in the cache, then re-run scripts/setup');
  }
  return { ...full, list: new TreeEntries(text) };
}

/** The first way two recordings of a tree differ in content (paths, kinds, blob ids, link targets; times aside), or undefined when they hold the same tree. */
export function contentDifference(have: Map<string, TreeEntry>, want: Map<string, TreeEntry>): string | undefined {
  for (const [p, w] of want) {
    const h = have.get(p);
    if (h === undefined) return `${p} is missing`;
    if (h[0] !== w[0]) return `${p} is ${kindName(LETTER_KINDS[h[0]]!)}, expected ${kindName(LETTER_KINDS[w[0]]!)}`;
    if (h[0] === 'f' && h[4] !== (w as typeof h)[4]) return `${p} differs from the package`;
    if (h[0] !== 'f' && h[1] !== w[1]) return h[0] === 'l' ? `${p} links elsewhere` : `${p} is listed otherwise`;
  }
  for (const p of have.keys()) if (!want.has(p)) return `${p} is not part of the package`;
  return undefined;
}

export type ManifestRead = { ok: true; manifest: TreeManifest } | { ok: false; reason: 'no-manifest' | 'stale-manifest'; detail: string };

const parsed = new Map<string, { stamp: string; manifest: TreeManifest }>();

/** Size, times and inode of a file, for "unchanged since last read". */
function stampOf(file: string): string {
  const st = fs.statSync(file);
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/**
 * Reads a tree's manifest (once per process while its files are unchanged).
 * Unreadable or not JSON: no-manifest; written by a seamlab whose manifests
 * had another format, or whose entries file is missing or does not match
 * its blob id: stale.
 */
export function readManifest(dir: string): ManifestRead {
  const file = path.join(dir, MANIFEST_FILE);
  const entriesFile = path.join(dir, ENTRIES_FILE);
  let stamp: string;
  let text: string;
  try {
    stamp = stampOf(file);
    try {
      stamp += `/${stampOf(entriesFile)}`;
    } catch {
      // Reported below, when the manifest says which entries file it wants.
    }
    const known = parsed.get(file);
    if (known?.stamp === stamp) return { ok: true, manifest: known.manifest };
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { ok: false, reason: 'no-manifest', detail: `${file} is missing or unreadable` };
  }
  let m: Partial<TreeManifestHead>;
  try {
    m = JSON.parse(text) as Partial<TreeManifestHead>;
  } catch {
    return { ok: false, reason: 'no-manifest', detail: `${file} is not JSON` };
  }
  if (typeof m !== 'object' || m === null || m.format !== TREE_MANIFEST_FORMAT) {
    return { ok: false, reason: 'stale-manifest', detail: `${dir} was extracted by an older seamlab (manifest format ${JSON.stringify((m as { format?: unknown } | null)?.format ?? 1)}; this seamlab checks reads against format ${TREE_MANIFEST_FORMAT}, with every file's blob id)` };
  }
  const fields = ['name', 'package', 'version', 'deb', 'tdxcallBlob'] as const;
  const e = m.entries;
  if (!Array.isArray(m.members) || fields.some((f) => typeof m[f] !== 'string') || typeof e !== 'object' || e === null || e.file !== ENTRIES_FILE || typeof e.count !== 'number' || typeof e.blob !== 'string') {
    return { ok: false, reason: 'stale-manifest', detail: `${file} is malformed` };
  }
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(entriesFile);
  } catch {
    return { ok: false, reason: 'stale-manifest', detail: `${entriesFile} is missing or unreadable` };
  }
  // ~1 ms: a damaged entries file would otherwise show as damaged files.
  if (gitBlobId(bytes) !== e.blob) return { ok: false, reason: 'stale-manifest', detail: `${entriesFile} does not match its blob id in ${MANIFEST_FILE}` };
  const list = new TreeEntries(bytes.toString('utf8'));
  if (list.size !== e.count) return { ok: false, reason: 'stale-manifest', detail: `${entriesFile} has ${list.size} entries, ${MANIFEST_FILE} says ${e.count}` };
  const manifest: TreeManifest = { ...(m as TreeManifestHead), list };
  parsed.set(file, { stamp, manifest });
  return { ok: true, manifest };
}

/** The error for a tree entry that is not what setup extracted: positioned at the file, with the fix. */
export function treeDamagedError(name: string, dir: string, p: string, problem: string): SeamlabError {
  return new SeamlabError('KERNEL_TREE_DAMAGED', `cached kernel tree ${name} is damaged: ${p} ${problem}`, 'run scripts/setup: it re-extracts the tree from the .deb kept in the cache', {
    where: locationAt({ file: p, line: 1 }),
    notes: [`tree: ${dir}`],
  });
}

/** What the tree's DirFs checks its reads against (support/vfs.ts). */
export function treeExpectation(manifest: TreeManifest, dir: string): TreeExpectation {
  const list = manifest.list;
  return {
    entry(p): ExpectedEntry | undefined {
      if (OWN_FILES.includes(p)) return { kind: 'file', size: -1, mtimeMs: -1, ctimeMs: -1, blob: undefined };
      const e = list.get(p);
      if (e === undefined) return undefined;
      return e[0] === 'f' ? { kind: 'file', size: e[1], mtimeMs: e[2], ctimeMs: e[3], blob: e[4] } : e[0] === 'd' ? { kind: 'dir' } : { kind: 'link', target: e[1] };
    },
    listingProblem(p, listing) {
      return listingProblem(list, p, listing);
    },
    mismatch(p, problem) {
      return treeDamagedError(manifest.name, dir, p, problem);
    },
  };
}

/** What differs between a directory's listing on disk and the recorded one: by digest, then (when it differs) entry by entry to name the first difference. */
function listingProblem(list: TreeEntries, dir: string, listing: readonly { name: string; kind: EntryKind }[]): TreeProblem | undefined {
  const own = dir === '' ? listing.filter((e) => !OWN_FILES.includes(e.name)) : listing;
  const want = list.get(dir);
  if (want?.[0] !== 'd') return { path: dir, problem: want === undefined ? 'is not part of the extracted tree' : `is a directory, expected ${kindName(LETTER_KINDS[want[0]]!)}` };
  if (listingDigest(own) === want[1]) return undefined;
  const child = (name: string) => (dir === '' ? name : `${dir}/${name}`);
  const names = list.names(dir);
  const problems: TreeProblem[] = [];
  const have = new Set<string>();
  for (const e of own) {
    have.add(e.name);
    const w = list.get(child(e.name));
    if (w === undefined) problems.push({ path: child(e.name), problem: 'is not part of the extracted tree' });
    else if (LETTER_KINDS[w[0]] !== e.kind) problems.push({ path: child(e.name), problem: `is ${kindName(e.kind)}, expected ${kindName(LETTER_KINDS[w[0]]!)}` });
  }
  for (const n of names) if (!have.has(n)) problems.push({ path: child(n), problem: 'is missing' });
  problems.sort((a, b) => byCodeUnit(a.path, b.path));
  return problems[0] ?? { path: dir, problem: 'is listed otherwise than recorded (the manifest may be damaged)' };
}

/** One entry of a tree on disk that is not what the manifest says. */
export interface TreeProblem { path: string; problem: string }


/**
 * Checks every entry of the tree on disk against its manifest: every
 * directory listed, every file's size, modification and change times
 * compared (and the file hashed when one differs — or always, with `full`),
 * every link's target read. Returns what differs, in path order.
 */
export function verifyTreeEntries(dir: string, manifest: TreeManifest, opts: { full?: boolean } = {}): TreeProblem[] {
  const problems: TreeProblem[] = [];
  const list = manifest.list;
  const seen = new Set<string>();
  const walk = (rel: string): void => {
    let dirents: fs.Dirent[];
    try {
      dirents = fs.readdirSync(rel === '' ? dir : path.join(dir, rel), { withFileTypes: true });
    } catch (e) {
      problems.push({ path: rel, problem: `cannot be listed (${(e as NodeJS.ErrnoException).code ?? String(e)})` });
      return;
    }
    for (const d of dirents) {
      if (rel === '' && OWN_FILES.includes(d.name)) continue;
      const p = rel === '' ? d.name : `${rel}/${d.name}`;
      seen.add(p);
      const want = list.get(p);
      const kind = d.isDirectory() ? 'd' : d.isSymbolicLink() ? 'l' : d.isFile() ? 'f' : undefined;
      if (want === undefined) {
        problems.push({ path: p, problem: 'is not part of the extracted tree' });
      } else if (kind !== want[0]) {
        problems.push({ path: p, problem: `is ${kindName(kind === undefined ? 'other' : LETTER_KINDS[kind]!)}, expected ${kindName(LETTER_KINDS[want[0]]!)}` });
      } else if (want[0] === 'd') {
        walk(p);
      } else if (want[0] === 'l') {
        const target = fs.readlinkSync(path.join(dir, p));
        if (target !== want[1]) problems.push({ path: p, problem: `links to ${target}, expected ${want[1]}` });
      } else {
        const problem = checkFile(path.join(dir, p), want, opts.full === true);
        if (problem) problems.push({ path: p, problem });
      }
    }
  };
  walk('');
  for (const p of list.paths()) if (!seen.has(p)) problems.push({ path: p, problem: 'is missing' });
  return problems.sort((a, b) => byCodeUnit(a.path, b.path));
}

/** Why a file differs from its entry, or undefined when it does not. */
function checkFile(full: string, want: ['f', number, number, number, string], hash: boolean): string | undefined {
  try {
    const st = fs.lstatSync(full);
    if (!hash && st.size === want[1] && st.mtimeMs === want[2] && st.ctimeMs === want[3]) return undefined;
    const blob = gitBlobId(fs.readFileSync(full));
    return blob === want[4] ? undefined : `differs from what setup extracted (blob ${blob}, expected ${want[4]})`;
  } catch (e) {
    return `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
}
