/**
 * The CLI's start-up imports: `seamlab --version` loads its own module only
 * (src/cli/seamlab.ts); `--help` and every command load commander and the
 * command modules, and each action imports what it runs (src/cli/main.ts). This checks the bundle in dist/ (npm test
 * builds it): no pipeline stage and no dependency but commander is loaded
 * before an action runs. A structural check — timings are the benchmark's.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startupGraph } from '../scripts/bench/startup-graph.js';
import { CLI } from './support/cli.js';

/** Pipeline folders whose modules an action loads when it needs them (light constants live in src/support/limits.ts, src/oracle/limits.ts). */
const LAZY_FOLDERS = ['intake', 'kbuild', 'cpp', 'gas', 'encode', 'image', 'machine', 'seam', 'run', 'trace', 'debug', 'oracle'];
const START_UP_CONSTANTS = new Set(['src/support/limits.ts', 'src/oracle/limits.ts']);
/** The chunk src/cli/seamlab.ts imports for every command but --version. */
const MAIN_CHUNK = /\/main-[A-Z0-9]+\.js$/;

/** The modules of a graph that belong to a pipeline stage (an action's business, not start-up's). */
const eager = (modules: string[]) => modules.filter((m) => LAZY_FOLDERS.includes(m.split('/')[1]!) && !START_UP_CONSTANTS.has(m));

describe('CLI start-up', () => {
  it('--version loads the version and nothing else (no commander; --verbose loads the engines itself)', () => {
    expect(existsSync(CLI), 'dist/seamlab.js is missing: run npm run build').toBe(true);
    const g = startupGraph(CLI);
    expect(g.modules).toContain('src/cli/doctor.ts');
    expect(g.packages).toEqual([]);
    expect(eager(g.modules)).toEqual([]);
  });

  it('every other command loads commander and the command descriptions only, before its action', () => {
    const g = startupGraph(CLI, { dynamic: MAIN_CHUNK });
    expect(g.modules).toContain('src/cli/main.ts');
    expect(g.packages).toEqual(['commander']);
    expect(eager(g.modules)).toEqual([]);
  });
});
