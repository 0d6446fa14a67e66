/**
 * The silicon-oracle runner as a child process seamlab talks to
 * synchronously: requests are written and answers read with blocking
 * system calls, so a SEAM handler (synchronous by contract) can be asked in
 * the middle of a run, and the runner keeps stepping while seamlab does
 * other work (runs the same scenario on Unicorn) until seamlab reads.
 *
 * Node's own child pipes are non-blocking; these are plain pipe2() pipes
 * made through koffi (already seamlab's FFI for Unicorn) and handed to the
 * runner as its stdin and stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import koffi from 'koffi';
import { SeamlabError } from '../errors.js';
import {
  AnswerReader, encodeLoad, encodeQuit, encodeRead, PROTOCOL_VERSION, ProtocolError,
  type Answer, type RegionSpec,
} from './protocol.js';

const O_CLOEXEC = 0o2000000;
let pipe2: ((fds: Int32Array, flags: number) => number) | undefined;

function makePipe(): [read: number, write: number] {
  pipe2 ??= koffi.load('libc.so.6').func('int pipe2(_Out_ int *fds, int flags)') as (fds: Int32Array, flags: number) => number;
  const fds = new Int32Array(2);
  if (pipe2(fds, O_CLOEXEC) !== 0) throw new Error('pipe2 failed');
  return [fds[0]!, fds[1]!];
}

export interface Hello {
  version: number;
  /** 0 when the runner could trace and single-step a child; else the errno of the failed probe. */
  ptraceErrno: number;
  detail: string;
}

export class RunnerProcess {
  private readonly reader = new AnswerReader();
  private queued: Buffer[] = [];
  private closed = false;
  private exited: string | undefined;

  private constructor(private readonly child: ChildProcess, private readonly toRunner: number, private readonly fromRunner: number, readonly hello: Hello) {}

  /** Starts the runner binary and reads its HELLO. */
  static start(binary: string): RunnerProcess {
    const [reqRead, reqWrite] = makePipe();
    const [ansRead, ansWrite] = makePipe();
    let child: ChildProcess;
    try {
      // glibc's rseq registration off: the child's TLS is unmapped before it runs anything (see runner.c).
      child = spawn(binary, [], { stdio: [reqRead, ansWrite, 'inherit'], env: { ...process.env, GLIBC_TUNABLES: 'glibc.pthread.rseq=0' } });
    } finally {
      fs.closeSync(reqRead);
      fs.closeSync(ansWrite);
    }
    child.unref();
    const placeholder: Hello = { version: 0, ptraceErrno: 0, detail: '' };
    const p = new RunnerProcess(child, reqWrite, ansRead, placeholder);
    child.on('exit', (code, sig) => {
      p.exited = sig ? `killed by ${sig}` : `exited with status ${code}`;
    });
    let first: Answer;
    try {
      first = p.read();
    } catch (e) {
      p.close();
      throw new SeamlabError('ORACLE_RUNNER_START', `the silicon-oracle runner ${binary} did not start: ${(e as Error).message}`, 'run `seamlab setup` to rebuild it');
    }
    if (first.type !== 'hello' || first.version !== PROTOCOL_VERSION) {
      p.close();
      throw new ProtocolError(first.type === 'hello' ? `protocol version ${first.version}, seamlab speaks ${PROTOCOL_VERSION}` : `expected HELLO, got ${first.type}`);
    }
    (p as { hello: Hello }).hello = { version: first.version, ptraceErrno: first.ptraceErrno, detail: first.detail };
    return p;
  }

  /** Queues a request; requests go out together when an answer is read (one write, one wake-up of the runner). */
  send(message: Buffer): void {
    if (this.closed) throw new Error('internal: the runner is closed');
    this.queued.push(message);
  }

  /** Writes the queued requests now (the runner starts on a RUN without being asked for an answer). */
  flush(): void {
    if (this.queued.length === 0) return;
    const all = this.queued.length === 1 ? this.queued[0]! : Buffer.concat(this.queued);
    this.queued = [];
    let done = 0;
    while (done < all.length) done += fs.writeSync(this.toRunner, all, done, all.length - done);
  }

  /** The next answer, blocking until it is complete. */
  read(): Answer {
    this.flush();
    for (;;) {
      const a = this.reader.next();
      if (a) return a;
      const space = this.reader.space();
      let n: number;
      try {
        n = fs.readSync(this.fromRunner, space, 0, space.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN' || (e as NodeJS.ErrnoException).code === 'EINTR') continue;
        throw e;
      }
      if (n === 0) {
        throw new SeamlabError('ORACLE_RUNNER_GONE', `the silicon-oracle runner stopped answering (${this.exited ?? 'end of its output'}${this.reader.pending ? `, ${this.reader.pending} bytes of an unfinished answer` : ''})`,
          'run the command again; if it repeats, report it with the scenario');
      }
      this.reader.commit(n);
    }
  }

  /** Reads an answer that must be OK (an ERROR becomes a SeamlabError). */
  expectOk(what: string): void {
    const a = this.read();
    if (a.type === 'ok') return;
    if (a.type === 'error') throw new SeamlabError('ORACLE_RUNNER_ERROR', `silicon-oracle runner, ${what}: ${a.message}`, 'see the message; the machine layout may clash with the host');
    throw new ProtocolError(`expected OK after ${what}, got ${a.type}`);
  }

  load(regions: readonly RegionSpec[]): void {
    this.send(encodeLoad(regions));
    this.expectOk('loading the memory map');
  }

  readMemory(address: bigint, length: number): Uint8Array {
    this.send(encodeRead(address, length));
    const a = this.read();
    if (a.type === 'data') return a.bytes;
    if (a.type === 'error') throw new SeamlabError('ORACLE_RUNNER_ERROR', `silicon-oracle runner: ${a.message}`, 'read inside the mapped regions');
    throw new ProtocolError(`expected DATA, got ${a.type}`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fs.writeSync(this.toRunner, encodeQuit());
    } catch {
      // already gone
    }
    fs.closeSync(this.toRunner);
    fs.closeSync(this.fromRunner);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
