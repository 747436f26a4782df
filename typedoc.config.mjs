// TypeDoc configuration. The entry points are every package's package.json `exports` (the one list
// of entry points, as in tsup.config.ts and tests/api-report/api-report.ts): `.` documents
// src/index.ts, `./<subpath>` src/<subpath>/index.ts; each entry file names its module with
// `@module @tunekit/<package>[/<subpath>]`. The guides of docs/ are pages of the site.
import { readdirSync, readFileSync } from 'node:fs';

const entryPoints = readdirSync('packages').flatMap((directory) => {
  const manifest = JSON.parse(readFileSync(`packages/${directory}/package.json`, 'utf8'));
  return Object.keys(manifest.exports)
    .filter((subpath) => subpath !== './package.json')
    .map((subpath) => `packages/${directory}/src/${subpath === '.' ? '' : `${subpath.slice(2)}/`}index.ts`);
});

/** @type {Partial<import("typedoc").TypeDocOptions>} */
export default {
  entryPoints,
  projectDocuments: ['docs/*.md'],
  tsconfig: 'tsconfig.build.json',
  out: 'docs/api',
  name: 'Tunekit',
  readme: 'README.md',
  excludePrivate: true,
  excludeInternal: true,
  validation: {
    notExported: false,
    invalidLink: true,
    notDocumented: true,
  },
  treatValidationWarningsAsErrors: false,
  skipErrorChecking: true,
  requiredToBeDocumented: ['Class', 'Function', 'Interface', 'TypeAlias', 'Variable', 'Enum', 'Method'],
  gitRevision: 'main',
  disableSources: true,
  blockTags: [
    '@category',
    '@categoryDescription',
    '@deprecated',
    '@example',
    '@expandType',
    '@group',
    '@groupDescription',
    '@import',
    '@inlineType',
    '@license',
    '@module',
    '@param',
    '@privateRemarks',
    '@property',
    '@remarks',
    '@returns',
    '@see',
    '@since',
    '@sortStrategy',
    '@summary',
    '@template',
    '@throws',
    '@typedef',
    '@type',
    '@defaultValue',
    '@author',
    '@callback',
    '@prop',
    '@satisfies',
    '@this',
    '@jsx',
    '@augments',
    '@yields',
    '@document',
    '@extends',
    '@default',
    '@description',
    '@constant',
    '@enum',
    '@format',
  ],
};
