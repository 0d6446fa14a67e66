/**
 * Conventional CLI behaviour of the bundled `seamlab`: exit status 0 / 1 (a
 * check failed) / 2 (bad usage or a user error) / 70 (internal error),
 * documented in --help; --version and -V; with --json, failures print a
 * JSON error document on stdout as well as the message on stderr.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EXIT_STATUS_HELP } from '../src/cli/exit-codes.js';
import { buildProgram, main } from '../src/cli/main.js';
import { errorDocumentSchema } from '../src/report/json-schema.js';
import { seamlab, seamlabOnTerminal } from './support/cli.js';

const ROOT = resolve(import.meta.dirname, '..');
const VERSION = (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('exit status', () => {
  it('0 when every run is ok', () => {
    const r = seamlab(['run', 'v3', '--fn', '__seamcall', '--scenario', 'success'], {}, undefined);
    expect(r.status, r.stderr).toBe(0);
  });

  it('1 when a check fails (a handler that clobbers a callee-saved register)', () => {
    const r = seamlab(['run', 'v3', '--fn', '__seamcall', '--scenario', resolve(ROOT, 'fixtures/scenarios/clobber-rbx.ts')]);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/FAIL callee-saved/);
  });

  it('2 for a user error (SeamlabError), with the message and hint on stderr and no stack', () => {
    const r = seamlab(['run', 'no-such-revision']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: unknown revision "no-such-revision": not a built-in and not a directory \[SPEC_UNKNOWN\]$/m);
    expect(r.stderr).toMatch(/^ {2}hint: /m);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it("2 for bad usage (commander's own errors)", () => {
    const r = seamlab(['run', '--no-such-option']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--no-such-option'/);
    expect(seamlab(['cpp', 'v3']).status).toBe(2); // missing argument
  });

  it('70 for an internal error (a bug), with the stack on stderr', async () => {
    const program = buildProgram();
    program.command('boom').action(() => {
      void (undefined as unknown as { x: number }).x; // a TypeError: reading a property of undefined
    });
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await main(['boom'], program)).toBe(70);
      const text = err.mock.calls.map((c) => String(c[0])).join('\n');
      expect(text).toMatch(/^seamlab: internal error \(this is a bug in seamlab, please report it\):\nTypeError: /);
      expect(text).toMatch(/^\s+at /m);
    } finally {
      err.mockRestore();
    }
  });

  it('--help documents the exit status', () => {
    const r = seamlab(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(EXIT_STATUS_HELP);
    expect(r.stdout).toMatch(/^ {2}-V, --version /m);
  });
});

describe('--version', () => {
  it('prints the package version with --version and -V', () => {
    for (const flag of ['--version', '-V']) {
      const r = seamlab([flag]);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`seamlab ${VERSION}\n`);
    }
  });

  it('with --verbose adds Node, Unicorn, Keystone and Capstone', () => {
    const r = seamlab(['--version', '--verbose']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(`seamlab ${VERSION}`);
    expect(r.stdout).toMatch(/^node +\d+\.\d+\.\d+$/m);
    expect(r.stdout).toMatch(/^unicorn +2\.\d+\.\d+ /m);
    expect(r.stdout).toMatch(/^keystone +0\.9\.2$/m);
    expect(r.stdout).toMatch(/^capstone +5\./m);
  });
});

describe('--json on failure', () => {
  afterEach(() => vi.restoreAllMocks());

  it('a user error prints an error document on stdout and the message on stderr', () => {
    const r = seamlab(['run', 'no-such-revision', '--json']);
    expect(r.status).toBe(2);
    const doc = errorDocumentSchema.parse(JSON.parse(r.stdout));
    expect(doc).toMatchObject({ format: 'seamlab-run', version: 1, error: { code: 'SPEC_UNKNOWN' } });
    expect(r.stderr).toMatch(/\[SPEC_UNKNOWN\]/);
  });

  it('bad usage too (code CLI_USAGE)', () => {
    const r = seamlab(['build', 'v3', '--json', '--no-such-option']);
    expect(r.status).toBe(2);
    const doc = errorDocumentSchema.parse(JSON.parse(r.stdout));
    expect(doc).toMatchObject({ format: 'seamlab-build', error: { code: 'CLI_USAGE' } });
  });

  it('an internal error too (code INTERNAL)', async () => {
    const program = new Command().exitOverride();
    program.command('boom').option('--json').action(() => {
      throw new RangeError('broken');
    });
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: unknown) => void out.push(String(s)));
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await main(['boom', '--json'], program)).toBe(70);
    expect(errorDocumentSchema.parse(JSON.parse(out.join('\n')))).toMatchObject({ format: 'seamlab-boom', error: { code: 'INTERNAL', message: 'broken' } });
  });
});

describe('output fits the terminal (issue 10 item 5)', () => {
  const longest = (text: string) => Math.max(...text.split('\n').map((l) => [...l].length));
  for (const args of [['run'], ['scenarios'], ['revisions'], ['profiles', 'v3'], ['build', 'v3']]) {
    it(`seamlab ${args.join(' ')}: every line fits 80 columns on a terminal; --wide and piped output are full width`, () => {
      const fitted = seamlabOnTerminal(args, 80);
      expect(fitted.stdout.length).toBeGreaterThan(0);
      expect(longest(fitted.stdout), fitted.stdout).toBeLessThanOrEqual(80);
      const piped = seamlab(args);
      const wide = seamlabOnTerminal([...args, '--wide'], 80);
      expect(longest(wide.stdout)).toBe(longest(piped.stdout));
      // Nothing is lost in the fitting: the same words, in the same order.
      const words = (t: string) => t.split(/\s+/).filter(Boolean).join(' ');
      if (!['run', 'scenarios'].includes(args[0]!)) expect(words(fitted.stdout)).toBe(words(piped.stdout));
    });
  }
});
