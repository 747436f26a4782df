// Prints `<folder>\t<name>\t<version>` for every installed package under <app>/node_modules that has
// an install script (preinstall, install, postinstall, or a binding.gyp, which npm builds by default).
// Used by run-consumer-test.sh after `npm install --ignore-scripts`.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const app = process.argv[2];
const visit = (modules) => {
  if (!existsSync(modules)) return;
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith('.')) continue;
    const folders = entry.startsWith('@')
      ? readdirSync(join(modules, entry)).map((name) => join(modules, entry, name))
      : [join(modules, entry)];
    for (const folder of folders) {
      const manifestPath = join(folder, 'package.json');
      if (!existsSync(manifestPath)) continue;
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
      const scripts = manifest.scripts ?? {};
      if (
        scripts.preinstall ||
        scripts.install ||
        scripts.postinstall ||
        existsSync(join(folder, 'binding.gyp'))
      ) {
        console.log(`${relative(app, folder)}\t${manifest.name}\t${manifest.version}`);
      }
      visit(join(folder, 'node_modules'));
    }
  }
};
visit(join(app, 'node_modules'));
