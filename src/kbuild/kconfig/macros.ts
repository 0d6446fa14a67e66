/**
 * Kconfig's macro language (Documentation/kbuild/kconfig-macro-language.rst):
 * `VAR := value` (simple), `VAR = value` (recursive), `VAR += value`, and
 * `$(name,arg,…)` calls of user functions (`$(1)`, `$(2)` …) and builtins.
 *
 * Kconfig answers toolchain questions by running commands through
 * `$(shell,…)` (`cc-option`, `as-instr`, `cc-version` …). seamlab runs
 * nothing: the probes are answered by the modelled toolchain (toolchain.ts),
 * matched on the function called (`cc-option`, `ld-option`, `as-instr`,
 * `success`, `failure`, `if-success`) or on the shell command text. A probe
 * the model does not know answers "no" and is recorded, so a profile never
 * silently depends on a guess.
 */
import type { SourcePos } from '../../support/source-location.js';
import type { Toolchain } from './toolchain.js';

interface Variable {
  flavor: 'simple' | 'recursive';
  value: string;
}

export class KconfigMacros {
  private readonly vars = new Map<string, Variable>();
  /** Probes the toolchain model did not recognise (answered "no"). */
  readonly unknownProbes: { command: string; at: SourcePos }[] = [];
  readonly messages: { kind: 'info' | 'warning' | 'error'; text: string; at: SourcePos }[] = [];

  constructor(
    private readonly toolchain: Toolchain,
    env: Record<string, string>,
  ) {
    for (const [k, v] of Object.entries(env)) this.vars.set(k, { flavor: 'simple', value: v });
  }

  assign(name: string, op: ':=' | '=' | '+=', value: string, at: SourcePos): void {
    const old = this.vars.get(name);
    if (op === ':=') this.vars.set(name, { flavor: 'simple', value: this.expand(value, at) });
    else if (op === '=') this.vars.set(name, { flavor: 'recursive', value });
    else if (!old) this.vars.set(name, { flavor: 'recursive', value });
    else old.value = old.value + ' ' + (old.flavor === 'simple' ? this.expand(value, at) : value);
  }

  /** Expands every `$(…)` in a line. */
  expand(text: string, at: SourcePos, args: string[] = []): string {
    if (!text.includes('$')) return text;
    let out = '';
    let i = 0;
    while (i < text.length) {
      const c = text[i]!;
      if (c !== '$') {
        out += c;
        i++;
        continue;
      }
      if (text[i + 1] === '$') {
        out += '$';
        i += 2;
        continue;
      }
      if (text[i + 1] !== '(') {
        out += c;
        i++;
        continue;
      }
      // Find the matching parenthesis.
      let depth = 0;
      let j = i + 1;
      for (; j < text.length; j++) {
        if (text[j] === '(') depth++;
        else if (text[j] === ')' && --depth === 0) break;
      }
      const inner = text.slice(i + 2, j);
      out += this.call(inner, at, args);
      i = j + 1;
    }
    return out;
  }

  /** Splits `name,a,b` at top-level commas. */
  private split(inner: string): string[] {
    const parts: string[] = [];
    let depth = 0;
    let cur = '';
    for (const ch of inner) {
      if (ch === '(') depth++;
      else if (ch === ')') depth--;
      if (ch === ',' && depth === 0) {
        parts.push(cur);
        cur = '';
      } else cur += ch;
    }
    parts.push(cur);
    return parts;
  }

  private call(inner: string, at: SourcePos, outerArgs: string[]): string {
    const parts = this.split(inner);
    const name = this.expand(parts[0]!, at, outerArgs).trim();
    const rawArgs = parts.slice(1);
    if (/^\d+$/.test(name) && rawArgs.length === 0) return outerArgs[Number(name) - 1] ?? '';
    const args = rawArgs.map((a) => this.expand(a, at, outerArgs));
    const tc = this.toolchain;
    switch (name) {
      case 'info':
      case 'warning-if':
      case 'error-if':
        if (name === 'info') this.messages.push({ kind: 'info', text: args.join(','), at });
        else if (args[0] === 'y') this.messages.push({ kind: name === 'error-if' ? 'error' : 'warning', text: args.slice(1).join(','), at });
        return '';
      case 'filename':
        return at.file;
      case 'lineno':
        return String(at.line);
      case 'shell':
        return this.shell(args.join(','), at);
      // Toolchain probes, answered by the model instead of by running the command.
      case 'cc-option':
        return tc.ccOption(args[0]!.trim()) ? 'y' : 'n';
      case 'cc-option-bit':
        return tc.ccOption(args[0]!.trim()) ? args[0]!.trim() : '';
      case 'ld-option':
        return tc.ldOption(args[0]!.trim()) ? 'y' : 'n';
      case 'as-instr':
      case 'as-instr64':
        return tc.asInstr(args[0]!) ? 'y' : 'n';
      case 'rustc-option':
        return 'n';
      case 'success':
        return this.probe(args.join(','), at) ? 'y' : 'n';
      case 'failure':
        return this.probe(args.join(','), at) ? 'n' : 'y';
      case 'if-success':
        return this.probe(args[0]!, at) ? (args[1] ?? '') : (args[2] ?? '');
    }
    const v = this.vars.get(name);
    if (!v) return '';
    if (v.flavor === 'simple' && args.length === 0) return v.value;
    return this.expand(v.value, at, args);
  }

  /** Whether a probe command succeeds with the modelled toolchain. */
  private probe(command: string, at: SourcePos): boolean {
    const r = this.toolchain.command(command.trim());
    if (r === undefined) {
      this.unknownProbes.push({ command: command.trim(), at });
      return false;
    }
    return r.ok;
  }

  private shell(command: string, at: SourcePos): string {
    const r = this.toolchain.command(command.trim());
    if (r === undefined) {
      this.unknownProbes.push({ command: command.trim(), at });
      return '';
    }
    return r.stdout;
  }

  value(name: string): string | undefined {
    const v = this.vars.get(name);
    if (!v) return undefined;
    return v.flavor === 'simple' ? v.value : this.expand(v.value, { file: '<env>', line: 0 });
  }
}
