/**
 * Where a breakpoint goes: a `file:line` resolved through the image's source
 * map — one address per expansion for a line inside a macro body (gdb's one
 * location per inlined copy), the first address of each invocation for a
 * line that invokes a macro, the next line with code when the line has
 * none — a function name, an address, or every SEAMCALL/TDCALL site.
 */
import type { LineAddress, SourceMap } from '../image/source-map.js';
import type { Image } from '../image/types.js';
import { hexU64 } from '../support/format.js';
import { stackKey } from './lines.js';
import type { BreakpointSpec } from './types.js';

export interface Resolution {
  addresses: bigint[];
  /**
   * Per address: how many innermost expansion frames to keep hidden when the
   * breakpoint stops there — for a line that invokes a macro, the stop is
   * shown at the invocation (gdb's inline call site), not in the macro body.
   */
  hidden: Map<bigint, number>;
  verified: boolean;
  message?: string;
  movedTo?: { file: string; line: number };
  file?: string;
}

export interface ResolveContext {
  map: SourceMap;
  image: Image;
  /** Addresses of the SEAMCALL/TDCALL instructions. */
  seamSites: readonly bigint[];
}

/**
 * The tree-relative file a user's name refers to: the exact path, else the
 * only file whose path ends in `/name`, else (for an absolute path from an
 * editor) the longest tree path it ends with.
 */
export function matchSourceFile(files: readonly string[], name: string): { file?: string; candidates: string[] } {
  if (files.includes(name)) return { file: name, candidates: [name] };
  const bySuffix = files.filter((f) => f.endsWith(`/${name}`));
  if (bySuffix.length === 1) return { file: bySuffix[0]!, candidates: bySuffix };
  if (bySuffix.length > 1) return { candidates: bySuffix.sort() };
  const inside = files.filter((f) => name.endsWith(`/${f}`)).sort((a, b) => b.length - a.length);
  return inside.length ? { file: inside[0]!, candidates: inside } : { candidates: [] };
}

function isCode(image: Image, a: LineAddress): boolean {
  return (a.kind === 'insn' || a.kind === 'data') && image.sections.some((s) => s.name === a.section && s.flags.exec);
}

/**
 * The addresses a line's breakpoint stops at: per expansion context of the
 * line (its own statements in one expansion, or one invocation of a macro it
 * invokes), the lowest address.
 */
export function lineBreakAddresses(image: Image, entries: readonly LineAddress[]): { address: bigint; hidden: number }[] {
  const first = new Map<string, { address: bigint; hidden: number }>();
  for (const e of entries) {
    if (!isCode(image, e)) continue;
    const context = e.via === 'line' ? e.location.gasStack : e.location.gasStack.slice(e.frame! + 1);
    const key = stackKey(context);
    const have = first.get(key);
    if (have === undefined || e.address < have.address) first.set(key, { address: e.address, hidden: e.location.gasStack.length - context.length });
  }
  return [...first.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

const none = () => new Map<bigint, number>();

export function resolveBreakpoint(spec: BreakpointSpec, ctx: ResolveContext): Resolution {
  switch (spec.kind) {
    case 'line': {
      const files = [...ctx.map.linesToAddresses().keys()];
      const m = matchSourceFile(files, spec.file);
      if (!m.file) {
        const message = m.candidates.length > 1
          ? `${spec.file} is ambiguous: ${m.candidates.join(', ')}`
          : `no code in this image comes from ${spec.file}`;
        return { addresses: [], hidden: none(), verified: false, message };
      }
      const file = m.file;
      const lines = ctx.map.linesWithCode(file).filter((l) => lineBreakAddresses(ctx.image, ctx.map.addressesOf(file, l)).length > 0);
      const target = lines.find((l) => l >= spec.line);
      if (target === undefined) return { addresses: [], hidden: none(), verified: false, file, message: `no code at or after line ${spec.line} of ${file}` };
      const found = lineBreakAddresses(ctx.image, ctx.map.addressesOf(file, target));
      const addresses = [...new Set(found.map((f) => f.address))];
      const hidden = new Map<bigint, number>();
      for (const f of found) hidden.set(f.address, Math.min(hidden.get(f.address) ?? Infinity, f.hidden));
      if (target === spec.line) return { addresses, hidden, verified: true, file };
      return { addresses, hidden, verified: true, file, movedTo: { file, line: target }, message: `line ${spec.line} has no code; moved to line ${target}` };
    }
    case 'function': {
      const sym = ctx.image.symbols.find((s) => s.name === spec.name && s.section !== null);
      if (!sym) {
        const fns = ctx.image.symbols.filter((s) => s.type === 'func' && !s.stub).map((s) => s.name);
        return { addresses: [], hidden: none(), verified: false, message: `no function ${spec.name} in this image (functions: ${fns.join(', ') || 'none'})` };
      }
      return { addresses: [sym.address], hidden: none(), verified: true };
    }
    case 'address': {
      const r = ctx.map.rangeAt(spec.address);
      const code = r && (r.kind === 'insn' || r.kind === 'data') && ctx.image.sections.some((s) => s.name === r.section && s.flags.exec);
      if (!code) return { addresses: [], hidden: none(), verified: false, message: `${hexU64(spec.address)} is not code in this image` };
      if (r.address !== spec.address) return { addresses: [], hidden: none(), verified: false, message: `${hexU64(spec.address)} is inside the instruction at ${hexU64(r.address)}` };
      return { addresses: [spec.address], hidden: none(), verified: true };
    }
    case 'seam-call':
      return ctx.seamSites.length
        ? { addresses: [...ctx.seamSites].sort((a, b) => (a < b ? -1 : 1)), hidden: none(), verified: true }
        : { addresses: [], hidden: none(), verified: false, message: 'this image has no SEAMCALL/TDCALL' };
  }
}
