/** The command line: commands, their options, help texts, and parsing with errors that say what to do. */
import { parseArgs } from 'node:util';
import { durationMs, ISO_TIME_FORM, isoTime } from '../time-text';
import { TRAFFIC_WINDOW } from '../health';
import { BURN_RATE_CONDITIONS, LOW_TRAFFIC_FAILURES, MIN_FINISHED_JOBS } from '../health-thresholds';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly description: string;
}

const COMMON: Record<string, OptionSpec> = {
  'database-url': { type: 'string', description: 'PostgreSQL of the ledger (default: $DATABASE_URL)' },
  schema: { type: 'string', description: 'schema of the ledger tables (default: public)' },
  json: { type: 'boolean', description: 'print JSON instead of a table' },
  help: { type: 'boolean', description: 'show this help' },
};

/** The most rows a listing returns, as `LedgerQueries` allows (`limit` from 1 to 10000). */
export const MAX_LIMIT = 10_000;

/** The two ways to write a time on the command line (--since, --until), for the help and errors. */
const DURATION_FORM = 'a duration ago (30m, 24h, 7d)';

/** How `health` exits, like a monitoring check (Nagios plugin codes: 3 is UNKNOWN). */
export const HEALTH_EXIT_CODES = { healthy: 0, unknown: 0, degraded: 1, critical: 2, cannotTell: 3 } as const;

/** The `health` command's judgement and exit codes, from the thresholds the alert rules use. */
function healthNotes(): readonly string[] {
  const rule = (severity: 'page' | 'ticket'): string =>
    BURN_RATE_CONDITIONS.filter((c) => c.severity === severity)
      .map((c) => `${c.burnRate}x over ${c.long} and ${c.short}`)
      .join(', or ');
  return [
    `A queue is critical when its burn rate (final-failure ratio / (1 - slo)) reaches ${rule('page')};`,
    `degraded at ${rule('ticket')}, or with ${LOW_TRAFFIC_FAILURES.failures} jobs failed for good in ${LOW_TRAFFIC_FAILURES.window}`,
    `while fewer than ${MIN_FINISHED_JOBS} jobs ended in ${TRAFFIC_WINDOW}; unknown when no window has ${MIN_FINISHED_JOBS} ended jobs to judge.`,
    '',
    'exit codes:',
    `  ${HEALTH_EXIT_CODES.healthy}  every queue healthy or unknown`,
    `  ${HEALTH_EXIT_CODES.degraded}  a queue degraded`,
    `  ${HEALTH_EXIT_CODES.critical}  a queue critical`,
    `  ${HEALTH_EXIT_CODES.cannotTell}  cannot tell: the database does not answer, the ledger tables are missing, or a wrong command line`,
  ];
}

export const COMMANDS = {
  migrate: { usage: 'migrate', summary: 'create or update the ledger tables', options: {}, positionals: [] },
  stats: {
    usage: 'stats [--queue <name>] [--since 24h] [--until <time>]',
    summary: 'jobs, success rate and durations per queue',
    options: {
      queue: { type: 'string', description: 'only this queue' },
      since: {
        type: 'string',
        description: 'window start: a duration ago (90m, 24h, 7d) or a time with Z or an offset (default 24h)',
      },
      until: { type: 'string', description: 'window end: a duration ago or a time with Z or an offset (default now)' },
    },
    positionals: [],
  },
  failures: {
    usage: 'failures [--queue <name>] [--since 1h] [--retrying] [--limit 50]',
    summary: 'recent failures with their error and trace id',
    options: {
      queue: { type: 'string', description: 'only this queue' },
      since: { type: 'string', description: 'window start (default 1h)' },
      retrying: { type: 'boolean', description: 'also failures BullMQ will retry' },
      limit: { type: 'string', description: `at most this many, up to ${MAX_LIMIT} (default 50)` },
    },
    positionals: [],
  },
  slowest: {
    usage: 'slowest [--queue <name>] [--since 24h] [--limit 10]',
    summary: 'the slowest jobs',
    options: {
      queue: { type: 'string', description: 'only this queue' },
      since: { type: 'string', description: 'window start (default 24h)' },
      limit: { type: 'string', description: `at most this many, up to ${MAX_LIMIT} (default 10)` },
    },
    positionals: [],
  },
  stuck: {
    usage: 'stuck [--queue <name>] [--min-retries 3] [--limit 50]',
    summary: 'jobs still retrying after many failures',
    options: {
      queue: { type: 'string', description: 'only this queue' },
      'min-retries': {
        type: 'string',
        description: 'at least this many failed attempts, the newest one included (default 3)',
      },
      limit: { type: 'string', description: `at most this many, up to ${MAX_LIMIT} (default 50)` },
    },
    positionals: [],
  },
  workers: {
    usage: 'workers [--since 24h]',
    summary: 'attempts and failure rate per worker (service, host, pid)',
    options: { since: { type: 'string', description: 'window start (default 24h)' } },
    positionals: [],
  },
  health: {
    usage: 'health [--since 1h] [--until <time>] [--slo 0.99]',
    summary: 'per-queue health and worker reliability; exits like a monitoring check',
    options: {
      since: {
        type: 'string',
        description: 'start of the range whose numbers and workers are shown (default 1h)',
      },
      until: {
        type: 'string',
        description:
          "the moment judged: the alert windows end here (default the end of the current minute, as the dashboard's badges)",
      },
      slo: {
        type: 'string',
        description: 'objective: the share of ended jobs that must complete, between 0 and 1 (default 0.99)',
      },
    },
    positionals: [],
    notes: healthNotes(),
  },
  job: {
    usage: 'job <queue> <id>',
    summary: "a job's record and every attempt",
    options: {},
    positionals: ['queue', 'id'],
  },
  reconcile: {
    usage: 'reconcile --queue <name> [--since <time>] [--redis-url <url>] [--progress]',
    summary: 'fill the ledger from what BullMQ still retains about a queue',
    options: {
      queue: { type: 'string', description: 'the queue to read (required)' },
      since: { type: 'string', description: 'only jobs active since (default: all)' },
      'redis-url': {
        type: 'string',
        description: 'Redis of the queue (default: $REDIS_URL or redis://127.0.0.1:6379)',
      },
      progress: { type: 'boolean', description: 'show a progress bar (default: when stderr is a terminal)' },
    },
    positionals: [],
  },
  dashboard: {
    usage: 'dashboard [--port 4000] [--host 127.0.0.1] [--trace-url <template>] [--base-path /ledger]',
    summary: 'serve the web dashboard (read-only) until Ctrl-C',
    options: {
      port: { type: 'string', description: 'port to listen on (default 4000; 0 picks a free one)' },
      host: {
        type: 'string',
        description:
          'address to bind (default 127.0.0.1; set $BULLMQ_LEDGER_DASHBOARD_USER and _PASSWORD before exposing it)',
      },
      'trace-url': {
        type: 'string',
        description: 'link from an attempt to its trace, e.g. https://tracing.example/trace/{traceId}',
      },
      'base-path': { type: 'string', description: 'serve under this path, e.g. /ledger (default: the root)' },
    },
    positionals: [],
  },
} as const satisfies Record<
  string,
  {
    usage: string;
    summary: string;
    options: Record<string, OptionSpec>;
    positionals: readonly string[];
    /** Lines printed after the options in the command's --help. */
    notes?: readonly string[];
  }
>;

export type CommandName = keyof typeof COMMANDS;

export interface ParsedCommand {
  readonly command: CommandName;
  readonly options: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

export function generalHelp(): string {
  const lines = Object.values(COMMANDS).map(
    (spec) => `  ${spec.usage.split(' ')[0]?.padEnd(10) ?? ''} ${spec.summary}`,
  );
  return [
    'bullmq-ledger: audit the BullMQ job ledger',
    '',
    'usage: bullmq-ledger <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    'Every command takes --database-url (or $DATABASE_URL), --schema, --json and --help.',
    `A time (--since, --until) is ${DURATION_FORM} or ${ISO_TIME_FORM}.`,
  ].join('\n');
}

export function commandHelp(command: CommandName): string {
  const spec = COMMANDS[command];
  const options: Record<string, OptionSpec> = { ...spec.options, ...COMMON };
  const rows = Object.entries(options).map(([name, option]) => `  --${name.padEnd(14)} ${option.description}`);
  const notes: readonly string[] = 'notes' in spec ? spec.notes : [];
  return [
    `usage: bullmq-ledger ${spec.usage}`,
    '',
    spec.summary,
    '',
    'options:',
    ...rows,
    ...(notes.length > 0 ? ['', ...notes] : []),
  ].join('\n');
}

/** Parses argv (without node and the script). Throws UsageError with what was wrong. */
export function parseCommand(argv: readonly string[]): ParsedCommand | 'help' {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') return 'help';
  if (!isCommand(name)) throw new UsageError(`unknown command "${name}"; run bullmq-ledger --help for the list`);
  const spec = COMMANDS[name];
  const specs: Record<string, OptionSpec> = { ...spec.options, ...COMMON };
  const options = Object.fromEntries(Object.entries(specs).map(([key, option]) => [key, { type: option.type }]));
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...rest], options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}; run bullmq-ledger ${name} --help`);
  }
  if (parsed.values.help === true) return { command: name, options: { help: true }, positionals: [] };
  const expected: readonly string[] = spec.positionals;
  if (parsed.positionals.length !== expected.length) {
    throw new UsageError(`usage: bullmq-ledger ${spec.usage}`);
  }
  const values: Record<string, string | boolean | undefined> = {};
  for (const [key, value] of Object.entries(parsed.values)) {
    if (typeof value === 'string' || typeof value === 'boolean') values[key] = value;
  }
  return { command: name, options: values, positionals: parsed.positionals };
}

/**
 * An ISO-8601 date and time with `Z` or an offset (`+09:00`, `+0900`), or a date alone. A time
 * without either would be read in the local time zone of whoever runs the command: not accepted.
 */
/**
 * `24h`, `90m`, `7d` (ago, from `now`), or an ISO-8601 time with `Z` or an offset
 * (`2026-12-01T00:00:00Z`, `2026-12-01T09:00+09:00`); a date alone (`2026-12-01`) is midnight UTC.
 */
export function parseTime(option: string, value: string, now = Date.now()): Date {
  const ago = durationMs(value);
  if (ago !== undefined) return new Date(now - ago);
  const date = isoTime(value);
  if (date === undefined)
    throw new UsageError(`--${option} "${value}" is neither ${DURATION_FORM} nor ${ISO_TIME_FORM}`);
  return date;
}

/** A whole number option from `min` (and up to `max`), or `fallback` when it is not given. */
export function parseCount(
  option: string,
  value: string | boolean | undefined,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  const number = typeof value === 'string' ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`--${option} must be a whole number ${range}, got "${String(value)}"`);
  }
  return number;
}
