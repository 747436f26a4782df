import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

/** Folder of the web UI's hand-written files (HTML, ES modules, CSS). */
export const WEB_UI_SOURCE_FOLDER = new URL('./assets/', import.meta.url);

/** A string literal as biome writes it: single quotes unless the text holds more of them than double quotes. */
function literal(text: string): string {
  const singles = text.split("'").length - 1;
  const doubles = text.split('"').length - 1;
  const quote = singles > doubles ? '"' : "'";
  const escaped = text
    .replaceAll('\\', '\\\\')
    .replaceAll(quote, `\\${quote}`)
    .replaceAll('\r', '\\r')
    .replaceAll('\n', '\\n')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029')
    // `${` in a plain string reads like a forgotten template literal to linters.
    .replaceAll('${', '\\u0024{');
  return `${quote}${escaped}${quote}`;
}

/**
 * Third-party files vendored into the UI (served from the package, never a CDN), by served name:
 * uPlot (MIT, https://github.com/leeoniya/uPlot), the charting library of the dashboard, and
 * markdown-it (MIT, https://github.com/markdown-it/markdown-it), which renders model cards.
 */
export const VENDORED_WEB_UI_FILES: Readonly<Record<string, string>> = {
  'markdown-it.js': 'markdown-it/dist/markdown-it.min.js',
  'uplot.js': 'uplot/dist/uPlot.esm.js',
  'uplot.css': 'uplot/dist/uPlot.min.css',
};

/**
 * The source of `src/ui/web-ui-files.ts`: every file of `src/ui/assets/` (and the vendored files) as a string constant, so
 * that the built package serves the UI without copying non-TypeScript files. Run
 * `npm run generate:ui -w @tunekit/server-adapter` after editing an asset; a test fails while the
 * committed module differs.
 */
export async function generateWebUiFiles(): Promise<string> {
  const names = (await readdir(WEB_UI_SOURCE_FOLDER)).filter((name) => !name.startsWith('.')).sort();
  const entries: string[] = [];
  for (const name of names) {
    const text = await readFile(new URL(name, WEB_UI_SOURCE_FOLDER), 'utf8');
    entries.push(`  ${literal(name)}:\n    ${literal(text)},`);
  }
  const require = createRequire(import.meta.url);
  for (const [name, module] of Object.entries(VENDORED_WEB_UI_FILES)) {
    const text = await readFile(require.resolve(module), 'utf8');
    entries.push(`  ${literal(name)}:\n    ${literal(text)},`);
  }
  return [
    '// Generated from src/ui/assets/ by `npm run generate:ui -w @tunekit/server-adapter`: do not edit.',
    '',
    '/** The web UI files by name (hand-written sources in `src/ui/assets/`). */',
    'export const webUiFiles: Readonly<Record<string, string>> = {',
    ...entries,
    '};',
    '',
  ].join('\n');
}
