/**
 * Child processes that cannot outlive seamlab. spawnSync's children keep
 * running when seamlab is killed — `setup` killed during extraction left
 * `dpkg-deb | tar | xz` writing an 89 MB tree nobody would remove. A
 * SIGKILLed process runs no handler, so the children have to notice by
 * themselves: a small bash guard starts the command as a job of its own
 * (`set -m`: a process group of its own, which every process the command
 * starts joins) and a watcher that kills that whole group as soon as the
 * guard's parent is no longer seamlab's process — the guard is re-parented
 * when seamlab dies, whatever killed it — or the guard itself is gone. The
 * watcher ignores the terminal's signals, so a Ctrl-C that kills seamlab
 * (and the guard, in seamlab's process group) does not kill it before it
 * has done its job. Node offers no prctl(PR_SET_PDEATHSIG): the watcher
 * looks every 0.2 s.
 *
 * Linux (it reads /proc/<pid>/stat; elsewhere it asks `kill -0` of
 * seamlab's pid) — like the Debian tools it runs.
 */
import { spawnSync } from 'node:child_process';

/** $1: seamlab's pid; the rest: the command. Exits with the command's status. */
const GUARD = `
owner=$1; shift
alive() {
  if [ -r /proc/$$/stat ]; then
    read -r _ _ _ ppid _ < /proc/$$/stat && [ "$ppid" = "$owner" ]
  else
    kill -0 "$owner" 2>/dev/null
  fi
}
set -m
"$@" &
job=$!
set +m
{
  trap '' INT HUP TERM QUIT
  while alive; do sleep 0.2; done
  kill -KILL -- "-$job"
} </dev/null >/dev/null 2>&1 &
watcher=$!
# Not a job of this shell: killing it below prints no "Killed" notice.
disown "$watcher"
wait "$job"
status=$?
kill -KILL "$watcher" 2>/dev/null
exit "$status"
`;

export interface TiedResult { status: number; stdout: string; stderr: string }

/** Runs a command to completion like spawnSync (text output), killed with its whole process group if seamlab dies first. Status 127 when it cannot be started. */
export function spawnTiedSync(cmd: string, args: readonly string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv; maxBuffer?: number } = {}): TiedResult {
  const r = spawnSync('bash', ['-c', GUARD, 'seamlab-guard', String(process.pid), cmd, ...args], {
    cwd: opts.cwd,
    env: opts.env,
    input: opts.input,
    encoding: 'utf8',
    maxBuffer: opts.maxBuffer ?? 64 << 20,
  });
  if (r.error) return { status: 127, stdout: '', stderr: String(r.error.message) };
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}
