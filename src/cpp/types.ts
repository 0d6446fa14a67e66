/**
 * What the preprocessor hands to the assembler: the output lines and, for
 * each, where it came from. Every later stage (assembler, image, traces,
 * debugger) shows positions through these origins.
 */
import type { ErrorWhere, SourcePos } from '../errors.js';

export interface LineOrigin {
  /**
   * The source line this output line comes from (tree-relative file, 1-based
   * line). For text produced by a cpp macro, the line of the macro use.
   */
  pos: SourcePos;
  /** Where each enclosing #include is written, innermost first. Empty for the main file. */
  includeStack: SourcePos[];
  /** cpp macros expanded on this line, in order of use (for display only). */
  macros?: string[];
}

export interface PreprocessedSource {
  /** Tree-relative path of the main file. */
  file: string;
  /** Output lines (no trailing newline characters). */
  lines: string[];
  /** origins[i] is where lines[i] came from. Same length as `lines`. */
  origins: LineOrigin[];
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
  return { file, lines, origins: lines.map((_, i) => ({ pos: { file, line: i + 1 }, includeStack: [] })) };
}

/** A warning the preprocessor reported (errors are thrown as SeamlabError). */
export interface CppDiagnostic {
  severity: 'warning';
  message: string;
  where: ErrorWhere;
}
