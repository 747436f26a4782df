// A CommonJS consumer of the packed packages (see run-consumer-test.sh): every entry point is
// requireable and typed through its .d.cts.
import fs = require('node:fs');
import path = require('node:path');
import tunekitCore = require('@tunekit/core');
import tunekitRegistry = require('@tunekit/registry');
import tunekitServer = require('@tunekit/server-adapter');
import tunekitClient = require('@tunekit/server-adapter/client');
import tunekitTrainer = require('@tunekit/trainer');

async function main(): Promise<void> {
  const kit = await tunekitCore.createTunekit({ plugins: [tunekitRegistry.registryPlugin()] });
  await kit.registry.register({
    name: 'notes',
    artifactUri: 'artifact://models/notes',
    baseModel: 'gpt2',
    task: 'text-generation',
  });
  const found = await kit.registry.recommend({ text: 'notes', k: 1 });
  if (found.length !== 1) throw new Error('recommend found nothing');
  if (
    typeof tunekitServer.tunekitFastify !== 'function' ||
    typeof tunekitClient.createTunekitClient !== 'function'
  ) {
    throw new Error('server adapter entry points are missing');
  }
  if (typeof tunekitTrainer.trainerPlugin !== 'function') throw new Error('trainer entry point is missing');
  await kit.close();
  // Every subpath each installed package exports, read from its manifest, loads with require().
  const scope = path.join(__dirname, '..', 'node_modules', '@tunekit');
  const required: string[] = [];
  for (const name of fs.readdirSync(scope)) {
    const manifest = JSON.parse(fs.readFileSync(path.join(scope, name, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    for (const subpath of Object.keys(manifest.exports).filter((entry) => entry !== './package.json')) {
      const specifier = `@tunekit/${name}${subpath.slice(1)}`;
      try {
        require(specifier);
        required.push(specifier);
      } catch (error) {
        // The compliance suites import vitest, and vitest refuses require() ("Vitest cannot be
        // imported in a CommonJS module using require()"): that entry point is for ESM test files.
        if (!String(error).includes('Vitest cannot be imported in a CommonJS module')) throw error;
        required.push(`${specifier} (vitest is ESM-only: import it)`);
      }
    }
  }
  console.log('cjs: require() of', required.join(', '));
  console.log('cjs: require of every entry point, register → recommend:', found[0]?.model.id);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
