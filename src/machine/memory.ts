/**
 * The physical-memory area as the SEAM handler sees it: a host Buffer mapped
 * into the guest with uc_mem_map_ptr, so reads and writes cost no call into
 * Unicorn. Identity-mapped: guest address = "physical" address.
 */
import { PhysicalAccessError, type GuestMemory } from '../seam/types.js';

/** One write by the SEAM handler: where, and a copy of the bytes as written (later writes do not change it). */
export interface MemoryWrite {
  address: bigint;
  length: number;
  bytes: Uint8Array;
}

export class PhysMemory implements GuestMemory {
  /** Writes made by the handler during the current SEAM call (when recording). */
  recorded: MemoryWrite[] | undefined;

  constructor(readonly base: bigint, readonly buffer: Buffer) {}

  get size(): number {
    return this.buffer.length;
  }

  contains(address: bigint, length: number): boolean {
    return length >= 0 && address >= this.base && address + BigInt(length) <= this.base + BigInt(this.buffer.length);
  }

  private offset(address: bigint, length: number): number {
    if (!this.contains(address, length)) throw new PhysicalAccessError(address, length, this.base, this.buffer.length);
    return Number(address - this.base);
  }

  read(address: bigint, length: number): Uint8Array {
    const o = this.offset(address, length);
    return Uint8Array.prototype.slice.call(this.buffer, o, o + length);
  }

  write(address: bigint, bytes: Uint8Array): void {
    const o = this.offset(address, bytes.length);
    this.buffer.set(bytes, o);
    this.recorded?.push({ address, length: bytes.length, bytes: Uint8Array.from(bytes) });
  }

  readU64(address: bigint): bigint {
    return this.buffer.readBigUInt64LE(this.offset(address, 8));
  }

  writeU64(address: bigint, value: bigint): void {
    const o = this.offset(address, 8);
    this.buffer.writeBigUInt64LE(BigInt.asUintN(64, value), o);
    this.recorded?.push({ address, length: 8, bytes: Uint8Array.prototype.slice.call(this.buffer, o, o + 8) });
  }
}
