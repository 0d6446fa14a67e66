/**
 * GDB Remote Serial Protocol framing: `$payload#cs` packets, `+`/`-`
 * acknowledgements, the 0x03 interrupt byte, and the binary escape `}`
 * (byte ^ 0x20) used by `X` and `qXfer`.
 *
 * `PacketReader` turns a byte stream into events. It is bounded and total:
 * every input gives events and never throws; a packet longer than the
 * limit is discarded up to its `#cs` and reported as oversized; a bad
 * checksum is reported (the session answers `-`); bytes outside a packet
 * other than `+`, `-` and 0x03 are skipped. Memory held is at most the
 * limit plus a few bytes, whatever the input.
 */

export type ReaderEvent =
  /** A well-formed packet; `payload` is unescaped. */
  | { kind: 'packet'; payload: Uint8Array }
  | { kind: 'bad-checksum' }
  /** A packet longer than the limit (its bytes were dropped). */
  | { kind: 'oversized'; length: number }
  | { kind: 'ack' }
  | { kind: 'nack' }
  | { kind: 'interrupt' };

const DOLLAR = 0x24;
const HASH = 0x23;
const ESCAPE = 0x7d;
const STAR = 0x2a;
const PLUS = 0x2b;
const MINUS = 0x2d;
const INTERRUPT = 0x03;

/** The largest payload (as sent, escapes included) gdb may send us; advertised as qSupported PacketSize. */
export const MAX_PACKET = 16384;

function hexDigit(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  return -1;
}

export function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  return sum;
}

/** Undoes `}` escapes; a trailing lone `}` is kept as is. */
export function unescape(raw: Uint8Array): Uint8Array {
  if (!raw.includes(ESCAPE)) return raw;
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b === ESCAPE && i + 1 < raw.length) out.push(raw[++i]! ^ 0x20);
    else out.push(b);
  }
  return Uint8Array.from(out);
}

/** Escapes the bytes that cannot appear in a packet body: `$`, `#`, `}` and `*` (run-length marker in replies). */
export function escape(data: Uint8Array): Uint8Array {
  let n = 0;
  for (const b of data) if (b === DOLLAR || b === HASH || b === ESCAPE || b === STAR) n++;
  if (n === 0) return data;
  const out = new Uint8Array(data.length + n);
  let j = 0;
  for (const b of data) {
    if (b === DOLLAR || b === HASH || b === ESCAPE || b === STAR) {
      out[j++] = ESCAPE;
      out[j++] = b ^ 0x20;
    } else out[j++] = b;
  }
  return out;
}

/** `$payload#cs` with the payload escaped. */
export function framePacket(payload: string | Uint8Array): Uint8Array {
  const body = escape(typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload);
  const out = new Uint8Array(body.length + 4);
  out[0] = DOLLAR;
  out.set(body, 1);
  out[body.length + 1] = HASH;
  const cs = checksum(body).toString(16).padStart(2, '0');
  out[body.length + 2] = cs.charCodeAt(0);
  out[body.length + 3] = cs.charCodeAt(1);
  return out;
}

type State = 'idle' | 'body' | 'cs1' | 'cs2';

export class PacketReader {
  private state: State = 'idle';
  private body: Uint8Array;
  private length = 0;
  /** Bytes of the current packet seen, kept or not. */
  private seen = 0;
  private sum = 0;
  private cs = 0;

  constructor(readonly limit: number = MAX_PACKET) {
    this.body = new Uint8Array(limit);
  }

  /** Consumes bytes; returns the events they complete. */
  feed(bytes: Uint8Array): ReaderEvent[] {
    const events: ReaderEvent[] = [];
    for (const b of bytes) {
      switch (this.state) {
        case 'idle':
          if (b === DOLLAR) this.start();
          else if (b === PLUS) events.push({ kind: 'ack' });
          else if (b === MINUS) events.push({ kind: 'nack' });
          else if (b === INTERRUPT) events.push({ kind: 'interrupt' });
          // Anything else outside a packet is line noise: skipped.
          break;
        case 'body':
          if (b === HASH) this.state = 'cs1';
          else if (b === DOLLAR) this.start(); // a new packet starts: the unfinished one is dropped
          else {
            if (this.length < this.limit) this.body[this.length++] = b;
            this.seen++;
            this.sum = (this.sum + b) & 0xff;
          }
          break;
        case 'cs1': {
          const d = hexDigit(b);
          if (d < 0) {
            events.push({ kind: 'bad-checksum' });
            this.state = b === DOLLAR ? (this.start(), 'body') : 'idle';
          } else {
            this.cs = d << 4;
            this.state = 'cs2';
          }
          break;
        }
        case 'cs2': {
          const d = hexDigit(b);
          this.state = 'idle';
          if (d < 0 || (this.cs | d) !== this.sum) {
            events.push({ kind: 'bad-checksum' });
            if (b === DOLLAR) this.start();
          } else if (this.seen > this.limit) events.push({ kind: 'oversized', length: this.seen });
          else events.push({ kind: 'packet', payload: unescape(this.body.slice(0, this.length)) });
          break;
        }
      }
    }
    return events;
  }

  private start(): void {
    this.state = 'body';
    this.length = 0;
    this.seen = 0;
    this.sum = 0;
  }
}
