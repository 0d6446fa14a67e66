/**
 * The exit status of every `seamlab` command, defined once: `--help` and the
 * README print EXIT_STATUS_HELP, main.ts maps outcomes to these numbers.
 */

export const EXIT = {
  /** Done; for run: every run ok. */
  ok: 0,
  /** A check failed: an ABI check or a bad end in `run`, a required component missing in `doctor`. */
  checkFailed: 1,
  /** seamlab could not do what was asked: bad usage or a user error (SeamlabError). */
  userError: 2,
  /** Internal error: a bug in seamlab (EX_SOFTWARE). */
  internal: 70,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit-status block of `seamlab --help` (and of the README, which a test compares). */
export const EXIT_STATUS_HELP = [
  'Exit status:',
  '  0   success (run: every run ok; doctor: everything required is there)',
  '  1   a check failed (run: an ABI check or a bad end, see --strict; doctor: something required is missing)',
  '  2   seamlab could not do it: bad usage, or a user error such as a bad revision spec, a patch that',
  '      does not apply or a file that does not build (message and hint on stderr)',
  '  70  internal error: a bug in seamlab (stack trace on stderr)',
].join('\n');
