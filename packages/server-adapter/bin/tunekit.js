#!/usr/bin/env node
// The `tunekit` command. Committed (not built) so that npm links it at `npm ci` time; it loads the
// built CLI from dist/ and says what to do when the build is missing.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/index.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    `tunekit: the CLI is not built yet (${entry.pathname} is missing).\n` +
      'Run `npm run build` at the repository root (or install a published @tunekit/server-adapter), then retry.\n',
  );
  process.exit(1);
}
const { runTunekit } = await import(entry.href);
process.exit(await runTunekit(process.argv.slice(2)));
