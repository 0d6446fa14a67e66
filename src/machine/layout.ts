/**
 * Where things live in the emulated address space. Everything not listed
 * here (and not an image section) is unmapped, so a wild access faults and is
 * reported with its source line.
 */


export interface MachineLayout {
  /** One RX page filled with int3: the return-address sentinel the harness pushes. */
  sentinel: bigint;
  /** RX pages where the batch driver's bytes are loaded (position-independent code). */
  driver: bigint;
  driverSize: number;
  /** The stack: [stackBase, stackBase + stackSize), with unmapped guard pages on both sides. */
  stackBase: bigint;
  stackSize: number;
  /** Bytes above the entry RSP still inside the stack mapping (the caller's frame), so a stray write there is reported, not a fault. */
  callerFrame: number;
  /** Caller data: argument and output structs the harness places. */
  callerBase: bigint;
  callerSize: number;
  /** "Physical memory" the SEAM handler reads and writes, identity-mapped. */
  physBase: bigint;
  physSize: number;
}

export const DEFAULT_LAYOUT: Readonly<MachineLayout> = Object.freeze({
  sentinel: 0x0000_0000_1000_0000n,
  driver: 0x0000_0000_1010_0000n,
  driverSize: 0x1000,
  stackBase: 0x0000_7fff_e000_0000n,
  stackSize: 0x10000,
  callerFrame: 0x100,
  callerBase: 0x0000_0000_2000_0000n,
  callerSize: 0x10000,
  physBase: 0x0000_0000_4000_0000n,
  physSize: 0x100000,
});

