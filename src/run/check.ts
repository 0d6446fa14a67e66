/**
 * Checking a call (the last of plan → execute → check): reads what the C
 * caller gets back and checks what it relies on (System V psABI §3.2):
 * callee-saved registers preserved, RSP back to entry + 8, DF clear, no
 * stores at or above the entry RSP, and stores outside the stack only into
 * the structs the caller passed — and that no value the SEAM side produced
 * is left in a caller register where the function promised to clear it
 * (the leak check, from the register origins of src/run/origins.ts).
 */
import type { Machine, MachineRun, StoreRecord } from '../machine/machine.js';
import { SLOT } from '../machine/register-file.js';
import { formatLocation } from '../image/source-map.js';
import { GPR_NAMES, RFLAGS, type Regs } from '../support/registers.js';
import { hex } from '../support/format.js';
import { CALLEE_SAVED, type CallPlan } from './plan.js';
import type { LeakReport, LeftoverValue, OriginTracker, ScrubPromise } from './origins.js';

export type CheckStatus = 'pass' | 'fail' | 'n/a';

export interface AbiCheck {
  name: 'callee-saved' | 'rsp' | 'df' | 'stack-writes' | 'memory-writes' | 'leak';
  status: CheckStatus;
  detail: string;
}

export interface OutputField {
  name: string;
  offset: number;
  size: number;
  value: bigint;
  /** What the field held when the function was called (inputs, or the poison of an output-only struct). */
  initial: bigint;
  /** The function stored into this field during the run. */
  written: boolean;
}

export interface OutputStruct {
  param: string;
  struct: string;
  address: bigint;
  outputOnly: boolean;
  fields: OutputField[];
}

function readField(buf: Uint8Array, off: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[off + i]!);
  return v;
}


export interface HarnessOutcome {
  checks: AbiCheck[];
  /** SEAM-produced values left in caller registers (absent when the run did not return). */
  leak?: LeakReport;
  returnValue?: bigint;
  outputs: OutputStruct[];
  regsOut: Regs;
  rflagsOut: bigint;
}

/** Register origins of a run (single mode with Capstone), or why there are none. */
export type OriginSource = { tracker: OriginTracker; promise: ScrubPromise } | { untracked: string };

/** Reads the result back and runs the ABI checks. */
export function checkCall(machine: Machine, plan: CallPlan, run: MachineRun, origins: OriginSource = { untracked: 'no register-origin tracking for this run' }): HarnessOutcome {
  machine.regs.read();
  const v = machine.regs.values;
  const regsOut = {} as Regs;
  GPR_NAMES.forEach((r, i) => { regsOut[r] = v[i]!; });
  const rflagsOut = v[SLOT.rflags]!;
  const returned = run.stop.kind === 'returned';
  const checks: AbiCheck[] = [];

  if (returned) {
    const bad = CALLEE_SAVED.filter((r) => regsOut[r] !== plan.initialRegs[r]);
    checks.push({
      name: 'callee-saved', status: bad.length ? 'fail' : 'pass',
      detail: bad.length ? bad.map((r) => `${r} ${hex(plan.initialRegs[r])} → ${hex(regsOut[r])}`).join(', ') : 'rbx rbp r12–r15 preserved',
    });
    const want = plan.entryRsp + 8n;
    checks.push({ name: 'rsp', status: regsOut.rsp === want ? 'pass' : 'fail', detail: regsOut.rsp === want ? 'entry + 8' : `${hex(regsOut.rsp)}, expected ${hex(want)}` });
    const df = (rflagsOut & RFLAGS.DF) !== 0n;
    checks.push({ name: 'df', status: df ? 'fail' : 'pass', detail: df ? 'DF set on return' : 'clear' });
  } else {
    for (const name of ['callee-saved', 'rsp', 'df'] as const) checks.push({ name, status: 'n/a', detail: `the function did not return (${run.stop.kind})` });
  }

  const structs = plan.params.filter((p) => p.struct).map((p) => ({ p, s: p.struct!, end: p.struct!.address + BigInt(p.struct!.layout.size) }));
  const stackLo = machine.layout.stackBase;
  const stackHi = stackLo + BigInt(machine.stack.length);
  const aboveEntry: StoreRecord[] = [];
  const stray: StoreRecord[] = [];
  for (const st of run.stores) {
    const end = st.address + BigInt(st.size);
    if (st.address >= stackLo && st.address < stackHi) {
      if (end > plan.entryRsp) aboveEntry.push(st);
    } else if (!structs.some((x) => st.address >= x.s.address && end <= x.end)) {
      stray.push(st);
    }
  }
  const describe = (st: StoreRecord) => `${st.size} bytes at ${hex(st.address)}${machine.regionName(st.address) ? ` (${machine.regionName(st.address)})` : ''} by ${formatLocation(machine.map.locate(st.rip), st.rip)}`;
  const unseen = run.storesDropped ? ` (the first ${run.stores.length} stores; ${run.storesDropped} more were not recorded)` : '';
  const list = (xs: StoreRecord[]) => xs.slice(0, 8).map(describe).join('; ') + (xs.length > 8 ? `; … ${xs.length - 8} more` : '');
  checks.push({ name: 'stack-writes', status: aboveEntry.length ? 'fail' : 'pass', detail: (aboveEntry.length ? list(aboveEntry) : 'only below the entry RSP') + unseen });
  checks.push({ name: 'memory-writes', status: stray.length ? 'fail' : 'pass', detail: (stray.length ? list(stray) : 'only into the structs passed') + unseen });

  const outputs: OutputStruct[] = structs.map(({ p, s }) => {
    const base = Number(s.address - machine.layout.callerBase);
    return {
      param: p.name, struct: s.layout.name, address: s.address, outputOnly: s.outputOnly,
      fields: s.layout.fields.map((f) => {
        const lo = s.address + BigInt(f.offset);
        const hi = lo + BigInt(f.size);
        return {
          name: f.name, offset: f.offset, size: f.size,
          value: readField(machine.caller, base + f.offset, f.size),
          initial: readField(s.initial, f.offset, f.size),
          written: run.stores.some((st) => st.address < hi && st.address + BigInt(st.size) > lo),
        };
      }),
    };
  });

  let leak: LeakReport | undefined;
  if (returned) {
    leak = 'tracker' in origins
      ? { tracked: true, promise: origins.promise, leftovers: origins.tracker.leftovers(regsOut) }
      : { tracked: false, reason: origins.untracked };
  }
  checks.push(leakCheck(leak, run.stop.kind));

  return { checks, ...(leak ? { leak } : {}), ...(returned ? { returnValue: regsOut.rax } : {}), outputs, regsOut, rflagsOut };
}

/**
 * The leak check's verdict follows what the function promises. A function
 * that clears registers after the call (tdxcall.S `.if \saved && \ret`)
 * promises that no SEAM value reaches its caller except RAX: any leftover
 * fails. A function that clears none promises only RAX and the structs it
 * fills; SEAM values it leaves in caller-clobbered registers are listed, not
 * failed (the kernel's comment restricts the clearing to the VP.VMCALL /
 * VP.ENTER variants).
 */
export function leakCheck(leak: LeakReport | undefined, end: string): AbiCheck {
  if (!leak) return { name: 'leak', status: 'n/a', detail: `the function did not return (${end})` };
  if (!leak.tracked) return { name: 'leak', status: 'n/a', detail: leak.reason };
  const list = leak.leftovers.map((l) => describeLeftoverShort(l)).join('; ');
  if (leak.leftovers.length === 0) return { name: 'leak', status: 'pass', detail: 'no SEAM-produced value left in a caller register but RAX' };
  if (leak.promise.scrubs) {
    return { name: 'leak', status: 'fail', detail: `SEAM values survive the clearing after the call (${leak.promise.zeroed.length} registers cleared): ${list}` };
  }
  return { name: 'leak', status: 'pass', detail: `left in caller registers; this function clears none after the call, so it promises only RAX: ${list}` };
}

function describeLeftoverShort(l: LeftoverValue): string {
  const from = l.origin.from === 'memory' ? 'memory' : l.origin.from.toUpperCase();
  const by = l.writerLocation ? ` by ${formatLocation(l.writerLocation, l.writer)}` : '';
  return `${l.register} = ${hex(l.value)} from SEAM call #${l.origin.seamCall} ${from}${l.origin.derived ? ' (derived)' : ''}${by}`;
}
