/**
 * The one source-location model: where a line of assembly, a statement, a
 * byte of an image or an error comes from. Every stage uses this type —
 * cpp for its output lines, gas for its statements, the image's byte map,
 * the machine's address → source look-ups and `SeamlabError.where` — so a
 * location travels from the preprocessor to a fault report unchanged.
 *
 * A location is a position plus three stacks, each innermost first:
 *
 * - `includeStack`: where each enclosing `#include` is written;
 * - `cppStack`: cpp macro uses that produced the text;
 * - `gasStack`: GAS `.macro` expansions and `.rept`/`.irp`/`.irpc` blocks.
 *
 * For a statement inside a GAS macro body, `pos` is the body line (e.g.
 * tdxcall.S:52) and `gasStack[0].invokedAt` the invocation (seamcall.S:22).
 */

/** A place in a source text. `file` is tree-relative where possible. */
export interface SourcePos {
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column, when known. */
  column?: number;
}

/** One cpp macro use. */
export interface CppMacroUse {
  macro: string;
  /** Where the macro name is written (in a header for a use inside another macro's definition). */
  at: SourcePos;
}

/** One level of GAS expansion: a `.macro` invocation or a repetition block. */
export interface GasFrame {
  kind: 'macro' | 'rept';
  /** The macro as defined (e.g. "TDX_MODULE_CALL"), or the block directive (".rept", ".irp", ".irpc"). */
  name: string;
  /** Where the invocation (or the block directive) is written. */
  invokedAt: SourcePos;
  /** The include stack of that line, innermost first. */
  includeStack: readonly SourcePos[];
  /** The invoking statement as written, e.g. "TDX_MODULE_CALL host=1 ret=1". */
  invocation: string;
  /**
   * The value of `\@` inside this expansion. Repetition blocks do not
   * advance GNU as's macro counter: theirs is the count when the block was read.
   */
  counter: number;
  /** For a repetition block: which pass (0-based). */
  pass?: number;
}

export interface SourceLocation {
  pos: SourcePos;
  /** Where each enclosing `#include` is written, innermost first. Empty for the main file. */
  includeStack: readonly SourcePos[];
  /**
   * cpp macro uses, innermost first. For a preprocessed line: the macros
   * expanded to produce it, latest use first (for nested uses that is the
   * innermost); for a preprocessor error: the expansion stack at the error.
   */
  cppStack: readonly CppMacroUse[];
  /** GAS expansions, innermost first; empty outside macros and repetitions. */
  gasStack: readonly GasFrame[];
}

/** What an error or warning points at: a location and, when it helps, the offending text (one line). */
export interface ErrorWhere extends SourceLocation {
  text?: string;
}

const NONE: readonly never[] = Object.freeze([]);

/** A location in a file, with no expansion (and optionally the include stack of the line). */
export function locationAt(pos: SourcePos, includeStack: readonly SourcePos[] = NONE): SourceLocation {
  return { pos, includeStack, cppStack: NONE, gasStack: NONE };
}

export function formatPos(pos: SourcePos): string {
  return pos.column === undefined ? `${pos.file}:${pos.line}` : `${pos.file}:${pos.line}:${pos.column}`;
}

/** True when both name the same file and line (columns are not compared). */
export function sameLine(a: SourcePos, b: SourcePos): boolean {
  return a.line === b.line && a.file === b.file;
}

/**
 * The context lines of a location, as the CLI prints them under an error:
 * cpp macro uses, then includes, then GAS expansions, each innermost first.
 */
export function formatStack(loc: SourceLocation): string[] {
  const lines: string[] = [];
  for (const m of loc.cppStack) lines.push(`  in expansion of cpp macro ${m.macro} at ${formatPos(m.at)}`);
  for (const p of loc.includeStack) lines.push(`  included from ${formatPos(p)}`);
  for (const f of loc.gasStack) {
    lines.push(f.kind === 'macro' ? `  in expansion of .macro ${f.name} at ${formatPos(f.invokedAt)}` : `  in repetition block ${f.name} at ${formatPos(f.invokedAt)}`);
  }
  return lines;
}
