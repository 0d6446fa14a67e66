/**
 * The CLI's start-up imports: `seamlab --version`, `--help` and every
 * command load commander and the command modules, and each action imports
 * what it runs (src/cli/main.ts). This checks the bundle in dist/ (npm test
 * builds it): no pipeline stage and no dependency but commander is loaded
 * before an action runs. A structural check — timings are the benchmark's.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startupGraph } from '../scripts/bench/startup-graph.js';
import { CLI } from './support/cli.js';

/** Pipeline folders whose modules an action loads when it needs them (light constants live in src/run/limits.ts, src/oracle/limits.ts). */
const LAZY_FOLDERS = ['intake', 'kbuild', 'cpp', 'gas', 'encode', 'image', 'machine', 'seam', 'run', 'trace', 'debug', 'oracle'];
const START_UP_CONSTANTS = new Set(['src/run/limits.ts', 'src/oracle/limits.ts']);

describe('CLI start-up', () => {
  it('loads commander and the command descriptions only', () => {
    expect(existsSync(CLI), 'dist/seamlab.js is missing: run npm run build').toBe(true);
    const g = startupGraph(CLI);
    expect(g.packages).toEqual(['commander']);
    const eager = g.modules.filter((m) => LAZY_FOLDERS.includes(m.split('/')[1]!) && !START_UP_CONSTANTS.has(m));
    expect(eager).toEqual([]);
    expect(g.modules).toContain('src/cli/main.ts');
  });
});
