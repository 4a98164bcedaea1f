#!/usr/bin/env node
/**
 * `bullmq-ledger`: the ledger on the command line. Every failure is one line
 * on stderr that says what to do, and a non-zero exit code (2 for a wrong
 * command line, 1 otherwise).
 */
import { commandHelp, generalHelp, parseCommand, UsageError } from './cli/arguments';
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
    await command(orm, {
      out: (text) => process.stdout.write(`${text}\n`),
      err: (text) => process.stderr.write(text),
      errIsTerminal: process.stderr.isTTY,
    });
  } finally {
    await orm.close(true);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const usage = err instanceof UsageError;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`bullmq-ledger: ${message.split('\n')[0] ?? message}\n`);
    process.exitCode = usage ? 2 : err instanceof CliError ? err.exitCode : 1;
  },
);
