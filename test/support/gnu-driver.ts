/**
 * The batch driver assembled by GNU as, for tests and the benchmark while
 * seamlab's own assembler is not available.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DriverCode } from '../../src/abi/batch.js';

export function gnuDriver(): DriverCode {
  const dir = mkdtempSync(join(tmpdir(), 'seamlab-driver-'));
  const src = resolve(import.meta.dirname, '../../asm/batch-driver.S');
  for (const [cmd, args] of [['as', ['--64', '-o', join(dir, 'd.o'), src]], ['objcopy', ['-O', 'binary', '--only-section=.text', join(dir, 'd.o'), join(dir, 'd.bin')]]] as const) {
    const r = spawnSync(cmd, [...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  }
  return { bytes: new Uint8Array(readFileSync(join(dir, 'd.bin'))), entry: 0 };
}
