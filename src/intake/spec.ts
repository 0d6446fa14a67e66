/**
 * Revision specs, as accepted everywhere a revision is named:
 *
 *   linux-6.1 | linux-6.12        the Debian trees from the setup cache
 *   v3                            linux-6.1 + the seed patch mail (built-in)
 *   PATH                          a kernel tree (a directory with arch/x86)
 *   BASE+PATCH[+PATCH…]           a built-in or tree plus patch files, applied in order
 *
 * '+' may also occur inside a path: the spec is split at '+' and the pieces
 * are re-joined greedily to the longest base, then the longest existing
 * patch files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../support/package-root.js';
import { fileKind } from '../support/user-files.js';
import { SeamlabError } from '../errors.js';

export type BaseTreeName = 'linux-6.1' | 'linux-6.12';

export interface BuiltinRevision {
  name: string;
  /** The cached Debian tree it starts from. */
  base: BaseTreeName;
  /** Patch files, relative to the seamlab package root, applied in order. */
  patches: string[];
  description: string;
}

export const BUILTIN_REVISIONS: readonly BuiltinRevision[] = [
  { name: 'linux-6.1', base: 'linux-6.1', patches: [], description: 'Debian linux-source-6.1: the original TDX_MODULE_CALL (Linux 5.19–6.6)' },
  { name: 'linux-6.12', base: 'linux-6.12', patches: [], description: 'Debian linux-source-6.12: the TDX_MODULE_CALL rewrite of Linux 6.7 with ret/saved variants' },
  {
    name: 'v3',
    base: 'linux-6.1',
    patches: ['fixtures/000_aa2199c2670e7995.txt'],
    description: 'linux-6.1 + "[PATCH v3 03/21] x86/virt/tdx: Implement the SEAMCALL base function" (2022-04-06, a whitespace-damaged web-archive copy)',
  },
];

export function builtinRevision(name: string): BuiltinRevision | undefined {
  return BUILTIN_REVISIONS.find((b) => b.name === name);
}

export interface SpecPatch {
  /** Absolute path. */
  file: string;
  /** How messages name it (as the user wrote it, or package-relative for built-ins). */
  display: string;
}

export interface ParsedSpec {
  spec: string;
  base: { kind: 'builtin'; name: BaseTreeName } | { kind: 'tree'; dir: string };
  /** The built-in revision the spec starts from (e.g. "v3"), when it is one. */
  builtin?: string;
  patches: SpecPatch[];
}


function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

const SPEC_HINT = `use linux-6.1, linux-6.12, v3, a path to a kernel tree, or BASE+PATCH[+PATCH…]`;

export function parseRevisionSpec(spec: string, cwd: string = process.cwd()): ParsedSpec {
  if (spec.trim() === '') throw new SeamlabError('SPEC_EMPTY', 'empty revision spec', SPEC_HINT);
  const parts = spec.split('+');
  if (parts.some((p) => p === '')) {
    throw new SeamlabError('SPEC_EMPTY_PART', `revision spec ${JSON.stringify(spec)} has an empty part between '+' signs`, SPEC_HINT);
  }
  let k = parts.length;
  let base: ParsedSpec['base'] | undefined;
  let builtin: BuiltinRevision | undefined;
  for (; k >= 1; k--) {
    const cand = parts.slice(0, k).join('+');
    builtin = builtinRevision(cand);
    if (builtin) {
      base = { kind: 'builtin', name: builtin.base };
      break;
    }
    const dir = path.resolve(cwd, cand);
    if (isDir(dir)) {
      if (!isDir(path.join(dir, 'arch', 'x86'))) {
        throw new SeamlabError('SPEC_NOT_A_TREE', `${cand} is a directory but not a kernel tree (no arch/x86 in it)`, 'give the top directory of a Linux source tree', { notes: [`resolved to ${dir}`] });
      }
      base = { kind: 'tree', dir };
      break;
    }
  }
  if (!base) {
    if (isFile(path.resolve(cwd, parts[0]!))) {
      throw new SeamlabError('SPEC_NO_BASE', `${parts[0]} is a patch file, but a revision needs a base tree first`, `write e.g. linux-6.1+${spec}`);
    }
    throw new SeamlabError('SPEC_UNKNOWN', `unknown revision ${JSON.stringify(parts[0])}: not a built-in and not a directory`, SPEC_HINT, {
      notes: [`built-ins: ${BUILTIN_REVISIONS.map((b) => b.name).join(', ')}`, `paths are taken relative to ${cwd}`],
    });
  }
  const patches: SpecPatch[] = [];
  if (builtin) {
    const root = builtin.patches.length ? packageRoot() : '';
    for (const p of builtin.patches) patches.push({ file: path.join(root, p), display: p });
  }
  let i = k;
  while (i < parts.length) {
    let j = parts.length;
    for (; j > i; j--) if (isFile(path.resolve(cwd, parts.slice(i, j).join('+')))) break;
    if (j === i) {
      // Something by that name that is not a regular file (a directory, a FIFO): say what it is, not that it is missing.
      for (let e = parts.length; e > i; e--) {
        const name = parts.slice(i, e).join('+');
        let st: fs.Stats | undefined;
        try {
          st = fs.statSync(path.resolve(cwd, name));
        } catch {
          st = undefined;
        }
        if (st) {
          throw new SeamlabError('SPEC_PATCH_NOT_A_FILE', `patch ${name} is ${fileKind(st)}, not a patch file`, 'give a mail, an mbox or a unified diff file', {
            notes: [`in revision spec ${JSON.stringify(spec)}`, `resolved to ${path.resolve(cwd, name)}`],
          });
        }
      }
      const missing = parts[i]!;
      throw new SeamlabError('SPEC_PATCH_NOT_FOUND', `patch file ${missing} does not exist`, 'check the path (relative paths are taken from the current directory)', {
        notes: [`in revision spec ${JSON.stringify(spec)}`, `resolved to ${path.resolve(cwd, missing)}`],
      });
    }
    const display = parts.slice(i, j).join('+');
    patches.push({ file: path.resolve(cwd, display), display });
    i = j;
  }
  return { spec, base, ...(builtin ? { builtin: builtin.name } : {}), patches };
}

/** True when `s` names a revision (a built-in, a kernel tree, or BASE+PATCH… whose files exist). */
export function isRevisionSpec(s: string, cwd: string = process.cwd()): boolean {
  try {
    parseRevisionSpec(s, cwd);
    return true;
  } catch {
    return false;
  }
}
