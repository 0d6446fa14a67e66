/**
 * What the preprocessor hands to the assembler: the output lines and, for
 * each, where it came from (a `SourceLocation`: the source line, its include
 * stack and the cpp macros expanded on it; no GAS expansion yet). Every
 * later stage (assembler, image, traces, debugger) shows positions through
 * these origins.
 */
import { locationAt, type ErrorWhere, type SourceLocation } from '../support/source-location.js';

export interface PreprocessedSource {
  /** Tree-relative path of the main file. */
  file: string;
  /** Output lines (no trailing newline characters). */
  lines: string[];
  /** origins[i] is where lines[i] came from. Same length as `lines`. */
  origins: SourceLocation[];
  /** Warnings from preprocessing (absent for hand-written sources). */
  diagnostics?: CppDiagnostic[];
  /**
   * The revision's files the preprocessor read, in the order first read
   * (generated headers are not among them). Traces identify their source by
   * these files' git blob ids.
   */
  reads?: string[];
}

/** A PreprocessedSource whose origins are just the line numbers of `file` (for assembling hand-written text). */
export function plainSource(file: string, text: string): PreprocessedSource {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return { file, lines, origins: lines.map((_, i) => locationAt({ file, line: i + 1 })) };
}

/** A warning the preprocessor reported (errors are thrown as SeamlabError). */
export interface CppDiagnostic {
  severity: 'warning';
  message: string;
  where: ErrorWhere;
}
