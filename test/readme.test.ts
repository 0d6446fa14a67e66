/**
 * The README says what `--help` says: one row per command with exactly the
 * command's options, and the exit-status block word for word.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_STATUS_HELP } from '../src/cli/exit-codes.js';
import { buildProgram } from '../src/cli/main.js';

const README = readFileSync(resolve(import.meta.dirname, '../README.md'), 'utf8');

/** Command table rows: the command (or "" for the program's own options) → the long options its usage cell names. */
function readmeRows(): Map<string, string[]> {
  const table = README.slice(README.indexOf('## Commands'), README.indexOf('### Exit status'));
  const rows = new Map<string, string[]>();
  for (const m of table.matchAll(/^\| `seamlab ([^`]*)`[^|]*\|/gm)) {
    const usage = m[1]!;
    const name = /^[a-z]/.test(usage) ? usage.split(' ')[0]! : '';
    rows.set(name, [...new Set(usage.match(/--[a-z][a-z-]*/g) ?? [])].sort());
  }
  return rows;
}

describe('README', () => {
  const program = buildProgram();
  const rows = readmeRows();

  it('has one command-table row per command', () => {
    expect([...rows.keys()].filter((k) => k !== '').sort()).toEqual(program.commands.map((c) => c.name()).sort());
  });

  it("lists exactly each command's options, as --help does", () => {
    const longs = (opts: readonly { long?: string }[]) => opts.map((o) => o.long!).filter((l) => l && l !== '--help').sort();
    expect(rows.get('')).toEqual(longs(program.options));
    for (const c of program.commands) expect(rows.get(c.name()), c.name()).toEqual(longs(c.options));
  });

  it('gives the exit status as --help does', () => {
    const section = README.slice(README.indexOf('### Exit status'), README.indexOf('### JSON output'));
    expect(section).toContain('```\n' + EXIT_STATUS_HELP + '\n```');
  });
});
