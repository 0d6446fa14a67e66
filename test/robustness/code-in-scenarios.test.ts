/**
 * Robustness corpus, class 9 (issue 18): code in scenario files. A YAML or
 * JSON scenario that names a handler module (`handler: {module: FILE}`)
 * runs that module with the user's privileges; before, it did so
 * silently. Now it needs --allow-code (src/cli/scenario-options.ts), so a
 * scenario file from a mailing list is data only; .ts/.mjs/.js scenarios
 * named on the command line are code by their name, as documented.
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { caseDirs, expectBounded, expectRefusal, runCli } from './harness.js';

const dir = caseDirs('code');

describe('class 9: a YAML scenario that pulls in code', () => {
  const files = {
    'mail.yaml': 'name: from-a-mail\nseamcall:\n  call: { leaf: TDH.SYS.RD }\n  handler:\n    script: [ { return: { rax: 0 } } ]\n    then: { module: ./payload.mjs }\n',
    // If it ran, it would leave this file behind (in the working directory: the module runs from a compiled copy elsewhere).
    'payload.mjs': "import { writeFileSync } from 'node:fs';\nwriteFileSync('ran', 'yes');\nexport const handler = () => ({ kind: 'return', rax: 0n });\n",
  };

  for (const command of [['run', '--fn', '__seamcall'], ['trace', '--fn', '__seamcall'], ['debug', '--fn', '__seamcall', '--batch', '/dev/null'], ['oracle', '--fn', '__seamcall']]) {
    it(`${command[0]}: refused without --allow-code, where the module is named, and the module does not run`, () => {
      const cwd = dir(files);
      expectRefusal(runCli([...command, '--scenario', 'mail.yaml'], { cwd }), [
        'error: mail.yaml:6:21: seamcall.handler.then.module: this YAML scenario runs the module ./payload.mjs as code, with your privileges [SCENARIO_CODE_NOT_ALLOWED]',
        '  hint: read the module; if you trust it, pass --allow-code (a scenario file from elsewhere should be data only)',
      ]);
      expect(fs.existsSync(`${cwd}/ran`)).toBe(false);
    });
  }

  it('with --allow-code it runs', () => {
    const cwd = dir(files);
    const r = runCli(['run', '--fn', '__seamcall', '--scenario', 'mail.yaml', '--allow-code'], { cwd });
    expectBounded(r);
    expect(r.status).toBe(0);
    expect(fs.readFileSync(`${cwd}/ran`, 'utf8')).toBe('yes');
  });
});
