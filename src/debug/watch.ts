/**
 * Watchpoints as an observer of the run (src/machine run control).
 *
 * Memory watchpoints see the guest's loads and stores in the memory hook and
 * pause exactly after the instruction that changed (or read) the watched
 * bytes. Value watchpoints (registers, expressions) and writes the SEAM side
 * makes to memory are only visible afterwards: the monitor compares values
 * before every instruction, so it learns of a change made by instruction k
 * when instruction k+1 is about to run — one instruction late. It notes the
 * exact position (`lateHit`) and the debugger replays back to it
 * (deterministic replay makes that exact).
 *
 * In 'scan' mode (a replay for reverse execution) the monitor never pauses;
 * it records where each hit happened, as the position of the instruction
 * that caused it.
 */
import type { MemoryAccess, RunObserver } from '../machine/run-types.js';
import type { WatchAccess, WatchHit, Watchpoint } from './types.js';

export interface ActiveWatch {
  wp: Watchpoint;
  /** 'memory': guest loads/stores seen exactly; 'value': compared before every instruction. */
  kind: 'memory' | 'value';
  access: WatchAccess;
  address?: bigint;
  size?: number;
  /** The value now (value watches: evaluated; memory: the bytes, little-endian). */
  current(): bigint;
  tracked: bigint;
}

/** A hit, and the position of the instruction that caused it. */
export interface ScanHit {
  /** The instruction that changed or read the watched value (0-based step). */
  step: number;
  hit: WatchHit;
}

export type MonitorMode = 'off' | 'live' | 'scan';

export class WatchMonitor implements RunObserver {
  readonly observesReads = true;
  mode: MonitorMode = 'off';
  readonly watches: ActiveWatch[] = [];
  /** Live: a change seen one instruction late, with the position where the run should have stopped. */
  lateHit: { position: number; hit: WatchHit } | undefined;
  /** Live: the hit the memory hook paused for. */
  exactHit: WatchHit | undefined;
  readonly scanHits: ScanHit[] = [];
  private lastStep = -1;

  /** Makes every watch's tracked value its current one (after a replay, an edit, a new watch). */
  resync(): void {
    for (const w of this.watches) w.tracked = w.current();
  }

  beginLive(): void {
    this.mode = 'live';
    this.lateHit = undefined;
    this.exactHit = undefined;
  }

  beginScan(): void {
    this.mode = 'scan';
    this.scanHits.length = 0;
    this.resync();
  }

  instruction(step: number): string | void {
    this.lastStep = step;
    if (this.mode === 'off') return;
    const hit = this.compareValues();
    if (!hit) return;
    if (this.mode === 'scan') {
      this.scanHits.push({ step: step - 1, hit });
      return;
    }
    this.lateHit ??= { position: step, hit };
    return `watchpoint ${hit.id}`;
  }

  /**
   * Changes since the last comparison that no memory hook reported
   * (registers, expressions, SEAM-side writes). Updates the tracked values.
   */
  compareValues(): WatchHit | undefined {
    let first: WatchHit | undefined;
    for (const w of this.watches) {
      if (w.access === 'read') continue;
      const now = w.current();
      if (now === w.tracked) continue;
      const hit: WatchHit = { id: w.wp.id, old: w.tracked, new: now, access: w.kind === 'value' ? 'value' : 'write', ...(w.address !== undefined ? { address: w.address } : {}) };
      w.tracked = now;
      first ??= hit;
    }
    return first;
  }

  /** Scan mode, at the end of a replay: a change made by the last instruction replayed. */
  finishScan(position: number): void {
    if (this.mode !== 'scan') return;
    const hit = this.compareValues();
    if (hit) this.scanHits.push({ step: position - 1, hit });
  }

  memory(a: MemoryAccess): string | void {
    if (this.mode === 'off') return;
    let detail: string | undefined;
    for (const w of this.watches) {
      if (w.kind !== 'memory') continue;
      const lo = w.address!;
      const hi = lo + BigInt(w.size!);
      if (a.address >= hi || a.address + BigInt(a.size) <= lo) continue;
      let hit: WatchHit | undefined;
      if (a.kind === 'read') {
        if (w.access === 'write') continue;
        hit = { id: w.wp.id, old: w.tracked, new: w.tracked, address: lo, access: 'read' };
      } else {
        if (w.access === 'read') continue;
        // The hook runs before the store: the new value is the bytes now with the stored ones laid over them.
        const after = overlay(w.current(), lo, w.size!, a);
        if (after === w.tracked && w.access === 'write') continue;
        hit = { id: w.wp.id, old: w.tracked, new: after, address: lo, access: 'write' };
        w.tracked = after;
      }
      if (this.mode === 'scan') {
        this.scanHits.push({ step: a.step, hit });
        continue;
      }
      if (this.exactHit?.id === hit.id) this.exactHit = { ...this.exactHit, new: hit.new };
      else this.exactHit ??= hit;
      detail ??= `watchpoint ${hit.id}`;
    }
    return detail;
  }

  /** The step of the last instruction the monitor saw start. */
  get lastInstruction(): number {
    return this.lastStep;
  }
}

/** `value` (the `size` bytes at `base`, little-endian) with the bytes of a store laid over it. */
function overlay(value: bigint, base: bigint, size: number, store: MemoryAccess): bigint {
  let v = value;
  for (let j = 0; j < store.size; j++) {
    const at = store.address + BigInt(j) - base;
    if (at < 0n || at >= BigInt(size)) continue;
    const shift = at * 8n;
    const byte = (store.value >> BigInt(8 * j)) & 0xffn;
    v = (v & ~(0xffn << shift)) | (byte << shift);
  }
  return v;
}
