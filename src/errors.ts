/**
 * Errors shared by every pipeline stage.
 *
 * A `SeamlabError` is something the user caused (a bad patch, a missing
 * include, an unknown mnemonic, a missing package): it always carries a
 * one-line fix hint and, when it comes from a source text, a position with
 * the include stack and the macro-expansion stacks that led there (a
 * `SourceLocation`, src/support/source-location.ts). The CLI
 * prints it without a JavaScript stack trace and exits non-zero. Its code is
 * one of the registry (src/error-codes.ts), which says what each means.
 *
 * Anything else that escapes is an internal error: a bug in seamlab.
 */

import type { ErrorCode } from './error-codes.js';
import { formatPos, formatStack, type ErrorWhere } from './support/source-location.js';

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
    /** Stable machine-readable code, e.g. `CPP_MISSING_INCLUDE`: one of the registry in src/error-codes.ts. */
    readonly code: ErrorCode,
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

/** The text the CLI prints for a user error: `file:line: error: msg`, offending text, stacks, notes, hint. */
export function formatError(e: SeamlabError): string {
  const lines: string[] = [];
  const head = e.where ? `${formatPos(e.where.pos)}: ` : '';
  lines.push(`${head}error: ${e.message} [${e.code}]`);
  if (e.where?.text !== undefined) lines.push(`    ${e.where.text.trim()}`);
  if (e.where) lines.push(...formatStack(e.where));
  for (const n of e.notes) lines.push(`  note: ${n}`);
  lines.push(`  hint: ${e.hint}`);
  return lines.join('\n');
}
