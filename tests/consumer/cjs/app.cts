// A CommonJS consumer of the packed packages (see ../run-consumer-test.sh): every entry point is
// requireable and typed through its .d.cts.
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
  console.log('cjs: require of every entry point, register → recommend:', found[0]?.model.id);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
