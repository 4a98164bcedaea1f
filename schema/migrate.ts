import type { MikroORM } from '@mikro-orm/core';
import type { AbstractSqlDriver } from '@mikro-orm/postgresql';
import { Migration20261204000000CreateLedger, quoteIdentifier } from './migrations/Migration20261204000000CreateLedger';
import { Migration20261205000000AuditIndexes } from './migrations/Migration20261205000000AuditIndexes';
import { Migration20261206000000Rollups, ROLLUP_TABLES } from './migrations/Migration20261206000000Rollups';
import {
  DASHBOARD_ACTIONS_TABLE,
  Migration20261207000000DashboardActions,
} from './migrations/Migration20261207000000DashboardActions';
import { Migration20261208000000SearchIndexes } from './migrations/Migration20261208000000SearchIndexes';
import { Migration20261209000000CombinedRollupTriggers } from './migrations/Migration20261209000000CombinedRollupTriggers';
import { Migration20261210000000SlowestIndexes } from './migrations/Migration20261210000000SlowestIndexes';

/** The ledger's migrations, in order, for a host's `migrations.migrationsList`. */
export const ledgerMigrations = [
  { name: 'Migration20261204000000CreateLedger', class: Migration20261204000000CreateLedger },
  { name: 'Migration20261205000000AuditIndexes', class: Migration20261205000000AuditIndexes },
  { name: 'Migration20261206000000Rollups', class: Migration20261206000000Rollups },
  { name: 'Migration20261207000000DashboardActions', class: Migration20261207000000DashboardActions },
  { name: 'Migration20261208000000SearchIndexes', class: Migration20261208000000SearchIndexes },
  { name: 'Migration20261209000000CombinedRollupTriggers', class: Migration20261209000000CombinedRollupTriggers },
  { name: 'Migration20261210000000SlowestIndexes', class: Migration20261210000000SlowestIndexes },
] as const;

/** Where `migrateLedger` records what it applied: not the host's own migrations table. */
export const LEDGER_MIGRATIONS_TABLE = 'bullmq_ledger_migrations';

/**
 * Tables of the ledger that are not entities (its migrations table and the
 * trigger-maintained rollups, the dashboard's action log): add them to a host's `schemaGenerator.skipTables`
 * so that its schema diff leaves them alone.
 */
export const LEDGER_SKIP_TABLES: readonly string[] = [
  LEDGER_MIGRATIONS_TABLE,
  ...ROLLUP_TABLES,
  DASHBOARD_ACTIONS_TABLE,
];

/** Any key: takes a transaction-scoped advisory lock so that workers starting together migrate once. */
const MIGRATION_LOCK_KEY = 0x6c656467; // "ledg"

export interface MigrateLedgerResult {
  /** Names of the migrations applied by this call (empty when the ledger was up to date). */
  readonly applied: readonly string[];
}

/**
 * Applies the ledger's pending migrations in the ORM's configured schema,
 * recording them in `bullmq_ledger_migrations`. Safe to call from every worker
 * at start: concurrent calls serialise on an advisory lock, and each migration
 * runs in its own transaction.
 */
export async function migrateLedger(orm: MikroORM): Promise<MigrateLedgerResult> {
  const driver = sqlDriver(orm);
  const connection = driver.getConnection();
  const schema = quoteIdentifier(orm.config.get('schema') ?? 'public');
  const table = `${schema}.${quoteIdentifier(LEDGER_MIGRATIONS_TABLE)}`;
  const applied: string[] = [];
  await connection.transactional(async (trx) => {
    await connection.execute('select pg_advisory_xact_lock(?)', [MIGRATION_LOCK_KEY], 'all', trx);
    await connection.execute(`create schema if not exists ${schema}`, [], 'run', trx);
    await connection.execute(
      `create table if not exists ${table} ("name" text primary key, "executed_at" timestamptz not null default now())`,
      [],
      'run',
      trx,
    );
    const done = new Set(
      (await connection.execute<Array<{ name: string }>>(`select "name" from ${table}`, [], 'all', trx)).map(
        (row) => row.name,
      ),
    );
    for (const { name, class: MigrationClass } of ledgerMigrations) {
      if (done.has(name)) continue;
      const migration = new MigrationClass(driver, orm.config);
      await Promise.resolve(migration.up());
      for (const query of migration.getQueries()) {
        if (typeof query !== 'string') throw new TypeError(`ledger migration ${name} produced a non-SQL query`);
        await connection.execute(query, [], 'run', trx);
      }
      await connection.execute(`insert into ${table} ("name") values (?)`, [name], 'run', trx);
      applied.push(name);
    }
  });
  return { applied };
}

function sqlDriver(orm: MikroORM): AbstractSqlDriver {
  const driver = orm.em.getDriver();
  if (!isSqlDriver(driver)) {
    throw new TypeError(
      'bullmq-ledger: migrateLedger needs a MikroORM instance on PostgreSQL (@mikro-orm/postgresql); this ORM uses another driver.',
    );
  }
  return driver;
}

function isSqlDriver(driver: unknown): driver is AbstractSqlDriver {
  return (
    typeof driver === 'object' &&
    driver !== null &&
    'getPlatform' in driver &&
    'execute' in driver &&
    'getConnection' in driver
  );
}
