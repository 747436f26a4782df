import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes } from '@tunekit/core';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Every non-test TypeScript source file of the packages. */
function packageSources(): string[] {
  const files: string[] = [];
  const walk = (directory: string): void => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) files.push(path);
    }
  };
  for (const name of readdirSync(join(root, 'packages'))) walk(join(root, 'packages', name, 'src'));
  return files;
}

/**
 * `new TunekitError({ code: 'X', status: N })` sites whose literal status is not the catalogue's
 * status of X: the catalogue is the single source of a code's status (build errors with
 * `tunekitError(code, message, details)`).
 */
function statusMismatches(): string[] {
  const found: string[] = [];
  for (const file of packageSources()) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node): void => {
      if (
        ts.isNewExpression(node) &&
        node.expression.getText(source) === 'TunekitError' &&
        node.arguments?.[0] !== undefined &&
        ts.isObjectLiteralExpression(node.arguments[0])
      ) {
        const property = (name: string) =>
          node.arguments?.[0] !== undefined && ts.isObjectLiteralExpression(node.arguments[0])
            ? node.arguments[0].properties.find(
                (candidate): candidate is ts.PropertyAssignment =>
                  ts.isPropertyAssignment(candidate) && candidate.name.getText(source) === name,
              )?.initializer
            : undefined;
        const code = property('code');
        const status = property('status');
        if (code && status && ts.isStringLiteral(code) && ts.isNumericLiteral(status)) {
          const entry = (ErrorCodes as Record<string, { status: number }>)[code.text];
          if (entry !== undefined && entry.status !== Number(status.text)) {
            const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
            found.push(
              `${relative(root, file)}:${line + 1} ${code.text} typed ${status.text}, catalogue ${entry.status}`,
            );
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

describe('error catalogue usage', () => {
  it('no throw site types a status other than its code has in the catalogue', () => {
    expect(statusMismatches()).toEqual([]);
  });
});
