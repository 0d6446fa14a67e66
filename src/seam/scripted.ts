/**
 * A scripted SEAM side: a list of answers given in order ("first
 * TDX_RND_NO_ENTROPY, then success"). When the list runs out, a fallback
 * handler answers (e.g. the TDX module model), or the last answer repeats.
 */
import type { Outcome, SeamCall, SeamHandler } from './types.js';

export class ScriptedHandler implements SeamHandler {
  readonly name: string;
  private next = 0;

  constructor(private readonly steps: readonly Outcome[], private readonly fallback?: SeamHandler) {
    if (steps.length === 0 && !fallback) throw new Error('ScriptedHandler needs at least one step or a fallback');
    this.name = fallback ? `script then ${fallback.name}` : 'script';
  }

  handle(call: SeamCall): Outcome {
    if (this.next < this.steps.length) return this.steps[this.next++]!;
    if (this.fallback) return this.fallback.handle(call);
    return this.steps[this.steps.length - 1]!;
  }
}
