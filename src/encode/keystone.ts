/**
 * Keystone 0.9.2 (wasm, `@alexaltea/keystone-js`) behind a guard.
 *
 * Keystone has defects we design around (see README "Why Keystone only sees
 * single instructions"): it reads un-prefixed decimal as hex in AT&T mode,
 * hangs on some macro forms, crashes the wasm on section directives. seamlab's
 * assembler therefore hands it one fully resolved instruction at a time with
 * hex literals only, and this wrapper runs it in a worker thread so that a
 * hang (terminated after a timeout) or a wasm crash (worker discarded) becomes
 * a typed error instead of taking the process down.
 *
 * The API is synchronous: the calling thread blocks on Atomics.wait while the
 * worker encodes, which keeps the assembler's layout loop simple.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { SeamlabError } from '../errors.js';

/** Why an encoding failed. */
export type KeystoneFailureKind = 'rejected' | 'timeout' | 'crash';

export interface KeystoneFailure {
  ok: false;
  kind: KeystoneFailureKind;
  /** Keystone's own message, e.g. "Invalid mnemonic (KS_ERR_ASM_MNEMONICFAIL)". */
  message: string;
  errno?: number;
}
export interface KeystoneSuccess { ok: true; bytes: Uint8Array }
export type KeystoneResult = KeystoneSuccess | KeystoneFailure;

export interface KeystoneRequest { text: string; address: bigint }

export interface KeystoneOptions {
  /** How long one batch may run before the worker is terminated (default 3000 ms). */
  timeoutMs?: number;
}

const STATE = { IDLE: 0, REQUEST: 1, DONE: 2, READY: 3, FAILED: 4 } as const;
const DATA_BYTES = 4 << 20;

/**
 * The worker body, run as an eval'd CommonJS script so that it works the same
 * from TypeScript sources (tests) and from the esbuild bundle.
 */
const WORKER_SOURCE = String.raw`
const { workerData } = require('node:worker_threads');
// Emscripten reports aborts with console.error; the host turns them into typed errors instead.
console.log = console.error = console.warn = () => {};
const ctrl = new Int32Array(workerData.ctrl);
const data = new Uint8Array(workerData.data);
const dec = new TextDecoder();
const enc = new TextEncoder();
const put = (obj, state) => {
  const bytes = enc.encode(JSON.stringify(obj));
  data.set(bytes.subarray(0, data.length));
  Atomics.store(ctrl, 1, Math.min(bytes.length, data.length));
  Atomics.store(ctrl, 0, state);
  Atomics.notify(ctrl, 0);
};
(async () => {
  let ks, a;
  try {
    const MKeystone = require(workerData.keystonePath);
    ks = await MKeystone({ print: () => {}, printErr: () => {} });
    a = new ks.Keystone(ks.ARCH_X86, ks.MODE_64);
    a.option(ks.OPT_SYNTAX, ks.OPT_SYNTAX_ATT);
  } catch (e) {
    put({ error: String(e && e.message || e) }, ${STATE.FAILED});
    return;
  }
  put({ ready: true }, ${STATE.READY});
  for (;;) {
    for (let s = Atomics.load(ctrl, 0); s !== ${STATE.REQUEST}; s = Atomics.load(ctrl, 0)) Atomics.wait(ctrl, 0, s);
    const req = JSON.parse(dec.decode(data.slice(0, Atomics.load(ctrl, 1))));
    const out = [];
    let crashed = false;
    for (const item of req) {
      if (crashed) { out.push({ ok: false, kind: 'crash', message: 'not attempted: Keystone crashed on an earlier item' }); continue; }
      try {
        const r = a.asm(item.text, BigInt(item.address));
        if (r.failed) {
          const errno = a.errno();
          out.push({ ok: false, kind: 'rejected', errno, message: ks.strerror(errno) });
        } else {
          out.push({ ok: true, hex: Buffer.from(r.mc).toString('hex') });
        }
      } catch (e) {
        crashed = true;
        out.push({ ok: false, kind: 'crash', message: String(e && e.message || e) });
      }
    }
    put(out, ${STATE.DONE});
    // A wasm abort poisons the Emscripten module: end this worker, the host starts a new one.
    if (crashed) return;
  }
})();
`;

let keystonePath: string | undefined;
function resolveKeystone(): string {
  keystonePath ??= createRequire(import.meta.url).resolve('@alexaltea/keystone-js');
  return keystonePath;
}

export class KeystoneEncoder {
  private worker?: Worker;
  private ctrl!: Int32Array;
  private data!: Uint8Array;
  private readonly timeoutMs: number;
  /** Number of workers started (a crash or hang costs one). */
  workersStarted = 0;

  constructor(options: KeystoneOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 3000;
  }

  /** Whether the worker has reported READY (set by the first request after a start). */
  private ready = false;

  /** Creates the worker thread; it loads Keystone while the caller goes on. */
  private spawn(): void {
    const ctrlSab = new SharedArrayBuffer(16);
    const dataSab = new SharedArrayBuffer(DATA_BYTES);
    this.ctrl = new Int32Array(ctrlSab);
    this.data = new Uint8Array(dataSab);
    this.ready = false;
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ctrl: ctrlSab, data: dataSab, keystonePath: resolveKeystone() },
    });
    this.worker.unref();
    this.workersStarted++;
  }

  /** Starts the worker, or waits for the one started by prestart(), until Keystone is loaded. */
  private start(): void {
    if (!this.worker) this.spawn();
    if (this.ready) return;
    Atomics.wait(this.ctrl, 0, STATE.IDLE, 30_000);
    const state = Atomics.load(this.ctrl, 0);
    if (state !== STATE.READY) {
      const msg = state === STATE.FAILED ? this.readJson<{ error: string }>().error : 'worker did not start within 30 s';
      this.discard();
      throw new SeamlabError('KEYSTONE_UNAVAILABLE', `cannot start Keystone: ${msg}`, 'reinstall dependencies with `npm ci` (needs @alexaltea/keystone-js)');
    }
    this.ready = true;
  }

  /**
   * Starts the worker without waiting for it (~75 ms of Node worker start
   * and wasm loading then overlap the caller's work). A no-op when it runs.
   */
  prestart(): void {
    if (!this.worker) this.spawn();
  }

  private readJson<T>(): T {
    const n = Atomics.load(this.ctrl, 1);
    return JSON.parse(new TextDecoder().decode(this.data.slice(0, n))) as T;
  }

  private discard(): void {
    const w = this.worker;
    this.worker = undefined;
    this.ready = false;
    if (w) void w.terminate();
  }

  /** Encodes a batch in one round trip; a hang or crash fails the items it affects, never the process. */
  assembleMany(requests: readonly KeystoneRequest[]): KeystoneResult[] {
    if (requests.length === 0) return [];
    if (!this.worker || !this.ready) this.start();
    const payload = new TextEncoder().encode(JSON.stringify(requests.map((r) => ({ text: r.text, address: '0x' + BigInt.asUintN(64, r.address).toString(16) }))));
    if (payload.length > this.data.length) {
      // Split rather than fail: only happens for very large batches.
      const mid = requests.length >> 1;
      return [...this.assembleMany(requests.slice(0, mid)), ...this.assembleMany(requests.slice(mid))];
    }
    this.data.set(payload);
    Atomics.store(this.ctrl, 1, payload.length);
    Atomics.store(this.ctrl, 0, STATE.REQUEST);
    Atomics.notify(this.ctrl, 0);
    const r = Atomics.wait(this.ctrl, 0, STATE.REQUEST, this.timeoutMs);
    if (r === 'timed-out' && Atomics.load(this.ctrl, 0) === STATE.REQUEST) {
      this.discard();
      if (requests.length === 1) {
        return [{ ok: false, kind: 'timeout', message: `Keystone did not finish within ${this.timeoutMs} ms (known Keystone hang; the worker was terminated)` }];
      }
      // Find which items hang: retry one at a time.
      return requests.flatMap((req) => this.assembleMany([req]));
    }
    const raw = this.readJson<({ ok: true; hex: string } | KeystoneFailure)[]>();
    if (raw.some((x) => !x.ok && x.kind === 'crash')) this.discard();
    return raw.map((x) => (x.ok ? { ok: true, bytes: Uint8Array.from(Buffer.from(x.hex, 'hex')) } : x));
  }

  /** Assembles arbitrary text (tests use this to prove the guard); prefer encodeInstruction. */
  assembleRaw(text: string, address = 0n): KeystoneResult {
    return this.assembleMany([{ text, address }])[0]!;
  }

  close(): void {
    this.discard();
  }
}

let shared: KeystoneEncoder | undefined;
/** One encoder per process; its worker starts lazily on first use. */
export function sharedKeystone(): KeystoneEncoder {
  shared ??= new KeystoneEncoder();
  return shared;
}

/** Keystone's version as the package states it (the wasm has no version call). */
export function keystoneVersion(): string {
  const req = createRequire(import.meta.url);
  return (req('@alexaltea/keystone-js/package.json') as { version: string }).version;
}
