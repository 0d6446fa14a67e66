/**
 * Errors shared by every pipeline stage.
 *
 * A `SeamlabError` is something the user caused (a bad patch, a missing
 * include, an unknown mnemonic, a missing package): it always carries a
 * one-line fix hint and, when it comes from a source text, a position with
 * the include stack and the macro-expansion stack that led there. The CLI
 * prints it without a JavaScript stack trace and exits non-zero.
 *
 * Anything else that escapes is an internal error: a bug in seamlab.
 */

/** A place in a source text. `file` is tree-relative where possible. */
export interface SourcePos {
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column, when known. */
  column?: number;
}

/** One frame of an expansion stack (cpp `#include`, cpp macro use, GAS macro). */
export interface ExpansionFrame {
  kind: 'include' | 'cpp-macro' | 'gas-macro' | 'rept';
  /** Macro or file name. */
  name: string;
  /** Where the include/macro use is written. */
  at: SourcePos;
}

/** Where an error happened: a position plus how the text got there (innermost frame first). */
export interface ErrorWhere {
  pos: SourcePos;
  stack?: ExpansionFrame[];
  /** The offending source text, when it helps (one line). */
  text?: string;
}

export interface SeamlabErrorOptions {
  where?: ErrorWhere;
  /** Extra lines printed under the message (e.g. directories searched). */
  notes?: string[];
  cause?: unknown;
}

export class SeamlabError extends Error {
  override readonly name: string = 'SeamlabError';
  readonly where?: ErrorWhere;
  readonly notes: string[];

  constructor(
    /** Stable machine-readable code, e.g. `CPP_MISSING_INCLUDE`. */
    readonly code: string,
    message: string,
    /** One line telling the user how to fix it. */
    readonly hint: string,
    options: SeamlabErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.where = options.where;
    this.notes = options.notes ?? [];
  }
}

export function isSeamlabError(e: unknown): e is SeamlabError {
  return e instanceof SeamlabError;
}

export function formatPos(pos: SourcePos): string {
  return pos.column === undefined ? `${pos.file}:${pos.line}` : `${pos.file}:${pos.line}:${pos.column}`;
}

const FRAME_WORDS: Record<ExpansionFrame['kind'], string> = {
  include: 'included from',
  'cpp-macro': 'in expansion of cpp macro',
  'gas-macro': 'in expansion of .macro',
  rept: 'in repetition block',
};

/** The text the CLI prints for a user error: `file:line: error: msg`, stack, notes, hint. */
export function formatError(e: SeamlabError): string {
  const lines: string[] = [];
  const head = e.where ? `${formatPos(e.where.pos)}: ` : '';
  lines.push(`${head}error: ${e.message} [${e.code}]`);
  if (e.where?.text !== undefined) lines.push(`    ${e.where.text.trim()}`);
  for (const f of e.where?.stack ?? []) {
    lines.push(f.kind === 'include' ? `  ${FRAME_WORDS[f.kind]} ${formatPos(f.at)}` : `  ${FRAME_WORDS[f.kind]} ${f.name} at ${formatPos(f.at)}`);
  }
  for (const n of e.notes) lines.push(`  note: ${n}`);
  lines.push(`  hint: ${e.hint}`);
  return lines.join('\n');
}
