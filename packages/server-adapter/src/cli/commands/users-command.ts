import { RoleSchema } from '@tunekit/core';
import { createUserStore } from '../../auth/user-store.js';
import { type CliCommand, CliUsageError, ExitCode } from '../cli-command.js';
import { generatePassword } from '../first-run-state.js';
import { formatTable } from '../format-table.js';
import { cliLoggerOf, openCliKit } from '../open-cli-kit.js';
import { parseCommandLine } from '../parse-command-line.js';

const usage = `Usage: tunekit users <add|ls> [options]

  tunekit users add <username> [--role admin|user|viewer]…
        creates a server user with a generated password, printed once (stored as a scrypt hash)
  tunekit users ls

Options:
  --json               JSON instead of text
  --data <folder>      data directory (default ./.tunekit, or TUNEKIT_DATA)
  --log-level <level>  default warn (or TUNEKIT_LOG_LEVEL)
  -h, --help           this text`;

/** `tunekit users`: server users in the data directory (the ones `tunekit serve` logs in). */
export const usersCommand: CliCommand = {
  name: 'users',
  summary: 'Server users: add (prints a one-time password), ls',
  usage,
  async run(argv, context) {
    const [action, ...rest] = argv;
    const { values, positionals } = parseCommandLine('users', {
      args: rest,
      allowPositionals: true,
      options: {
        role: { type: 'string', multiple: true },
        json: { type: 'boolean' },
        data: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (action !== 'add' && action !== 'ls') {
      throw new CliUsageError(action ? `unknown action "${action}"` : 'missing action (add, ls)', 'users');
    }
    const roles = (values.role ?? ['user']).map((role) => {
      const parsed = RoleSchema.safeParse(role);
      if (!parsed.success) throw new CliUsageError(`unknown role "${role}" (admin, user, viewer)`, 'users');
      return parsed.data;
    });
    const kit = await openCliKit(context, {
      data: values.data,
      plugins: [],
      logger: cliLoggerOf(context, values['log-level'], 'warn'),
    });
    try {
      const users = createUserStore(kit);
      if (action === 'ls') {
        const page = await users.list({ limit: 1000 });
        const rows = page.items.map(({ passwordHash: _hash, ...user }) => user);
        context.stdout.write(
          values.json
            ? `${JSON.stringify(rows, null, 2)}\n`
            : formatTable(rows, [
                { header: 'USERNAME', value: (user) => user.id },
                { header: 'ROLES', value: (user) => user.roles },
                { header: 'DISABLED', value: (user) => user.disabled ?? false },
                { header: 'CREATED', value: (user) => user.createdAt },
              ]),
        );
        return ExitCode.success;
      }
      const username = positionals[0];
      if (!username || positionals.length > 1) throw new CliUsageError('give one username', 'users');
      const password = generatePassword(username);
      const user = await users.create({ username, password, roles }, { actor: 'cli' });
      context.stdout.write(
        values.json
          ? `${JSON.stringify({ username: user.id, roles: user.roles, password })}\n`
          : `created ${user.id} (${user.roles.join(', ')})\npassword: ${password}\nIt is shown only this once.\n`,
      );
      return ExitCode.success;
    } finally {
      await kit.close();
    }
  },
};
