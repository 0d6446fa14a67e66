/**
 * Where statements come from: the preprocessed file, macro expansions and
 * repetition blocks, as a stack (GNU as input_scrub with pushed buffers).
 * Each statement carries its source location: the preprocessed line's
 * (position, include and cpp stacks) plus the GAS expansion stack that
 * produced it.
 */
import type { PreprocessedSource } from '../cpp/types.js';
import type { SourceLocation } from '../support/source-location.js';
import { Scrubber, splitStatements } from './scrub.js';

export interface Stmt {
  /** Scrubbed statement text (no `;`, no comment). */
  text: string;
  /** Where the statement is written; `gasStack.length` is its expansion depth (0 in the file). */
  location: SourceLocation;
}

export interface InputSource {
  kind: 'file' | 'macro' | 'rept';
  next(): Stmt | undefined;
  /** Conditional stack depth when the source was entered. */
  condDepth: number;
  /** For 'macro': the macro name (for messages). */
  name?: string;
}

/** The preprocessed file, scrubbed and split lazily. */
export class FileSource implements InputSource {
  readonly kind = 'file' as const;
  readonly condDepth = 0;
  private line = 0;
  private queue: Stmt[] = [];
  private readonly scrubber = new Scrubber();

  constructor(private readonly src: PreprocessedSource) {}

  next(): Stmt | undefined {
    while (this.queue.length === 0) {
      if (this.line >= this.src.lines.length) return undefined;
      const i = this.line++;
      const text = this.scrubber.line(this.src.lines[i]!);
      if (text.trim() === '') continue;
      const location = this.src.origins[i]!;
      for (const part of splitStatements(text)) {
        if (part.trim() === '') continue;
        this.queue.push({ text: part, location });
      }
    }
    return this.queue.shift();
  }

  /** True when the file ended inside a C comment. */
  get unterminatedComment(): boolean {
    return this.scrubber.pendingComment;
  }
}

/** A list of ready statements (a macro expansion). */
export class ListSource implements InputSource {
  private i = 0;
  constructor(
    readonly kind: 'macro' | 'rept',
    private readonly stmts: Stmt[],
    readonly condDepth: number,
    readonly name?: string,
  ) {}

  next(): Stmt | undefined {
    return this.stmts[this.i++];
  }
}

/** A repetition: `make(pass)` gives the statements of one pass, produced only when reached. */
export class RepeatSource implements InputSource {
  readonly kind = 'rept' as const;
  private pass = 0;
  private current: Stmt[] = [];
  private i = 0;
  constructor(
    private readonly passes: number,
    private readonly make: (pass: number) => Stmt[],
    readonly condDepth: number,
  ) {}

  next(): Stmt | undefined {
    while (this.i >= this.current.length) {
      if (this.pass >= this.passes) return undefined;
      this.current = this.make(this.pass++);
      this.i = 0;
    }
    return this.current[this.i++];
  }
}

/** Re-splits substituted text (an argument may carry a `;`) into statements with one location. */
export function expandStatements(text: string, location: SourceLocation): Stmt[] {
  const out: Stmt[] = [];
  for (const part of splitStatements(text)) {
    if (part.trim() === '') continue;
    out.push({ text: part, location });
  }
  return out;
}
