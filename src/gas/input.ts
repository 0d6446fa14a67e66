/**
 * Where statements come from: the preprocessed file, macro expansions and
 * repetition blocks, as a stack (GNU as input_scrub with pushed buffers).
 * Each statement carries its source origin and the GAS macro expansion
 * stack that produced it.
 */
import type { LineOrigin, PreprocessedSource } from '../cpp/types.js';
import type { ExpansionFrame } from '../errors.js';
import type { GasMacroFrame } from '../image/types.js';
import { Scrubber, splitStatements } from './scrub.js';

export interface Stmt {
  /** Scrubbed statement text (no `;`, no comment). */
  text: string;
  origin: LineOrigin;
  /** GAS macro frames, innermost first. */
  macroStack: GasMacroFrame[];
  /** Macro and repetition frames for error positions, innermost first. */
  frames: ExpansionFrame[];
  /** Nesting depth for listings: 0 in the file, +1 per macro/rept expansion. */
  depth: number;
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
      const origin = this.src.origins[i]!;
      for (const part of splitStatements(text)) {
        if (part.trim() === '') continue;
        this.queue.push({ text: part, origin, macroStack: [], frames: [], depth: 0 });
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

/** Re-splits substituted text (an argument may carry a `;`) into statements with one origin. */
export function expandStatements(text: string, like: Omit<Stmt, 'text'>): Stmt[] {
  const out: Stmt[] = [];
  for (const part of splitStatements(text)) {
    if (part.trim() === '') continue;
    out.push({ ...like, text: part });
  }
  return out;
}
