#!/usr/bin/env node
// Entry point of the bundled CLI (dist/seamlab.js).
import { main } from './main.js';
import { failOnStdoutErrors } from './stdout-errors.js';

failOnStdoutErrors();
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
}, (e: unknown) => {
  console.error(e);
  process.exitCode = 70;
});
