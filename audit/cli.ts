#!/usr/bin/env node
/**
 * `bullmq-ledger`: the ledger on the command line. Every failure is one line
 * on stderr that says what to do, and a non-zero exit code (2 for a wrong
 * command line, 1 otherwise; `health` is a monitoring check, where any
 * failure means "cannot tell": 3).
 */
import { commandHelp, generalHelp, HEALTH_EXIT_CODES, parseCommand, UsageError } from './cli/arguments';
import { planCommand } from './cli/commands';
import { CliError, openLedgerDatabase } from './cli/connect';

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(argv);
  if (parsed === 'help') {
    process.stdout.write(`${generalHelp()}\n`);
    return 0;
  }
  if (parsed.options.help === true) {
    process.stdout.write(`${commandHelp(parsed.command)}\n`);
    return 0;
  }
  const command = planCommand(parsed);
  const databaseUrl =
    typeof parsed.options['database-url'] === 'string' ? parsed.options['database-url'] : process.env.DATABASE_URL;
  const schema = typeof parsed.options.schema === 'string' ? parsed.options.schema : undefined;
  const orm = await openLedgerDatabase(databaseUrl, schema, { requireTables: parsed.command !== 'migrate' });
  try {
    const code = await command(orm, {
      out: (text) => process.stdout.write(`${text}\n`),
      err: (text) => process.stderr.write(text),
      errIsTerminal: process.stderr.isTTY,
    });
    return code ?? 0;
  } finally {
    await orm.close(true);
  }
}

function failureExitCode(command: string | undefined, err: unknown): number {
  if (command === 'health') return HEALTH_EXIT_CODES.cannotTell;
  if (err instanceof UsageError) return 2;
  return err instanceof CliError ? err.exitCode : 1;
}

const argv = process.argv.slice(2);
main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const message = (err instanceof Error ? err.message : String(err)).replace(/^bullmq-ledger: /, '');
    process.stderr.write(`bullmq-ledger: ${message.split('\n')[0] ?? message}\n`);
    process.exitCode = failureExitCode(argv[0], err);
  },
);
