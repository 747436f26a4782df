import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * "Contracts belong to the package that owns the concept" (DESIGN.md): core declares only the
 * extension points and events of its own services; the registry declares `embedder` and the
 * `model:*` / `registry:*` events, the server adapter `route`, the trainer `trainerBackend`, each by
 * declaration merging on core's interfaces. Checked with the TypeScript compiler: a program of core
 * alone, and one with each owning package.
 */
const root = join(import.meta.dirname, '..');
const CORE = join(root, 'packages/core/src/index.ts');

function compilerOptions(): ts.CompilerOptions {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('tsconfig.json could not be read');
  return { ...config.options, noEmit: true };
}

/** Property names of core's exported interfaces `names`, as a program of `rootNames` sees them. */
function coreInterfaceMembers(rootNames: string[], names: string[]): Record<string, string[]> {
  const program = ts.createProgram({ rootNames, options: compilerOptions() });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(CORE);
  const module = source && checker.getSymbolAtLocation(source);
  if (!module) throw new Error('core index not in the program');
  const exports = checker.getExportsOfModule(module);
  return Object.fromEntries(
    names.map((name) => {
      const exported = exports.find((symbol) => symbol.name === name);
      if (!exported) throw new Error(`core does not export ${name}`);
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const members = checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol));
      return [name, members.map((member) => member.name).sort()];
    }),
  );
}

describe('contracts are declared by the package that owns them', () => {
  const interfaces = ['ExtensionPoints', 'TunekitEventMap'];
  const coreAlone = coreInterfaceMembers([CORE], interfaces);
  const withOwners = coreInterfaceMembers(
    [
      CORE,
      join(root, 'packages/registry/src/index.ts'),
      join(root, 'packages/server-adapter/src/index.ts'),
      join(root, 'packages/trainer/src/index.ts'),
    ],
    interfaces,
  );

  it("core declares only its own services' extension points and events", () => {
    expect(coreAlone.ExtensionPoints).toEqual(['evaluator', 'jobCompletion', 'tracker']);
    const events = coreAlone.TunekitEventMap ?? [];
    expect(events.filter((name) => name.startsWith('model:') || name.startsWith('registry:'))).toEqual([]);
    expect(events).toContain('job:queued');
    expect(events).toContain('dataset:registered');
  });

  it('the registry, the server adapter and the trainer add theirs by declaration merging', () => {
    expect(withOwners.ExtensionPoints).toEqual([
      'embedder',
      'evaluator',
      'jobCompletion',
      'route',
      'tracker',
      'trainerBackend',
    ]);
    expect(withOwners.TunekitEventMap).toEqual(
      expect.arrayContaining(['model:registered', 'model:deployed', 'registry:index-rebuilt', 'job:queued']),
    );
  });
});
