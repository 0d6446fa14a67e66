/**
 * What the GDB stub needs from the debugger core (src/debug/debugger.ts,
 * contract in DEBUG-CORE-API): run control, breakpoints on addresses,
 * memory watchpoints, registers and memory. The stub is a thin front end:
 * every decision about where a run stops is the core's. Declared as the
 * subset of `Debugger` the stub calls, so the stub's tests can drive it
 * with a scripted core; src/cli/debug-gdb.ts hands it the real one.
 */
import type { CpuState } from '../machine/cpu-state.js';
import type { RunResult } from '../run/run.js';
import type { StopEvent, WatchAccess, WatchHit } from '../debug/types.js';

export type { WatchAccess };

/** The parts of the core's StopEvent the stub reports. */
export type CoreStopEvent = Pick<StopEvent, 'reason' | 'position' | 'rip' | 'breakpointIds' | 'end'> & {
  watch?: Pick<WatchHit, 'id' | 'address'>;
  result?: Partial<Pick<RunResult, 'returnValue' | 'returnName'>>;
};

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
