import { loadDisassembler } from './src/encode/capstone.js';
import { resolveRevision } from './src/intake/revision.js';
import { runJob } from './src/run/main-job.js';
await loadDisassembler();
for (const r of ['v3', 'linux-6.12']) {
  const job = runJob(resolveRevision(r), {});
  for (const x of job.results) { const c = x.checks.find((c) => c.name === 'leak')!; console.log(r, x.function, x.scenario.name, c.status, c.detail.slice(0, 300)); }
}
