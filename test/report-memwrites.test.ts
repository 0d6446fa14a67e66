/**
 * What the SEAM side writes to physical memory, kept and shown: the machine
 * records a copy of the bytes of every write a handler makes during a SEAM
 * call (`SeamCallRecord.memWrites`), the detail view shows them as a hex
 * dump, and run's JSON carries them as hex.
 *
 * The SEAMLDR.INFO bytes follow the P-SEAMLDR source as src/seam/p-seamldr.ts
 * cites it (pseamldr_api_defs.h seamldr_info_t, seamldr_info.c): vendor_id
 * 0x8086 at 8, SEAMEXTEND copied in at 32 (valid = 1), seam_ready at 160 and
 * p_seamldr_ready at 162 set with a module loaded. The dump layout is
 * checked against coreutils `od -A x -t x1z` (same 16-byte lines, `*` for
 * repeated lines, the final length).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { resolveRevision } from '../src/intake/revision.js';
import { PhysMemory } from '../src/machine/memory.js';
import { runDocumentSchema } from '../src/report/json-schema.js';
import { formatDetails, runDocument, toJson } from '../src/report/run-report.js';
import { runScenario } from '../src/run/run.js';
import { builtinScenario } from '../src/seam/builtin-scenarios.js';
import { inlineScenario } from '../src/seam/inline.js';
import { hexDump } from '../src/support/format.js';
import { testImage } from './support/images.js';

const L612 = resolveRevision('linux-6.12');
const SEAMCALL_RET = L612.functions.find((f) => f.name === '__seamcall_ret')!;
const PHYS = 0x40000000n;

type DumpLine = { offset: number; bytes: string[]; ascii: string } | '*' | number;

/** od -A x -t x1z lines, or hexDump's, as (offset, bytes, ascii) / '*' / the final offset. */
function parseDump(lines: string[], asciiOpen: string, asciiClose: string): DumpLine[] {
  return lines.filter((l) => l.trim() !== '').map((l) => {
    if (l.trim() === '*') return '*';
    const m = /^([0-9a-f]+)(?:\s+((?:[0-9a-f]{2}\s+)*[0-9a-f]{2})\s+\S(.*)\S)?\s*$/.exec(l.trim());
    if (!m) throw new Error(`not a dump line: ${l}`);
    if (m[2] === undefined) return parseInt(m[1]!, 16);
    const ascii = l.slice(l.indexOf(asciiOpen) + 1, l.lastIndexOf(asciiClose));
    return { offset: parseInt(m[1]!, 16), bytes: m[2].split(/\s+/), ascii };
  });
}

function od(bytes: Uint8Array): string[] {
  return execFileSync('od', ['-A', 'x', '-t', 'x1z'], { input: bytes, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }).split('\n');
}

describe('hexDump', () => {
  it('shows the bytes as od does: 16 a line, printable ASCII, * for repeated lines, the length last', () => {
    const cases: Uint8Array[] = [
      Uint8Array.from({ length: 3 }, (_, i) => 0x41 + i),
      Uint8Array.from({ length: 37 }, (_, i) => (i * 29) & 0xff),
      new Uint8Array(256),
      Uint8Array.from({ length: 256 }, (_, i) => (i < 48 || i >= 200 ? 0 : i)),
    ];
    for (const b of cases) expect(parseDump(hexDump(b), '|', '|')).toEqual(parseDump(od(b), '>', '<'));
    expect(hexDump(new Uint8Array(0))).toEqual([]);
  });
});

describe('the bytes the SEAM side wrote', () => {
  it('are kept in the record as written: a later write does not change an earlier record', () => {
    const mem = new PhysMemory(PHYS, Buffer.alloc(64));
    mem.recorded = [];
    mem.write(PHYS, Uint8Array.of(1, 2, 3));
    mem.writeU64(PHYS + 8n, 0x1122334455667788n);
    mem.write(PHYS, Uint8Array.of(9, 9, 9));
    expect(mem.recorded.map((w) => [w.address, w.length, [...w.bytes]])).toEqual([
      [PHYS, 3, [1, 2, 3]],
      [PHYS + 8n, 8, [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]],
      [PHYS, 3, [9, 9, 9]],
    ]);
  });

  it('SEAMLDR.INFO through 6.12 __seamcall_ret: the seamldr_info_t bytes in the run, the detail view and the JSON', () => {
    const r = runScenario(testImage(L612, SEAMCALL_RET.sourceFile), SEAMCALL_RET, builtinScenario('seamldr-info')!, { revision: 'linux-6.12' });
    expect(r.ok).toBe(true);
    const [w] = r.seamCalls[0]!.memWrites;
    expect([w!.address, w!.length]).toEqual([PHYS, 256]);
    const b = Buffer.from(w!.bytes);
    expect([b.readUInt32LE(8), b.readBigUInt64LE(32), b[160], b[162]]).toEqual([0x8086, 1n, 1, 1]);

    const details = formatDetails(r);
    expect(details).toMatch(/^ {4}handler wrote 256 bytes of physical memory at 0x40000000:$/m);
    expect(details).toMatch(/^ {6}0000 {2}00 00 00 00 00 00 00 00 {2}86 80 00 00 /m);
    // Offsets 160 (seam_ready) and 162 (p_seamldr_ready): the line at 0xa0.
    expect(details).toMatch(/^ {6}00a0 {2}01 00 01 00 00 00 00 00 {2}/m);
    expect(details).toMatch(/^ {6}0100$/m);
    expect(details.split('\n').filter((l) => /^ {6}[0-9a-f]{4}( |$)/.test(l)).every((l) => l.length <= 80)).toBe(true);

    const doc = runDocumentSchema.parse(JSON.parse(toJson(runDocument({ revision: L612, profile: 'default', results: [r], skipped: [], failed: [], jobFailed: false }))));
    const mw = (doc.runs[0]!.seamCalls[0]! as { memWrites: { address: string; length: number; bytes: string }[] }).memWrites[0]!;
    expect([mw.address, mw.length, mw.bytes.length]).toEqual(['0x40000000', 256, 512]);
    expect(mw.bytes.slice(2 * 160, 2 * 163)).toBe('010001');
    expect(mw.bytes.slice(2 * 8, 2 * 12)).toBe('86800000');
  });

  it('P-SEAMLDR results carry the P-SEAMLDR\'s own status names (pseamldr_api_defs.h)', () => {
    const ok = runScenario(testImage(L612, SEAMCALL_RET.sourceFile), SEAMCALL_RET, builtinScenario('seamldr-info')!, { revision: 'linux-6.12' });
    expect([ok.returnName, ok.seamCalls[0]!.statusName]).toEqual(['PSEAMLDR_SUCCESS', 'PSEAMLDR_SUCCESS']);
    // seamldr_info.c: RCX not 256-byte aligned → PSEAMLDR_EBADPARAM (0x8000000000000000).
    const bad = runScenario(testImage(L612, SEAMCALL_RET.sourceFile), SEAMCALL_RET, inlineScenario({ leaf: 'SEAMLDR.INFO', regs: ['rcx=0x40000008'] }), { revision: 'linux-6.12' });
    expect([bad.returnValue, bad.returnName, bad.seamCalls[0]!.statusName]).toEqual([0x8000000000000000n, 'PSEAMLDR_EBADPARAM', 'PSEAMLDR_EBADPARAM']);
    // The kernel's own statuses keep their names on a P-SEAMLDR call: VMfailInvalid while the loader is busy.
    const busy = runScenario(testImage(L612, SEAMCALL_RET.sourceFile), SEAMCALL_RET,
      { ...inlineScenario({ leaf: 'SEAMLDR.INFO' }), cases: { seamcall: { ...inlineScenario({ leaf: 'SEAMLDR.INFO' }).cases.seamcall!, handler: { model: 'tdx-module', seamldr: { busy: true } } } } },
      { revision: 'linux-6.12' });
    expect([busy.returnValue, busy.returnName]).toEqual([0x8000FF00FFFF0000n, 'TDX_SEAMCALL_VMFAILINVALID']);
  });
});
