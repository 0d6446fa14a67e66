/**
 * What the GDB stub needs from the debugger core (src/debug/debugger.ts,
 * contract in DEBUG-CORE-API): run control, breakpoints on addresses,
 * memory watchpoints, registers and memory. The stub is a thin front end:
 * every decision about where a run stops is the core's. Declared as an
 * interface so the stub's tests can drive it with a scripted core.
 */
import type { CpuState } from '../machine/cpu-state.js';
import type { RunEnd } from '../machine/run-types.js';

export type CoreStopReason = 'entry' | 'step' | 'breakpoint' | 'watchpoint' | 'seam-call' | 'fixup' | 'interrupted' | 'exited' | 'start-of-run';

/** The parts of the core's StopEvent the stub reports. */
export interface CoreStopEvent {
  reason: CoreStopReason;
  position: number;
  rip: bigint;
  breakpointIds?: number[];
  watch?: { id: number; old: bigint; new: bigint; address?: bigint };
  end?: RunEnd;
  result?: { returnValue?: bigint; returnName?: string; function?: string };
}

export type WatchAccess = 'write' | 'read' | 'access';

export interface GdbCore {
  stopEvent(): CoreStopEvent;
  registers(): CpuState;
  writeRegister(name: string, value: bigint): void;
  readMemory(address: bigint, length: number): Uint8Array | undefined;
  writeMemory(address: bigint, bytes: Uint8Array): void;
  addBreakpoint(spec: { kind: 'address'; address: bigint }): { id: number };
  removeBreakpoint(id: number): boolean;
  addWatchpoint(spec: { kind: 'memory'; address: bigint; size: number; access: WatchAccess }): { id: number };
  removeWatchpoint(id: number): boolean;
  stepInstruction(n?: number): CoreStopEvent;
  continueAsync(signal?: AbortSignal): Promise<CoreStopEvent>;
  interrupt(): void;
  reverseStepInstruction(n?: number): CoreStopEvent;
  reverseContinue(): CoreStopEvent;
}
