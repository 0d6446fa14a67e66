/**
 * The native scripted traps (src/machine/native/batch-hooks.c) apply every
 * outcome kind to the registers exactly as the JavaScript trap does —
 * applyOutcome (src/machine/trap.ts), and applyFixup for a fault through
 * the exception table (src/machine/execution.ts) — checked on a bare engine
 * at one TDCALL, where nothing after the trap can hide a register or flag.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { applyFixup, EX_TYPE_DEFAULT, EX_TYPE_FAULT } from '../src/machine/execution.js';
import { loadBatchHooks, ScriptedTraps, type ScriptedSite } from '../src/machine/native-batch.js';
import { RegisterFile, SLOT } from '../src/machine/register-file.js';
import { ScriptTable, TrapState, SERVED_BY_ENVIRONMENT } from '../src/machine/script-table.js';
import { applyOutcome } from '../src/machine/trap.js';
import { Unicorn } from '../src/machine/unicorn.js';
import { UC_PROT } from '../src/machine/unicorn-consts.js';
import { VECTOR_NUMBER, type Outcome, type SeamKind } from '../src/seam/types.js';
import { asCpuApplies } from '../src/seam/env.js';

const CODE = 0x10000n;
const CALLER = 0x200000n;
const TABLE = 64;
const STRIDE = 256;
const TDCALL = [0x66, 0x0f, 0x01, 0xcc];

const OUTCOMES: Outcome[] = [
  { kind: 'return', rax: 0x8000_0000_0000_0001n },
  { kind: 'return', rax: 0n, regs: { rcx: 1n, rdx: 2n, r8: 3n, r9: 4n, r10: 5n, r11: 6n, r12: 7n, r13: 8n, r14: 9n, r15: 10n, rbx: 11n, rdi: 12n, rsi: 13n } },
  { kind: 'return', rax: 3n, regs: { rdx: 0xffff_ffff_ffff_ffffn }, flags: 'preserve' },
  { kind: 'return', rax: 4n, flags: 'vmsucceed' },
  { kind: 'vmfailinvalid' },
  { kind: 'vmfailvalid' },
  { kind: 'interrupted' },
  { kind: 'interrupted', rax: 0x11n, regs: { r11: 0x22n } },
  { kind: 'fault', vector: 'UD' },
  { kind: 'fault', vector: 'GP' },
];

const engines: Unicorn[] = [];
afterAll(() => { for (const uc of engines) uc.close(); });

/** One trap at CODE answered natively with `o`, from registers `regs`; the registers after it. */
function nativeTrap(o: Outcome, regs: BigUint64Array, site: ScriptedSite, envFault?: Outcome, kind: SeamKind = 'seamcall'): { after: BigUint64Array; state: TrapState } {
  const uc = Unicorn.open();
  engines.push(uc);
  uc.memMap(CODE, 0x1000, UC_PROT.READ | UC_PROT.EXEC);
  uc.memWrite(CODE, Uint8Array.from([...TDCALL, ...new Array<number>(0x200).fill(0x90)]));
  const caller = Buffer.alloc(0x1000);
  uc.memMapPtr(CALLER, caller, UC_PROT.READ | UC_PROT.WRITE);
  caller.writeBigUInt64LE(CALLER + BigInt(TABLE), 0); // the control block's row pointer: row 0
  const table = new ScriptTable(1);
  const state = new TrapState(1);
  table.encode(0, [asCpuApplies(kind, o)], envFault);
  const traps = ScriptedTraps.attach(uc, [site], caller, CALLER, TABLE, STRIDE, table, state, [], 0xa5);
  expect(traps).toBeDefined();
  const rf = new RegisterFile(uc);
  rf.values.set(regs);
  rf.write();
  uc.emuStart(CODE, CODE + 0x1000n, 0, 1); // the hook answers before the TDCALL would execute
  rf.read();
  traps!.detach();
  return { after: BigUint64Array.from(rf.values), state };
}

function initialRegs(): BigUint64Array {
  const v = new BigUint64Array(18);
  for (let i = 0; i < 16; i++) v[i] = 0x1111_0000_0000_0000n * BigInt(i % 8 + 1) + BigInt(i);
  v[SLOT.rsp] = 0x8000n; // any value: the trap neither reads nor writes memory through it
  v[SLOT.rflags] = 0x2n | 0x8d5n; // every status flag set: VMsucceed clears them, 'preserve' keeps them
  v[SLOT.rip] = CODE;
  return v;
}

describe('native scripted traps', () => {
  it('are built here (CI installs gcc)', () => {
    expect(loadBatchHooks()).toEqual({ ok: true });
  });

  for (const [kind, fixupType] of [['seamcall', EX_TYPE_FAULT], ['seamcall', EX_TYPE_DEFAULT], ['tdcall', EX_TYPE_FAULT]] as const) {
    // TDCALL has no VMfail outcome (asCpuApplies refuses it); its returns keep RFLAGS unless they say otherwise.
    for (const o of OUTCOMES.filter((x) => kind === 'seamcall' || (x.kind !== 'vmfailinvalid' && x.kind !== 'vmfailvalid'))) {
      it(`${kind}: ${JSON.stringify(o, (_k, x: unknown) => (typeof x === 'bigint' ? `0x${x.toString(16)}` : x))} (exception-table type ${fixupType})`, () => {
        const regs = initialRegs();
        const entry = { entryAddress: 0n, insn: CODE, fixup: CODE + 0x100n, type: fixupType, typeWord: fixupType };
        const { after, state } = nativeTrap(o, regs, { address: CODE, fixup: { address: entry.fixup, type: entry.type } }, undefined, kind);
        const want = BigUint64Array.from(regs);
        if (!applyOutcome(want, asCpuApplies(kind, o), 'test')) applyFixup(want, entry, VECTOR_NUMBER[(o as { vector: 'UD' | 'GP' }).vector]);
        expect([...after].map((x) => x.toString(16))).toEqual([...want].map((x) => x.toString(16)));
        expect(state.calls[0]).toBe(1);
        expect(state.served[0]).toBe(0);
        expect([...state.seamIn.subarray(0, 16)]).toEqual([...regs.subarray(0, 16)]);
        expect(state.fixup[0]).toBe(o.kind === 'fault' ? VECTOR_NUMBER[o.vector] : 0);
        expect(state.oops[0]).toBe(0);
      });
    }
  }

  it('a fault with no exception-table entry is an oops, answered VMfailInvalid so that the function returns', () => {
    const regs = initialRegs();
    const { after, state } = nativeTrap({ kind: 'fault', vector: 'GP' }, regs, { address: CODE });
    const want = BigUint64Array.from(regs);
    applyOutcome(want, { kind: 'vmfailinvalid' }, 'test');
    expect([...after]).toEqual([...want]);
    expect(state.oops[0]).toBe(13);
    expect(state.fixup[0]).toBe(0);
  });

  it('the CPU environment answers instead of the script when it faults', () => {
    const regs = initialRegs();
    const { state, after } = nativeTrap({ kind: 'return', rax: 0n }, regs, { address: CODE, fixup: { address: CODE + 0x100n, type: EX_TYPE_FAULT } }, { kind: 'fault', vector: 'UD' });
    expect(state.served[0]).toBe(SERVED_BY_ENVIRONMENT);
    expect(after[SLOT.rax]).toBe(6n);
    expect(after[SLOT.rip]).toBe(CODE + 0x100n);
  });
});
