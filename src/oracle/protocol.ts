/**
 * The pipe protocol between seamlab and the silicon-oracle runner
 * (src/oracle/native/runner.c, whose header comment is the specification):
 * request encoders and a reader that turns the runner's byte stream into
 * typed answers. The reader never trusts a length: a truncated stream is
 * "not yet complete", a malformed one is a `ProtocolError`.
 */
import { SeamlabError } from '../errors.js';

export const PROTOCOL_VERSION = 1;

export const REQUEST = { load: 1, write: 2, zero: 3, run: 4, resume: 5, read: 6, quit: 7 } as const;
export const ANSWER = { ok: 0x80, error: 0x81, step: 0x82, event: 0x83, data: 0x84, hello: 0x85 } as const;

/** Registers in a message: the 16 GPRs in encoding order, RFLAGS, RIP (the machine's SLOT order). */
export const REG_COUNT = 18;
const REGS_BYTES = REG_COUNT * 8;
/** Larger answers are a corrupt stream, not a big run. */
export const MAX_ANSWER_BYTES = 64 << 20;

/** Memory a step changed (or seamlab writes): `bytes` at `address`. */
export interface ByteRun {
  address: bigint;
  bytes: Uint8Array;
}

export type EventKind = 'stop' | 'signal' | 'budget' | 'gone';
const EVENT_KINDS: Record<number, EventKind> = { 1: 'stop', 2: 'signal', 3: 'budget', 4: 'gone' };

export type Answer =
  | { type: 'ok' }
  | { type: 'error'; message: string }
  | { type: 'step'; regs: BigUint64Array; writes: ByteRun[] }
  | { type: 'event'; kind: EventKind; signal: number; code: number; siAddr: bigint; regs: BigUint64Array; writes: ByteRun[] }
  | { type: 'data'; bytes: Uint8Array }
  | { type: 'hello'; version: number; ptraceErrno: number; detail: string };

export class ProtocolError extends SeamlabError {
  constructor(message: string) {
    super('ORACLE_PROTOCOL', `silicon-oracle runner: ${message}`, 'this is a bug in seamlab or a runner built from another source; run `seamlab setup` again');
  }
}

/** A cursor over one answer's payload that refuses to read past its end. */
class Payload {
  private at = 0;
  constructor(private readonly b: Buffer, private readonly what: string) {}
  private need(n: number): void {
    if (this.at + n > this.b.length) throw new ProtocolError(`${this.what} answer is truncated (${this.b.length} bytes)`);
  }
  u32(): number {
    this.need(4);
    const v = this.b.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.b.readInt32LE(this.at);
    this.at += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.b.readBigUInt64LE(this.at);
    this.at += 8;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = Uint8Array.from(this.b.subarray(this.at, this.at + n));
    this.at += n;
    return v;
  }
  rest(): Buffer {
    const v = this.b.subarray(this.at);
    this.at = this.b.length;
    return v;
  }
  regs(): BigUint64Array {
    this.need(REGS_BYTES);
    const r = new BigUint64Array(REG_COUNT);
    for (let i = 0; i < REG_COUNT; i++) r[i] = this.b.readBigUInt64LE(this.at + 8 * i);
    this.at += REGS_BYTES;
    return r;
  }
  writes(): ByteRun[] {
    const n = this.u32();
    // Each write takes at least 12 bytes: a count beyond what is left is corrupt.
    if (n * 12 > this.b.length - this.at) throw new ProtocolError(`${this.what} answer claims ${n} writes in ${this.b.length - this.at} bytes`);
    const out: ByteRun[] = [];
    for (let i = 0; i < n; i++) {
      const address = this.u64();
      const len = this.u32();
      out.push({ address, bytes: this.bytes(len) });
    }
    return out;
  }
  end(): void {
    if (this.at !== this.b.length) throw new ProtocolError(`${this.what} answer has ${this.b.length - this.at} bytes too many`);
  }
}

function decode(type: number, p: Buffer): Answer {
  switch (type) {
    case ANSWER.ok: {
      new Payload(p, 'OK').end();
      return { type: 'ok' };
    }
    case ANSWER.error:
      return { type: 'error', message: p.toString('utf8') };
    case ANSWER.step: {
      const c = new Payload(p, 'STEP');
      const a: Answer = { type: 'step', regs: c.regs(), writes: c.writes() };
      c.end();
      return a;
    }
    case ANSWER.event: {
      const c = new Payload(p, 'EVENT');
      const k = c.u32();
      const kind = EVENT_KINDS[k];
      if (!kind) throw new ProtocolError(`unknown event kind ${k}`);
      const signal = c.u32();
      const code = c.i32();
      c.u32();
      const a: Answer = { type: 'event', kind, signal, code, siAddr: c.u64(), regs: c.regs(), writes: c.writes() };
      c.end();
      return a;
    }
    case ANSWER.data:
      return { type: 'data', bytes: Uint8Array.from(p) };
    case ANSWER.hello: {
      const c = new Payload(p, 'HELLO');
      const version = c.u32();
      const ptraceErrno = c.u32();
      return { type: 'hello', version, ptraceErrno, detail: c.rest().toString('utf8') };
    }
    default:
      throw new ProtocolError(`unknown answer type 0x${type.toString(16)}`);
  }
}

/** Splits the runner's byte stream into answers; feed it chunks as they arrive. */
export class AnswerReader {
  private buf = Buffer.alloc(1 << 16);
  private start = 0;
  private end = 0;

  /** Room to read into: at least `min` bytes. */
  space(min = 1 << 16): Buffer {
    if (this.start === this.end) this.start = this.end = 0;
    if (this.buf.length - this.end < min) {
      const used = this.end - this.start;
      const next = Buffer.alloc(Math.max(this.buf.length, used + min) * 2);
      this.buf.copy(next, 0, this.start, this.end);
      this.buf = next;
      this.start = 0;
      this.end = used;
    }
    return this.buf.subarray(this.end);
  }

  /** Says that `n` bytes were read into `space()`. */
  commit(n: number): void {
    this.end += n;
  }

  push(chunk: Uint8Array): void {
    this.space(chunk.length).set(chunk);
    this.commit(chunk.length);
  }

  /** Bytes received but not yet part of a complete answer. */
  get pending(): number {
    return this.end - this.start;
  }

  /** The next complete answer, or undefined until more bytes arrive. Throws on a malformed stream. */
  next(): Answer | undefined {
    if (this.end - this.start < 8) return undefined;
    const type = this.buf.readUInt32LE(this.start);
    const len = this.buf.readUInt32LE(this.start + 4);
    if (len > MAX_ANSWER_BYTES) throw new ProtocolError(`answer of ${len} bytes (type 0x${type.toString(16)}) is too long`);
    if (this.end - this.start < 8 + len) return undefined;
    const payload = Buffer.from(this.buf.subarray(this.start + 8, this.start + 8 + len));
    this.start += 8 + len;
    return decode(type, payload);
  }
}

// ---- requests -----------------------------------------------------------------

/** A memory region of the child: page-aligned address and size, prot 1 R / 2 W / 4 X. */
export interface RegionSpec {
  address: bigint;
  size: number;
  prot: number;
}

export interface RunRequest {
  regs: BigUint64Array;
  budget: number;
  /** Compare every writable page after every step (slow, exact). */
  exactWrites: boolean;
  /** Test knob: XOR RFLAGS with `flipMask` right after step `flipStep` completes. */
  flipStep: number;
  flipMask: bigint;
  stops: bigint[];
}

function message(type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

function regsBytes(regs: BigUint64Array): Buffer {
  if (regs.length !== REG_COUNT) throw new Error(`internal: ${regs.length} registers, not ${REG_COUNT}`);
  const b = Buffer.alloc(REGS_BYTES);
  for (let i = 0; i < REG_COUNT; i++) b.writeBigUInt64LE(regs[i]!, 8 * i);
  return b;
}

export function encodeLoad(regions: readonly RegionSpec[]): Buffer {
  const b = Buffer.alloc(4 + regions.length * 20);
  b.writeUInt32LE(regions.length, 0);
  regions.forEach((r, i) => {
    b.writeBigUInt64LE(r.address, 4 + 20 * i);
    b.writeBigUInt64LE(BigInt(r.size), 12 + 20 * i);
    b.writeUInt32LE(r.prot, 20 + 20 * i);
  });
  return message(REQUEST.load, b);
}

export function encodeWrite(address: bigint, bytes: Uint8Array): Buffer {
  const b = Buffer.alloc(8 + bytes.length);
  b.writeBigUInt64LE(address, 0);
  b.set(bytes, 8);
  return message(REQUEST.write, b);
}

export function encodeZero(): Buffer {
  return message(REQUEST.zero, Buffer.alloc(0));
}

export function encodeRun(r: RunRequest): Buffer {
  const head = Buffer.alloc(8 + 4 + 8 + 8 + 4);
  head.writeBigUInt64LE(BigInt(r.budget), 0);
  head.writeUInt32LE(r.exactWrites ? 1 : 0, 8);
  head.writeBigInt64LE(BigInt(r.flipStep), 12);
  head.writeBigUInt64LE(r.flipMask, 20);
  head.writeUInt32LE(r.stops.length, 28);
  const stops = Buffer.alloc(8 * r.stops.length);
  r.stops.forEach((s, i) => stops.writeBigUInt64LE(s, 8 * i));
  return message(REQUEST.run, Buffer.concat([regsBytes(r.regs), head, stops]));
}

export function encodeResume(regs: BigUint64Array): Buffer {
  return message(REQUEST.resume, regsBytes(regs));
}

export function encodeRead(address: bigint, length: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeBigUInt64LE(address, 0);
  b.writeUInt32LE(length, 8);
  return message(REQUEST.read, b);
}

export function encodeQuit(): Buffer {
  return message(REQUEST.quit, Buffer.alloc(0));
}
