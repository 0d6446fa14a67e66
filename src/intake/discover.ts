/**
 * Finding a revision's TDX entry points and their C ABI from the tree itself
 * (no per-revision tables).
 *
 * 1. Entry points: every `SYM_FUNC_START(name)` … `SYM_FUNC_END(name)` in an
 *    arch/x86 `.S` file whose body invokes `TDX_MODULE_CALL`; the macro's
 *    arguments (`host=1 ret=1 …`) say how (host=1: SEAMCALL, host=0: TDCALL).
 * 2. Prototype: `… name(…);` in the headers next to the `.S`, then
 *    arch/x86/include/asm/**, then include/linux.
 * 3. ABI: System V AMD64 — the first six integer/pointer parameters go in
 *    rdi, rsi, rdx, rcx, r8, r9 (ABI §3.2.3); a pointer to a struct carries
 *    the struct's layout computed from its definition in the tree.
 */
import { SeamlabError } from '../errors.js';
import { locationAt, type SourcePos } from '../support/source-location.js';
import { codeView, lineAt, parsePrototype, type BaseType, type DeclType, type ParsedPrototype } from './c-decl.js';
import { findStruct } from './c-layout.js';
import { SYSV_ARG_REGS, type AbiParam, type CType, type EntryFunction, type FunctionAbi, type ModuleCallUse, type StructLayout } from './types.js';
import type { ReadonlyFs } from '../support/vfs.js';

export const ENTRY_SCAN_ROOT = 'arch/x86';
export const ASM_INCLUDE_DIR = 'arch/x86/include/asm';
export const LINUX_INCLUDE_DIR = 'include/linux';
const MACRO = 'TDX_MODULE_CALL';
const FUNC_START = /^(SYM_FUNC_START|SYM_FUNC_START_NOALIGN|SYM_FUNC_START_WEAK|SYM_FUNC_START_WEAK_NOALIGN|SYM_TYPED_FUNC_START)\s*\(\s*([A-Za-z_][\w]*)\s*\)/;
const FUNC_END = /^SYM_FUNC_END\s*\(\s*([A-Za-z_][\w]*)\s*\)/;

export interface EntryPointUse {
  name: string;
  sourceFile: string;
  definedAt: SourcePos;
  moduleCall: ModuleCallUse;
  kind: 'seamcall' | 'tdcall';
}

/**
 * A cache key for the base tree plus what an overlay changed on top of it:
 * directory listings and the base's .S scan are computed once per base.
 */
export interface DiscoveryOptions {
  /** Caches listings and the .S scan of `base` under this key (the base tree's directory). */
  cacheKey?: string;
  /** The layer under the overlay (the base tree); `files` itself when absent. */
  base?: ReadonlyFs;
  /** Paths the overlay adds or replaces, and deletes. */
  changed?: readonly string[];
  deleted?: readonly string[];
}

interface BaseScan {
  /** Files under a directory (recursive or flat), by "dir|ext|rec". */
  listings: Map<string, string[]>;
  /** Entry points per .S file (only files that mention the macro). */
  uses: Map<string, EntryPointUse[]>;
  /** Parameter names of `.macro TDX_MODULE_CALL`, per defining file. */
  macroParams: Map<string, string[] | undefined>;
}

const baseScans = new Map<string, BaseScan>();

/** Files below `dir` with the extension: a directory's files (sorted) before its subdirectories (sorted). */
function listFiles(files: ReadonlyFs, dir: string, ext: string, recursive: boolean, depth = 0): string[] {
  const out: string[] = [];
  const names = files.listDir(dir);
  if (!names || depth > 24) return out;
  const subdirs: string[] = [];
  for (const n of names) {
    const p = `${dir}/${n}`;
    if (files.isDirectory(p)) {
      if (recursive) subdirs.push(p);
    } else if (n.endsWith(ext)) out.push(p);
  }
  for (const d of subdirs) out.push(...listFiles(files, d, ext, recursive, depth + 1));
  return out;
}

/** The order listFiles produces. */
function depthFirst(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let k = 0; k < Math.min(pa.length, pb.length); k++) {
    if (pa[k] === pb[k]) continue;
    const aFile = k === pa.length - 1;
    const bFile = k === pb.length - 1;
    if (aFile !== bFile) return aFile ? -1 : 1;
    return pa[k]! < pb[k]! ? -1 : 1;
  }
  return pa.length - pb.length;
}

function under(p: string, dir: string, recursive: boolean): boolean {
  if (!p.startsWith(dir + '/')) return false;
  return recursive || !p.slice(dir.length + 1).includes('/');
}

class Scanner {
  private readonly scan: BaseScan;
  private readonly base: ReadonlyFs;
  private readonly changed: Set<string>;
  private readonly deleted: Set<string>;

  constructor(files: ReadonlyFs, opts: DiscoveryOptions) {
    const key = opts.cacheKey;
    let scan = key !== undefined ? baseScans.get(key) : undefined;
    if (!scan) {
      scan = { listings: new Map(), uses: new Map(), macroParams: new Map() };
      if (key !== undefined) baseScans.set(key, scan);
    }
    this.scan = scan;
    this.base = opts.base ?? files;
    this.changed = new Set(opts.changed ?? []);
    this.deleted = new Set(opts.deleted ?? []);
  }

  /** The base listing (cached) adjusted for the overlay's added and deleted files. */
  list(dir: string, ext: string, recursive: boolean): string[] {
    const k = `${dir}|${ext}|${recursive}`;
    let l = this.scan.listings.get(k);
    if (!l) {
      l = listFiles(this.base, dir, ext, recursive);
      this.scan.listings.set(k, l);
    }
    if (this.changed.size === 0 && this.deleted.size === 0) return l;
    const set = new Set(l.filter((p) => !this.deleted.has(p)));
    for (const p of this.changed) if (p.endsWith(ext) && under(p, dir, recursive)) set.add(p);
    return [...set].sort(depthFirst);
  }

  /** Entry-point uses in a .S file (cached for base files). */
  usesIn(file: string, text: string, macroParams: (file: string) => string[] | undefined): EntryPointUse[] {
    const fromBase = !this.changed.has(file);
    if (fromBase && this.scan.uses.has(file)) return this.scan.uses.get(file)!;
    const u = scanAsm(file, text, macroParams);
    if (fromBase) this.scan.uses.set(file, u);
    return u;
  }

  macroParams(file: string, text: string): string[] | undefined {
    const fromBase = !this.changed.has(file);
    if (fromBase && this.scan.macroParams.has(file)) return this.scan.macroParams.get(file);
    const m = /^[ \t]*\.macro[ \t]+TDX_MODULE_CALL\b([^\n]*)$/m.exec(codeView(text));
    const params = m ? m[1]!.split(/[\s,]+/).filter(Boolean).map((p) => p.split(/[:=]/)[0]!) : undefined;
    if (fromBase) this.scan.macroParams.set(file, params);
    return params;
  }
}

/** The TDX_MODULE_CALL entry points in one .S file. */
function scanAsm(file: string, text: string, macroParams: (file: string) => string[] | undefined): EntryPointUse[] {
  const view = codeView(text);
  const out: EntryPointUse[] = [];
  let open: { name: string; at: SourcePos } | undefined;
  let use: ModuleCallUse | undefined;
  const lines = view.split('\n');
  for (let ln = 0; ln < lines.length; ln++) {
    for (const stmtRaw of lines[ln]!.split(';')) {
      const stmt = stmtRaw.trim();
      if (!stmt) continue;
      let m: RegExpExecArray | null;
      if ((m = FUNC_START.exec(stmt))) {
        open = { name: m[2]!, at: { file, line: ln + 1 } };
        use = undefined;
      } else if ((m = FUNC_END.exec(stmt))) {
        if (open && m[1] === open.name && use) {
          const host = use.args.host;
          if (host !== '0' && host !== '1') {
            throw new SeamlabError('ABI_MODULE_CALL_ARGS', `${MACRO} in ${open.name} has no host=0 or host=1 argument`, 'write the macro use as TDX_MODULE_CALL host=1 (SEAMCALL) or host=0 (TDCALL)', { where: { ...locationAt(use.at), text: text.split('\n')[use.at.line - 1] } });
          }
          out.push({ name: open.name, sourceFile: file, definedAt: open.at, moduleCall: use, kind: host === '1' ? 'seamcall' : 'tdcall' });
        }
        open = undefined;
        use = undefined;
      } else if (open && (stmt === MACRO || stmt.startsWith(MACRO + ' ') || stmt.startsWith(MACRO + '\t'))) {
        if (use) continue; // one expansion per function is what the macro supports; the first one defines the ABI
        const at = { file, line: ln + 1 };
        const args: Record<string, string> = {};
        const positional: string[] = [];
        for (const a of stmt.slice(MACRO.length).split(/[\s,]+/).filter(Boolean)) {
          const eq = a.indexOf('=');
          if (eq > 0) args[a.slice(0, eq)] = a.slice(eq + 1);
          else positional.push(a);
        }
        if (positional.length) {
          const params = macroParams(file);
          if (!params) {
            throw new SeamlabError('ABI_MODULE_CALL_ARGS', `${MACRO} in ${open.name} has positional arguments and no .macro ${MACRO} definition was found to name them`, 'write the arguments as name=value (host=1 ret=1)', { where: locationAt(at) });
          }
          positional.forEach((v, k) => {
            if (params[k] !== undefined) args[params[k]] ??= v;
          });
        }
        use = { args, at };
      }
    }
  }
  return out;
}

/** Every TDX_MODULE_CALL entry point under arch/x86, sorted by file and line. */
export function findEntryPoints(files: ReadonlyFs, opts: DiscoveryOptions = {}): EntryPointUse[] {
  const sc = new Scanner(files, opts);
  const sFiles = sc.list(ENTRY_SCAN_ROOT, '.S', true);
  const texts = new Map<string, string>();
  for (const f of sFiles) {
    const t = files.readFile(f);
    if (t !== undefined && t.includes(MACRO)) texts.set(f, t);
  }
  let params: string[] | undefined;
  let paramsDone = false;
  const macroParams = (): string[] | undefined => {
    if (!paramsDone) {
      paramsDone = true;
      for (const [f, t] of texts) if ((params = sc.macroParams(f, t))) break;
    }
    return params;
  };
  const out: EntryPointUse[] = [];
  for (const [f, t] of texts) out.push(...sc.usesIn(f, t, macroParams));
  return out.sort((a, b) => (a.sourceFile < b.sourceFile ? -1 : a.sourceFile > b.sourceFile ? 1 : a.definedAt.line - b.definedAt.line));
}

/** A place prototypes are looked for: a label for messages and its header files (listed on first use). */
export interface SearchPlace {
  label: string;
  files(): string[];
}

/** Where prototypes are looked for, in search order: next to the .S, asm/** (including asm/shared), include/linux. */
export function prototypeSearchPlaces(files: ReadonlyFs, sourceFile: string, opts: DiscoveryOptions = {}): SearchPlace[] {
  const sc = new Scanner(files, opts);
  const dir = sourceFile.includes('/') ? sourceFile.slice(0, sourceFile.lastIndexOf('/')) : '';
  const lazy = (label: string, d: string, recursive: boolean): SearchPlace => {
    let l: string[] | undefined;
    return { label, files: () => (l ??= sc.list(d, '.h', recursive)) };
  };
  return [lazy(`${dir}/*.h`, dir, false), lazy(`${ASM_INCLUDE_DIR}/**/*.h`, ASM_INCLUDE_DIR, true), lazy(`${LINUX_INCLUDE_DIR}/*.h`, LINUX_INCLUDE_DIR, false)];
}

export interface FoundPrototype {
  proto: ParsedPrototype;
  file: string;
  /** The places searched up to and including the one that had it. */
  searched: SearchPlace[];
}

/** The first prototype `… name(…);` in the search places; a SeamlabError naming the places otherwise. */
export function findPrototype(files: ReadonlyFs, name: string, places: SearchPlace[], from: SourcePos): FoundPrototype {
  const rejected: string[] = [];
  const re = new RegExp(`(^|[^A-Za-z0-9_])${name}\\s*\\(`, 'g');
  for (let pi = 0; pi < places.length; pi++) {
    for (const f of places[pi]!.files()) {
      const text = files.readFile(f);
      if (text === undefined || !text.includes(name)) continue;
      const view = codeView(text);
      re.lastIndex = 0;
      for (let m = re.exec(view); m; m = re.exec(view)) {
        const pos = m.index + m[1]!.length;
        const r = parsePrototype(text, pos);
        if (r.ok) return { proto: r.proto, file: f, searched: places.slice(0, pi + 1) };
        if (!r.definition && !/not followed|before the name|no return type|unexpected/.test(r.reason)) rejected.push(`${f}:${lineAt(text, pos)}: ${r.reason}`);
      }
    }
  }
  throw new SeamlabError('ABI_PROTOTYPE_NOT_FOUND', `no C prototype for ${name} found`, `declare it in a header (e.g. "u64 ${name}(u64 fn, struct tdx_module_args *args);" next to the .S or in arch/x86/include/asm)`, {
    where: locationAt(from),
    notes: [...rejected.map((r) => `not usable: ${r}`), ...places.map((p) => `searched ${p.label} (${p.files().length} file${p.files().length === 1 ? '' : 's'})`)],
  });
}

type StructLookup = (tag: string) => StructLayout;

function cType(t: DeclType, lookup: StructLookup, at: SourcePos, what: string): CType {
  const scalar = (b: BaseType): CType => {
    if (b.kind === 'int') return { kind: 'int', name: b.name, size: b.size, signed: b.signed };
    if (b.kind === 'void') return { kind: 'void' };
    if (b.kind === 'struct') return { kind: 'struct', layout: lookup(b.tag) };
    throw new SeamlabError('ABI_UNKNOWN_TYPE', `${what} has the type ${b.name}, which seamlab does not know`, 'use fixed-width kernel types (u64, u32, …), unsigned long, or a pointer to a struct', { where: locationAt(at) });
  };
  if (t.pointers === 0) return scalar(t.base);
  if (t.pointers === 1 && t.base.kind === 'struct') {
    if (t.base.union) throw new SeamlabError('ABI_UNKNOWN_TYPE', `${what} points to union ${t.base.tag}`, 'seamlab models pointers to structs', { where: locationAt(at) });
    return { kind: 'pointer', to: { kind: 'struct', layout: lookup(t.base.tag) }, spelled: `struct ${t.base.tag}` };
  }
  const to = t.pointers === 1 ? scalar(t.base) : ({ kind: 'void' } as CType);
  return { kind: 'pointer', to, spelled: t.spelled.replace(/ \*$/, '') };
}

/**
 * The System V ABI of a prototype: each parameter's register and type, structs
 * laid out from the tree. Structs are looked for in the prototype's header
 * first, then in `structPaths` (called again with `wider` = true if that fails).
 */
export function functionAbi(files: ReadonlyFs, found: FoundPrototype, structPaths: (wider: boolean) => string[]): FunctionAbi {
  const { proto, file } = found;
  const at = { file, line: proto.line };
  const lookup: StructLookup = (tag) => {
    const paths = (wider: boolean) => [file, ...structPaths(wider).filter((p) => p !== file)];
    try {
      return findStruct(files, tag, paths(false));
    } catch (e) {
      if (!(e instanceof SeamlabError) || e.code !== 'C_STRUCT_NOT_FOUND') throw e;
      return findStruct(files, tag, paths(true));
    }
  };
  if (proto.params.length > SYSV_ARG_REGS.length) {
    throw new SeamlabError('ABI_STACK_PARAMS', `${proto.name} takes ${proto.params.length} parameters; the 7th and later go on the stack`, 'seamlab models functions with at most six integer/pointer parameters', { where: { ...locationAt(at), text: proto.text } });
  }
  const params: AbiParam[] = proto.params.map((p, k) => {
    const name = p.name ?? `arg${k + 1}`;
    const type = cType(p.type, lookup, at, `parameter ${name} of ${proto.name}`);
    if (type.kind === 'struct' || type.kind === 'void' || type.kind === 'array') {
      throw new SeamlabError('ABI_UNSUPPORTED_PARAM', `parameter ${name} of ${proto.name} is passed by value as ${p.type.spelled}`, 'seamlab models integer and pointer parameters (INTEGER class)', { where: { ...locationAt(at), text: proto.text } });
    }
    return { name, register: SYSV_ARG_REGS[k]!, type };
  });
  const returns = cType(proto.returns, lookup, at, `the return type of ${proto.name}`);
  if (returns.kind === 'struct') {
    throw new SeamlabError('ABI_UNSUPPORTED_PARAM', `${proto.name} returns a struct by value`, 'seamlab models integer, pointer and void returns', { where: { ...locationAt(at), text: proto.text } });
  }
  return { prototype: proto.text, declaredAt: at, returns, params };
}

/** Entry points with their ABI. Throws (with the places searched) when a prototype or struct cannot be found. */
export function discoverFunctions(files: ReadonlyFs, opts: DiscoveryOptions = {}): EntryFunction[] {
  return findEntryPoints(files, opts).map((e) => {
    const places = prototypeSearchPlaces(files, e.sourceFile, opts);
    const found = findPrototype(files, e.name, places, e.definedAt);
    // Structs are looked for where the prototype was found first, then in the same places.
    const structPaths = (wider: boolean) => (wider ? places : found.searched).flatMap((p) => p.files());
    return { name: e.name, sourceFile: e.sourceFile, definedAt: e.definedAt, moduleCall: e.moduleCall, kind: e.kind, abi: functionAbi(files, found, structPaths) };
  });
}
