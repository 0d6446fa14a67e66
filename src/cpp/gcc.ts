/**
 * The gcc command equivalent to a seamlab preprocessing run, for the
 * oracle tests and the benchmark: the revision's files and the generated
 * headers are laid out in a temporary directory and gcc runs there with the
 * flags Kbuild would pass.
 *
 * The layout links to the kernel tree: directories that hold generated or
 * patched files — and the directories on the way to the files being
 * preprocessed, so `#include "../../x"` climbs inside the layout exactly as
 * seamlab resolves it — are real directories whose other entries are links;
 * every other directory is one link to the tree.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DirFs, OverlayFs, type ReadonlyFs } from '../support/vfs.js';
import type { CppEnvironment } from '../kbuild/environment.js';

export interface GccInvocation {
  /** Directory to run gcc in (the top of the laid-out tree). */
  cwd: string;
  /** Arguments after "gcc" (ends with the file). */
  argv: string[];
  /** Environment variables gcc needs for reproducible output. */
  env: Record<string, string>;
  /** Removes the temporary directory. */
  cleanup(): void;
}

/** Links every entry of `src` into `dest`, except the subdirectories in `real` (recreated and filled the same way). */
function linkDir(src: string, dest: string, rel: string, real: Set<string>): void {
  fs.mkdirSync(dest, { recursive: true });
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    if (e.name === '.seamlab-tree.json') continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    const s = path.join(src, e.name);
    const d = path.join(dest, e.name);
    if (e.isDirectory() && real.has(r)) linkDir(s, d, r, real);
    else if (e.isDirectory() || e.isFile()) fs.symlinkSync(s, d);
    else if (e.isSymbolicLink()) {
      try {
        fs.symlinkSync(fs.realpathSync(s), d);
      } catch {
        // A dangling link in the tree: gcc cannot read it either.
      }
    }
  }
}

function copyFs(src: ReadonlyFs, rel: string, dest: string): void {
  for (const name of src.listDir(rel) ?? []) {
    const p = rel ? `${rel}/${name}` : name;
    if (src.isDirectory(p)) copyFs(src, p, dest);
    else {
      const text = src.readFile(p);
      if (text === undefined) continue;
      const d = path.join(dest, p);
      fs.mkdirSync(path.dirname(d), { recursive: true });
      fs.writeFileSync(d, text);
    }
  }
}

function ancestors(p: string, into: Set<string>): void {
  const parts = p.split('/');
  for (let i = 1; i < parts.length; i++) into.add(parts.slice(0, i).join('/'));
}

/**
 * Lays out `files` (a DirFs, OverlayFs layers over one, or any ReadonlyFs)
 * under `dest`; `mainFiles` are the files gcc will be run on.
 */
export function layOut(files: ReadonlyFs, dest: string, mainFiles: string[] = []): void {
  const layers: OverlayFs[] = [];
  let base: ReadonlyFs = files;
  while (base instanceof OverlayFs) {
    layers.push(base);
    base = base.base;
  }
  const real = new Set<string>();
  for (const layer of layers) for (const p of [...layer.changedPaths(), ...layer.deletedPaths()]) ancestors(p, real);
  for (const f of mainFiles) ancestors(f, real);
  if (base instanceof DirFs) linkDir(base.root, dest, '', real);
  else copyFs(base, '', dest);
  for (const layer of layers.reverse()) {
    for (const p of layer.deletedPaths()) fs.rmSync(path.join(dest, p), { force: true });
    for (const p of layer.changedPaths()) {
      const d = path.join(dest, p);
      fs.mkdirSync(path.dirname(d), { recursive: true });
      fs.rmSync(d, { force: true });
      fs.writeFileSync(d, layer.readFile(p)!);
    }
  }
}

/** A laid-out tree for one environment, and the gcc command for any file of it. */
export interface GccTree {
  cwd: string;
  /** Arguments after "gcc" to preprocess `file` (tree-relative). */
  argv(file: string): string[];
  env: Record<string, string>;
  /** A plain function (no `this`): handed on as it is. */
  cleanup: () => void;
}

/** Lays the environment out once for preprocessing `files` (tree-relative) with gcc. */
export function gccTree(env: CppEnvironment, files: string[]): GccTree {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-gcc-'));
  try {
    layOut(env.files, dir, files);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    cwd: dir,
    argv: (file) => ['-E', '-P', ...env.flagsFor(file).argv, '-x', 'assembler-with-cpp', file],
    // __DATE__/__TIME__ from the same epoch seamlab uses.
    env: { SOURCE_DATE_EPOCH: String(env.cppConfig('main.S').sourceDateEpoch ?? 0), LC_ALL: 'C' },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** gcc -E -P for `file` with the environment's generated headers and Kbuild's flags. */
export function gccInvocation(env: CppEnvironment, file: string): GccInvocation {
  const t = gccTree(env, [file]);
  return { cwd: t.cwd, argv: t.argv(file), env: t.env, cleanup: t.cleanup };
}
