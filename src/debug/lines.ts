/**
 * Source lines as the debugger steps by them. A statement's identity is its
 * (file, line, GAS expansion stack): the same body line of TDX_MODULE_CALL in
 * two expansions is two different lines, and stepping inside one expansion
 * moves line by line through it.
 *
 * Seen "at depth d" (gdb `next` at a statement d expansions deep), a deeper
 * statement is the line of the invocation that produced it at depth d: a
 * macro invocation is one line there.
 */
import type { AddressLocation, SourceMap } from '../image/source-map.js';
import type { GasFrame, SourceLocation, SourcePos } from '../support/source-location.js';

function frameKey(f: GasFrame): string {
  return `${f.kind}:${f.name}@${f.invokedAt.file}:${f.invokedAt.line}#${f.counter}${f.pass === undefined ? '' : `.${f.pass}`}`;
}

/** Identity of an expansion stack (innermost first). */
export function stackKey(stack: readonly GasFrame[]): string {
  return stack.map(frameKey).join('<');
}

/** Identity of a statement's line: (file, line, expansion stack). */
export function lineKey(loc: SourceLocation): string {
  return `${loc.pos.file}:${loc.pos.line}|${stackKey(loc.gasStack)}`;
}

/** The line a statement belongs to seen at expansion depth `depth` (deeper expansions count as their invocation). */
export function lineAtDepth(loc: SourceLocation, depth: number): { pos: SourcePos; stack: readonly GasFrame[] } {
  const n = loc.gasStack.length;
  if (n <= depth) return { pos: loc.pos, stack: loc.gasStack };
  return { pos: loc.gasStack[n - depth - 1]!.invokedAt, stack: loc.gasStack.slice(n - depth) };
}

export function lineKeyAtDepth(loc: SourceLocation, depth: number): string {
  const l = lineAtDepth(loc, depth);
  return `${l.pos.file}:${l.pos.line}|${stackKey(l.stack)}`;
}

/** Key of an address that has no source (outside the image): never equal to a source line's. */
export function addressKey(address: bigint): string {
  return `@${address.toString(16)}`;
}

/** True when `loc` is inside the expansion whose stack (innermost first) is `stack`. */
export function insideExpansion(loc: SourceLocation, stack: readonly GasFrame[]): boolean {
  const n = loc.gasStack.length;
  if (n < stack.length) return false;
  return stackKey(loc.gasStack.slice(n - stack.length)) === stackKey(stack);
}

/** One code statement of the image with its line identities, cached per address. */
export interface CodeStatement {
  address: bigint;
  size: number;
  location: AddressLocation;
  key: string;
  depth: number;
}

/** Every code statement of the image (instructions and `.byte` code), by address. */
export function codeStatements(map: SourceMap): CodeStatement[] {
  const out: CodeStatement[] = [];
  for (const r of map.codeRanges()) {
    if (r.kind !== 'insn' && r.kind !== 'data') continue;
    const location = map.locate(r.address)!;
    out.push({ address: r.address, size: r.size, location, key: lineKey(r.origin), depth: r.origin.gasStack.length });
  }
  return out;
}
