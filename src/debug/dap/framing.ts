/**
 * The Debug Adapter Protocol's base framing: `Content-Length: N\r\n\r\n`
 * headers, then N bytes of UTF-8 JSON. The reader takes the byte stream in
 * chunks of any size and never throws: a malformed header, an oversized
 * body, bad JSON or a message that is not an object becomes an error
 * string, and the reader resynchronises at the next header. Memory is
 * bounded by the header and body limits.
 */

export const MAX_HEADER_BYTES = 8 * 1024;
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

const SEPARATOR = Buffer.from('\r\n\r\n');
const HEADER_NAME = Buffer.from('Content-Length:');

export interface ReadResult {
  messages: Record<string, unknown>[];
  errors: string[];
}

export class DapMessageReader {
  private buf: Buffer = Buffer.alloc(0);
  /** Body bytes still expected, or -1 while reading a header. */
  private bodyLength = -1;
  /** Bytes of an oversized body still to throw away. */
  private skipping = 0;

  constructor(private readonly maxHeader = MAX_HEADER_BYTES, private readonly maxBody = MAX_BODY_BYTES) {}

  /** Bytes held while waiting for the rest of a message. */
  get buffered(): number {
    return this.buf.length;
  }

  push(chunk: Uint8Array): ReadResult {
    const out: ReadResult = { messages: [], errors: [] };
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.skipping > 0) {
      const n = Math.min(this.skipping, data.length);
      this.skipping -= n;
      data = data.subarray(n);
    }
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : Buffer.from(data);
    for (;;) {
      if (this.bodyLength < 0) {
        const end = this.buf.indexOf(SEPARATOR);
        if (end < 0) {
          if (this.buf.length > this.maxHeader) {
            out.errors.push(`header longer than ${this.maxHeader} bytes without an empty line`);
            this.resync();
            continue;
          }
          return out;
        }
        if (end > this.maxHeader) {
          out.errors.push(`header longer than ${this.maxHeader} bytes`);
          this.resync();
          continue;
        }
        const header = this.buf.subarray(0, end).toString('latin1');
        this.buf = this.buf.subarray(end + SEPARATOR.length);
        const length = parseHeader(header);
        if (typeof length === 'string') {
          out.errors.push(length);
          continue;
        }
        if (length > this.maxBody) {
          out.errors.push(`message of ${length} bytes is over the limit of ${this.maxBody}`);
          const drop = Math.min(length, this.buf.length);
          this.buf = this.buf.subarray(drop);
          this.skipping = length - drop;
          if (this.skipping > 0) return out;
          continue;
        }
        this.bodyLength = length;
      }
      if (this.buf.length < this.bodyLength) return out;
      const body = this.buf.subarray(0, this.bodyLength);
      this.buf = this.buf.subarray(this.bodyLength);
      this.bodyLength = -1;
      let msg: unknown;
      try {
        msg = JSON.parse(body.toString('utf8'));
      } catch (e) {
        out.errors.push(`message is not JSON: ${(e as Error).message}`);
        continue;
      }
      if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
        out.errors.push('message is not a JSON object');
        continue;
      }
      out.messages.push(msg as Record<string, unknown>);
    }
  }

  /** Drops bytes up to the next "Content-Length:" (keeping a tail that may be the start of one). */
  private resync(): void {
    const next = this.buf.indexOf(HEADER_NAME, 1);
    if (next > 0) this.buf = this.buf.subarray(next);
    else this.buf = this.buf.subarray(Math.max(0, this.buf.length - HEADER_NAME.length + 1));
  }
}

/** The Content-Length of a header block, or why it is unusable. */
function parseHeader(header: string): number | string {
  let length: number | undefined;
  for (const line of header.split('\r\n')) {
    const m = /^([A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!m) return `malformed header line ${JSON.stringify(line.slice(0, 80))}`;
    if (m[1]!.toLowerCase() !== 'content-length') continue;
    if (!/^\d{1,15}$/.test(m[2]!)) return `bad Content-Length ${JSON.stringify(m[2]!.slice(0, 40))}`;
    length = Number(m[2]);
  }
  return length === undefined ? 'header without Content-Length' : length;
}

/** One message as it goes on the wire. */
export function encodeMessage(message: object): Buffer {
  const json = Buffer.from(JSON.stringify(message), 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${json.length}\r\n\r\n`, 'ascii'), json]);
}
