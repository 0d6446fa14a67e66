/**
 * The native batch helpers (src/machine/native/batch-hooks.c) change how
 * fast a differential batch runs, never what it finds: the same campaign
 * run with the row capture hook and the scripted traps, and with the
 * portable path (the driver stores the registers itself, JavaScript serves
 * each SEAM call, Unicorn's own timeout), gives the same rows and trap
 * records, byte for byte, and the same differences. The watched start stops an
 * endless loop at its time limit.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadDisassembler } from '../src/encode/capstone.js';
import { resolveRevision } from '../src/intake/revision.js';
import { DifferenceCollector } from '../src/diff/collect.js';
import { DiffEngine, type RangeResult } from '../src/diff/fuzz-engine.js';
import { SideBatch, type RowCall } from '../src/diff/fuzz-batch.js';
import { ScriptTable } from '../src/machine/script-table.js';
import { asCpuApplies, environmentFault } from '../src/seam/env.js';
import { GUEST_ENV, HOST_ENV, type CpuEnv, type Outcome } from '../src/seam/types.js';
import { engineConfig } from '../src/diff/fuzz.js';
import { preparePair } from '../src/diff/matrix.js';
import { resolvePairs } from '../src/diff/pairing.js';
import { disableNativeBatch, loadBatchHooks, watchedEmuStart } from '../src/machine/native-batch.js';
import { Unicorn } from '../src/machine/unicorn.js';
import { makePatch } from './support/patches.js';
import { UC_ERR, UC_PROT } from '../src/machine/unicorn-consts.js';

afterAll(() => disableNativeBatch(false));

/** A campaign's result and the caller memory (row tables) both sides ended with. */
interface Campaign { result: RangeResult; rowsA: Buffer; rowsB: Buffer; trapsA: Buffer; trapsB: Buffer }

/** What a side's traps recorded for the last chunk, as bytes: calls, oops and fixup vectors, steps served, SEAM inputs. */
function traps(s: SideBatch): Buffer {
  const bytes = (t: ArrayBufferView) => Buffer.from(t.buffer, t.byteOffset, t.byteLength);
  return Buffer.concat([bytes(s.calls), bytes(s.oops), bytes(s.fixup), bytes(s.served), s.seamInBytes]);
}

async function campaign(a: [string, string], b: [string, string], cases: number, native: boolean): Promise<Campaign> {
  disableNativeBatch(!native);
  try {
    await loadDisassembler();
    const pair = resolvePairs(a[0], resolveRevision(a[0]), b[0], resolveRevision(b[0]), [{ a: { spec: a[0], fn: a[1] }, b: { spec: b[0], fn: b[1] } }])[0]!;
    const prepared = preparePair(pair);
    const engine = new DiffEngine(engineConfig(prepared, 7, new DifferenceCollector(prepared.label, undefined)));
    try {
      const result = engine.runRange(0, cases);
      // The control block's scratch word (+32) is the portable driver's own; rows start at +64.
      return { result, rowsA: Buffer.from(engine.a.memoryBytes.subarray(64)), rowsB: Buffer.from(engine.b.memoryBytes.subarray(64)), trapsA: traps(engine.a), trapsB: traps(engine.b) };
    } finally {
      engine.close();
    }
  } finally {
    disableNativeBatch(false);
  }
}

describe('native batch helpers', () => {
  it('build here (CI installs gcc)', () => {
    expect(loadBatchHooks()).toEqual({ ok: true });
  });

  for (const [name, a, b] of [
    ['v3 __seamcall ↔ 6.12 __seamcall_ret (every row differs)', ['v3', '__seamcall'], ['linux-6.12', '__seamcall_ret']],
    ['6.12 __seamcall_saved_ret ↔ itself', ['linux-6.12', '__seamcall_saved_ret'], ['linux-6.12', '__seamcall_saved_ret']],
    ['v3 __tdx_module_call ↔ 6.12 __tdcall_ret (TDCALL)', ['v3', '__tdx_module_call'], ['linux-6.12', '__tdcall_ret']],
  ] as const) {
    it(`give the rows and differences of the portable driver: ${name}`, async () => {
      const cases = 1500; // a chunk and a half: a restart of the table mid-campaign
      const fast = await campaign([...a], [...b], cases, true);
      const slow = await campaign([...a], [...b], cases, false);
      expect(fast.result.pairs).toBe(slow.result.pairs);
      expect(fast.result).toEqual(slow.result);
      expect(fast.rowsA.equals(slow.rowsA)).toBe(true);
      expect(fast.rowsB.equals(slow.rowsB)).toBe(true);
      expect(fast.trapsA.equals(slow.trapsA)).toBe(true);
      expect(fast.trapsB.equals(slow.trapsB)).toBe(true);
    }, 120_000);
  }

  it('give the rows of the portable driver when every row of one side faults (a patch that unbalances the stack)', async () => {
    // Without `popq %rbx` the function returns to the caller's RBX leftover (a non-canonical canary): each row ends in a
    // fault, and the batch restarts the driver at the next row.
    const patch = makePatch('linux-6.12', 'arch/x86/virt/vmx/tdx/tdxcall.S', 'drop-popq-rbx', (t) => t.replace(/\n\tpopq\t%rbx\n/, '\n'));
    const fn = '__seamcall_saved_ret';
    const fast = await campaign(['linux-6.12', fn], [`linux-6.12+${patch}`, fn], 40, true);
    const slow = await campaign(['linux-6.12', fn], [`linux-6.12+${patch}`, fn], 40, false);
    expect(fast.result.signatures.some((x) => x.kind === 'end')).toBe(true);
    expect(fast.result).toEqual(slow.result);
    expect(fast.rowsB.equals(slow.rowsB)).toBe(true);
    expect(fast.trapsB.equals(slow.trapsB)).toBe(true);
  }, 120_000);

  // Outcomes the fuzz generator never makes: re-executed calls ('interrupted', with and without RAX) and RFLAGS kept ('preserve').
  const SCRIPTS: { kind: 'seamcall' | 'tdcall'; script: Outcome[]; env?: Partial<CpuEnv> }[] = [
    { kind: 'tdcall', script: [{ kind: 'interrupted', rax: 5n, regs: { rcx: 7n } }, { kind: 'interrupted' }, { kind: 'return', rax: 0n, regs: { rdx: 9n }, flags: 'preserve' }] },
    { kind: 'tdcall', script: [{ kind: 'return', rax: 1n, flags: 'vmsucceed' }] },
    { kind: 'tdcall', script: [{ kind: 'fault', vector: 'GP' }] },
    { kind: 'tdcall', script: [{ kind: 'return', rax: 0n }], env: { cpl: 3 } },
    { kind: 'seamcall', script: [{ kind: 'vmfailvalid' }, { kind: 'return', rax: 0n, regs: { r8: 1n, r9: 2n, r10: 3n, r11: 4n } }] },
    { kind: 'seamcall', script: [{ kind: 'fault', vector: 'UD' }] },
    { kind: 'seamcall', script: [{ kind: 'return', rax: 0n }], env: { vmx: false } },
  ];

  for (const [rev, fn] of [['linux-6.12', '__tdcall_saved_ret'], ['v3', '__tdx_module_call'], ['linux-6.12', '__seamcall_saved_ret'], ['v3', '__seamcall']] as const) {
    it(`answer every outcome kind as JavaScript does: ${rev} ${fn}`, () => {
      const r = resolveRevision(rev);
      const f = r.functions.find((x) => x.name === fn)!;
      const side = resolvePairs(rev, r, rev, r, [{ a: { spec: rev, fn }, b: { spec: rev, fn } }])[0]!.a;
      const rows = SCRIPTS.filter((x) => x.kind === f.kind).map((x, i): RowCall => {
        const env = { ...(x.kind === 'seamcall' ? HOST_ENV : GUEST_ENV), ...x.env };
        const inputs = new Array<bigint | undefined>(16).fill(undefined);
        inputs[1] = 0x1000n + BigInt(i); // RCX
        return { call: { leaf: x.kind === 'seamcall' ? 34n : 1n, inputs }, script: x.script.map((o) => asCpuApplies(x.kind, o)), env, envFault: environmentFault(x.kind, env) };
      });
      const run = (native: boolean) => {
        disableNativeBatch(!native);
        const table = native ? new ScriptTable(rows.length) : undefined;
        const b = new SideBatch({ label: rev, image: side.image, fn: { name: fn, kind: f.kind, abi: f.abi } }, rows.length, table);
        try {
          rows.forEach((rc, i) => {
            table?.encode(i, rc.script, rc.envFault);
            b.fill(i, rc);
          });
          b.run(rows.length);
          return { rows: Buffer.from(b.memoryBytes.subarray(64)), traps: traps(b), ends: rows.map((_, i) => b.endOf(i).cls), calls: [...b.calls] };
        } finally {
          b.close();
          disableNativeBatch(false);
        }
      };
      const fast = run(true);
      const slow = run(false);
      expect(fast.ends).toEqual(slow.ends);
      expect(fast.calls).toEqual(slow.calls);
      expect(fast.rows.equals(slow.rows)).toBe(true);
      expect(fast.traps.equals(slow.traps)).toBe(true);
      // The interrupted script is re-executed until it returns: three calls.
      if (f.kind === 'tdcall') expect(fast.calls[0]).toBe(3);
    }, 60_000);
  }

  it('a watched start ends an endless loop at its time limit', () => {
    expect(loadBatchHooks().ok).toBe(true);
    const uc = Unicorn.open();
    try {
      uc.memMap(0x10000n, 0x1000, UC_PROT.READ | UC_PROT.EXEC);
      uc.memWrite(0x10000n, Uint8Array.from([0xeb, 0xfe])); // jmp .
      // Unicorn is given no timeout of its own: only the watchdog can stop this.
      const err = watchedEmuStart(uc.enginePointer, 0x10000n, 0x20000n, 100_000, 0);
      expect(err).toBe(UC_ERR.OK);
      expect(uc.rip).toBe(0x10000n);
    } finally {
      uc.close();
    }
  });
});
