import { describe, expect, it } from 'vitest';
import { ExitCode } from './cli-command.js';
import { packageVersion } from './package-version.js';
import { captureCliContext } from './testing/capture-cli-context.js';
import { runCli } from './tunekit.js';

describe('tunekit command dispatch', () => {
  it('prints the version and the help, and answers wrong command lines with exit status 2', async () => {
    const version = captureCliContext('.');
    expect(await runCli(['--version'], version)).toBe(ExitCode.success);
    expect(version.output()).toBe(`${packageVersion()}\n`);

    const help = captureCliContext('.');
    expect(await runCli(['--help'], help)).toBe(ExitCode.success);
    expect(help.output()).toMatch(/Usage: tunekit <command>[\s\S]*serve /);

    const serveHelp = captureCliContext('.');
    expect(await runCli(['serve', '--help'], serveHelp)).toBe(ExitCode.success);
    expect(serveHelp.output()).toContain('Usage: tunekit serve');

    const unknown = captureCliContext('.');
    expect(await runCli(['bogus'], unknown)).toBe(ExitCode.usage);
    expect(unknown.errors()).toContain('unknown command "bogus"');

    const badOption = captureCliContext('.');
    expect(await runCli(['serve', '--bogus'], badOption)).toBe(ExitCode.usage);
    expect(badOption.errors()).toContain("Unknown option '--bogus'");
    expect(badOption.errors()).toContain('tunekit serve --help');

    expect(await runCli([], captureCliContext('.'))).toBe(ExitCode.usage);
  });
});
