#!/usr/bin/env node
// Entry point of the bundled CLI (dist/seamlab.js). `--version` is answered
// before the command line's other modules load (commander and the command
// descriptions): it is the command people time.
import { asksVersion, versionText } from './doctor.js';
import { failOnStdoutErrors } from './stdout-errors.js';

failOnStdoutErrors();

const argv = process.argv.slice(2);
const run = asksVersion(argv)
  ? versionText(argv.includes('--verbose')).then((text) => {
    console.log(text);
    return 0;
  })
  : import('./main.js').then(({ main }) => main(argv));
run.then((code) => {
  process.exitCode = code;
}, (e: unknown) => {
  console.error(e);
  process.exitCode = 70;
});
