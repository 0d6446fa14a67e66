/**
 * A write error on stdout is an error, not silence. `console.log` ignores
 * the errors of the stream it writes to, so output sent to `/dev/full`, to
 * a full disk or to a pipe whose reader has gone would be lost while the
 * command exits 0 as if all were well. The stream still reports them (an
 * 'error' event): the first one ends the command with exit status 2 and a
 * one-line message on stderr; commands that write stdout's file descriptor
 * directly (trace) turn a failed write into the same error (stdoutWriteError).
 */
import * as fs from 'node:fs';
import { formatError, SeamlabError } from '../errors.js';
import { EXIT } from './exit-codes.js';

function reason(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'EPIPE': return 'the reader of the pipe has gone (EPIPE)';
    case 'ENOSPC': return 'no space left on the device (ENOSPC)';
    case 'EIO': return 'input/output error (EIO)';
    case 'EBADF': return 'stdout is closed (EBADF)';
    default: return e.message;
  }
}

/** The user error for a failed write to stdout. */
export function stdoutWriteError(e: unknown): SeamlabError {
  return new SeamlabError('OUTPUT_WRITE_FAILED', `cannot write to stdout: ${reason(e as NodeJS.ErrnoException)}`, 'write the output somewhere it fits (-o FILE, or another directory), or read all of it');
}

/** Is this what a failed write to stdout throws (from fs.writeSync(1, …))? */
export function isStdoutWriteFailure(e: unknown): boolean {
  const x = e as NodeJS.ErrnoException | null;
  return !!x && typeof x === 'object' && x.syscall === 'write' && typeof x.code === 'string';
}

/** Ends the process with EXIT.userError at the first error stdout reports. */
export function failOnStdoutErrors(): void {
  let failed = false;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (failed) return;
    failed = true;
    try {
      fs.writeSync(2, `${formatError(stdoutWriteError(e))}\n`);
    } catch {
      // stderr is gone too: the exit status is all that is left.
    }
    process.exit(EXIT.userError);
  });
}
