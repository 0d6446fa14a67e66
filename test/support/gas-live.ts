/**
 * GNU as run live on a snippet, for the front end's unit tests: section
 * contents (as in the object file, so only meaningful without relocations),
 * and GNU as's diagnostics. Also seamlab's own assembler on the same text.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plainSource } from '../../src/cpp/types.js';
import { assemble, type ObjectFile } from '../../src/gas/assemble.js';
import { writeObject } from '../../src/gas/write.js';
import { hasCommand, requireOracle } from './oracles.js';
import { isSeamlabError, type SeamlabError } from '../../src/errors.js';

export const HAVE_GAS = hasCommand('as') && hasCommand('objcopy') && hasCommand('readelf');

export function gasAvailable(): boolean {
  return requireOracle('GNU as (binutils)', HAVE_GAS, 'apt-get install binutils');
}

export interface GasResult {
  ok: boolean;
  /** Section name → bytes (object-file contents). */
  sections: Map<string, Uint8Array>;
  /** GNU as's messages without the `file:line:` prefix. */
  errors: string[];
  warnings: string[];
}

function run(cmd: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Assembles `text` with GNU as 2.40 and reads every section with contents. */
export function gnuAs(text: string): GasResult {
  const dir = mkdtempSync(join(tmpdir(), 'seamlab-gas-'));
  try {
    const src = join(dir, 'in.s');
    const obj = join(dir, 'in.o');
    writeFileSync(src, text.endsWith('\n') ? text : text + '\n');
    const r = run('as', ['--64', '-o', obj, src]);
    const errors: string[] = [];
    const warnings: string[] = [];
    for (const line of r.stderr.split('\n')) {
      const m = /^[^:]+:\d+: (Error|Warning): (.*)$/.exec(line);
      if (m) (m[1] === 'Error' ? errors : warnings).push(m[2]!);
    }
    const sections = new Map<string, Uint8Array>();
    if (r.status !== 0) return { ok: false, sections, errors, warnings };
    const hdr = run('readelf', ['-SW', obj]).stdout;
    for (const line of hdr.split('\n')) {
      const m = /^\s*\[\s*\d+\]\s+(\S+)\s+(PROGBITS|NOBITS|NOTE)\s/.exec(line);
      if (!m || m[2] !== 'PROGBITS') continue;
      const bin = join(dir, 'sec.bin');
      run('objcopy', ['-O', 'binary', `--only-section=${m[1]}`, obj, bin]);
      sections.set(m[1]!, new Uint8Array(readFileSync(bin)));
    }
    return { ok: true, sections, errors, warnings };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * seamlab's assembler on the same text, sections placed at 0 (like the
 * object file) so that bytes compare with `gnuAs` when there are no
 * relocations.
 */
export function seamlabAs(text: string): { obj: ObjectFile; sections: Map<string, Uint8Array> } {
  const obj = assemble(plainSource('test.s', text));
  const written = writeObject(obj, {
    sectionBase: () => 0n,
    external: (name) => {
      throw new Error(`undefined symbol ${name} in a unit test`);
    },
  });
  const sections = new Map<string, Uint8Array>();
  for (const e of written.sections) if (e.section.type !== 'nobits') sections.set(e.section.name, e.bytes);
  return { obj, sections };
}

export const hex = (b: Uint8Array | undefined): string => (b ? Buffer.from(b).toString('hex') : '<none>');

/** The SeamlabError seamlab's assembler gives for `text` (fails the test when there is none). */
export function asmError(text: string): SeamlabError {
  try {
    seamlabAs(text);
  } catch (e) {
    if (isSeamlabError(e)) return e;
    throw e;
  }
  throw new Error('expected a SeamlabError');
}
