/**
 * Where `#include` looks, in GNU cpp's order:
 *
 * - `"file"`: the directory of the file containing the directive (as its
 *   path was spelled: `arch/x86/coco/tdx/../../virt/vmx/tdx/` stays
 *   unnormalised, like gcc), then the -iquote dirs, then the -I dirs;
 * - `<file>`: the -I dirs;
 * - `#include_next`: the dirs after the one where the current file was
 *   found (from the start of the chain if it was found next to its
 *   includer; a plain search in the main file, with a warning).
 *
 * Directories are tree-relative (the kernel tree plus the generated files
 * layered over it); a path that leaves the tree is never found.
 */
import { normalizeTreePath, type ReadonlyFs } from '../support/vfs.js';

export interface IncludeDir {
  /** As written on the command line, e.g. "./arch/x86/include". */
  spelled: string;
}

export interface FoundFile {
  /** Normalised tree-relative path (what is read; what positions show). */
  tree: string;
  /** Path as gcc forms it (directory as spelled + "/" + name): __FILE__ shows this. */
  spelled: string;
  /**
   * Index in the chain of the directory where it was found; -1 when found
   * next to the including file (or given on the command line), -2 for the
   * main file (no search path).
   */
  dirIndex: number;
}

export interface SearchChain {
  dirs: IncludeDir[];
  /** Index of the first -I dir (the dirs before it are -iquote only). */
  bracketStart: number;
}

export type IncludeKind = 'include' | 'include_next';

export interface SearchResult {
  found?: FoundFile;
  /** Directories looked in, in order (for the "not found" message). */
  searched: string[];
  /** include_next in the main file degrades to include (gcc warns). */
  nextInPrimary?: boolean;
}

/** Directory part of a spelled path, with its trailing slash ("" for a bare name). */
export function dirNameOf(spelled: string): string {
  const i = spelled.lastIndexOf('/');
  return i < 0 ? '' : spelled.slice(0, i + 1);
}

function join(dir: string, name: string): string {
  if (dir === '') return name;
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** A readable regular file (ReadonlyFs.readFile is undefined for directories). */
export function isRegularFile(fs: ReadonlyFs, tree: string | undefined): tree is string {
  return tree !== undefined && tree !== '' && fs.readFile(tree) !== undefined;
}

/**
 * A file test for a tree that does not change: directory listings are read
 * once, so the many include-path misses of a large scan cost no system calls.
 */
export function listingFileTest(fs: ReadonlyFs): (tree: string | undefined) => boolean {
  const listings = new Map<string, Set<string> | null>();
  return (tree) => {
    if (tree === undefined || tree === '') return false;
    const slash = tree.lastIndexOf('/');
    const dir = slash < 0 ? '' : tree.slice(0, slash);
    let names = listings.get(dir);
    if (names === undefined) {
      const l = fs.listDir(dir);
      names = l ? new Set(l) : null;
      listings.set(dir, names);
    }
    return names !== null && names.has(tree.slice(slash + 1)) && fs.readFile(tree) !== undefined;
  };
}

/** Looks a header up; `current` is the file containing the directive. */
export function searchInclude(
  fs: ReadonlyFs,
  chain: SearchChain,
  name: string,
  angled: boolean,
  kind: IncludeKind,
  current: FoundFile,
  isFile: (tree: string | undefined) => boolean = (t) => isRegularFile(fs, t),
): SearchResult {
  const searched: string[] = [];
  if (name.startsWith('/')) {
    return { searched: [`(absolute path ${name} is outside the tree)`] };
  }
  const tryDir = (dirSpelled: string, index: number): FoundFile | undefined => {
    const spelled = join(dirSpelled, name);
    const tree = normalizeTreePath(spelled);
    searched.push(dirSpelled === '' ? '.' : dirSpelled.replace(/\/$/, ''));
    return isFile(tree) ? { tree: tree!, spelled, dirIndex: index } : undefined;
  };

  let start: number;
  let nextInPrimary = false;
  if (kind === 'include_next' && current.dirIndex >= 0) start = current.dirIndex + 1;
  else if (kind === 'include_next' && current.dirIndex === -1) start = 0;
  else {
    if (kind === 'include_next') nextInPrimary = true;
    if (!angled) {
      const here = tryDir(dirNameOf(current.spelled), -1);
      if (here) return { found: here, searched, nextInPrimary };
      start = 0;
    } else start = chain.bracketStart;
  }
  for (let i = start; i < chain.dirs.length; i++) {
    const f = tryDir(chain.dirs[i]!.spelled, i);
    if (f) return { found: f, searched, nextInPrimary };
  }
  return { searched, nextInPrimary };
}
