/**
 * A separate process for test/cache-keystone.test.ts: builds one .S file of
 * a tree directory (argv: TREE FILE) under the environment's
 * $SEAMLAB_CACHE and prints what the persistent caches did as JSON.
 */
import { envCacheStats } from '../../src/kbuild/environment.js';
import { sharedKeystone } from '../../src/encode/keystone.js';
import { encoderStats } from '../../src/encode/x86.js';
import { buildImage } from '../../src/image/build.js';
import { DirFs } from '../../src/support/vfs.js';

const [tree, file] = process.argv.slice(2) as [string, string];
const { image } = buildImage(new DirFs(tree), file);
process.stdout.write(
  JSON.stringify({
    workersStarted: sharedKeystone().workersStarted,
    keystoneCalls: encoderStats.keystoneCalls,
    envHits: envCacheStats.envHits,
    flagsHits: envCacheStats.flagsHits,
    cppHits: envCacheStats.cppHits,
    sections: image.sections.map((s) => [s.name, s.address.toString(16), Buffer.from(s.bytes).toString('hex')]),
    symbols: image.symbols.map((s) => [s.name, s.address.toString(16)]),
  }) + '\n',
);
process.exit(0);
