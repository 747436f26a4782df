import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The folder that holds the error class and its factories: the one place allowed to construct it. */
const errorsFolder = join('packages', 'core', 'src', 'errors');

/** Every TypeScript file of the packages' sources, tests, bench and examples (tests included). */
function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (directory: string): void => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
      const path = join(directory, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|mts|cts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) files.push(path);
    }
  };
  for (const name of readdirSync(join(root, 'packages'))) walk(join(root, 'packages', name, 'src'));
  for (const folder of ['tests', 'bench', 'examples']) walk(join(root, folder));
  return files;
}

/**
 * Sites in `text` that build an error by hand: `new TunekitError(…)` (build it with
 * `tunekitError(code, message, details)`, which takes the status from the catalogue), and
 * `relayedTunekitError({ status: <number literal> })` (a relay passes on the status another side
 * reported, never one typed here). Each as `file:line what`.
 */
function handBuiltErrors(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const at = (node: ts.Node) =>
    `${file}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;
  const visit = (node: ts.Node): void => {
    if (ts.isNewExpression(node) && node.expression.getText(source) === 'TunekitError') {
      found.push(`${at(node)} new TunekitError(…): use tunekitError(code, message, details)`);
    }
    if (ts.isCallExpression(node) && node.expression.getText(source) === 'relayedTunekitError') {
      const [relayed] = node.arguments;
      const status =
        relayed !== undefined && ts.isObjectLiteralExpression(relayed)
          ? relayed.properties.find(
              (property): property is ts.PropertyAssignment =>
                ts.isPropertyAssignment(property) && property.name.getText(source) === 'status',
            )?.initializer
          : undefined;
      if (status !== undefined && ts.isNumericLiteral(status)) {
        found.push(`${at(node)} relayedTunekitError with a typed status ${status.text}: use tunekitError`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('error catalogue usage', () => {
  it('no error is built by hand outside packages/core/src/errors (status always from the catalogue)', () => {
    const found = sourceFiles()
      .filter((file) => !relative(root, file).startsWith(errorsFolder))
      .flatMap((file) => handBuiltErrors(relative(root, file), readFileSync(file, 'utf8')));
    expect(found).toEqual([]);
  });

  it('names the file and line of a hand-built error, and leaves factory calls alone', () => {
    const text = [
      "import { relayedTunekitError, TunekitError, tunekitError } from '@tunekit/core';",
      "throw tunekitError('NOT_FOUND', 'No model');",
      "throw new TunekitError({ code: 'VALIDATION_FAILED', status: 500, message: 'bad' });",
      "throw relayedTunekitError({ code: problem.code, status: response.status, message: 'remote' });",
      "throw relayedTunekitError({ code: 'NOT_FOUND', status: 410, message: 'gone' });",
      '// new TunekitError( in a comment is not a site',
    ].join('\n');
    expect(handBuiltErrors('route-table.ts', text)).toEqual([
      'route-table.ts:3 new TunekitError(…): use tunekitError(code, message, details)',
      'route-table.ts:5 relayedTunekitError with a typed status 410: use tunekitError',
    ]);
  });
});
