import { expect } from 'chai';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM } from '@mikro-orm/postgresql';
import {
  LEDGER_MIGRATIONS_TABLE,
  LEDGER_SKIP_TABLES,
  Migration20261204000000CreateLedger,
  Migration20261205000000AuditIndexes,
  Migration20261206000000Rollups,
  Migration20261207000000DashboardActions,
  Migration20261208000000SearchIndexes,
  Migration20261209000000CombinedRollupTriggers,
  Migration20261210000000SlowestIndexes,
  ledgerEntities,
  ledgerMigrations,
  migrateLedger,
} from '../../schema';
import { DATABASE_URL } from '../helpers/postgres';
import { openLedgerDb } from '../helpers/ledger-db';
import type { LedgerDb } from '../helpers/ledger-db';

async function tables(db: LedgerDb): Promise<string[]> {
  const rows = await db.orm.em
    .getConnection()
    .execute<Array<{ table_name: string }>>(
      'select table_name from information_schema.tables where table_schema = ? order by 1',
      [db.schema],
    );
  return rows.map((row) => row.table_name);
}

/** The tables the migrations create, by name (sorted, as `tables` lists them after the migrations table). */
const LEDGER_TABLES = [
  'ledger_dashboard_actions',
  'ledger_queue_days',
  'ledger_queue_hours',
  'ledger_worker_days',
  'ledger_worker_hours',
  'worker_job_attempts',
  'worker_job_records',
];

describe('schema: entities and migrations', () => {
  let db: LedgerDb;
  beforeEach(async () => {
    db = await openLedgerDb('schema');
  });
  afterEach(() => db.close());

  it('creates the ledger tables in the configured schema, with its own migrations table', async () => {
    expect(await migrateLedger(db.orm)).to.deep.equal({
      applied: [
        'Migration20261204000000CreateLedger',
        'Migration20261205000000AuditIndexes',
        'Migration20261206000000Rollups',
        'Migration20261207000000DashboardActions',
        'Migration20261208000000SearchIndexes',
        'Migration20261209000000CombinedRollupTriggers',
        'Migration20261210000000SlowestIndexes',
      ],
    });
    expect(await tables(db)).to.deep.equal([LEDGER_MIGRATIONS_TABLE, ...LEDGER_TABLES]);
  });

  it('produces exactly the schema the entities describe (no diff left for the schema generator)', async () => {
    await migrateLedger(db.orm);
    const diff = await db.orm.schema.getUpdateSchemaSQL({ wrap: false, safe: true });
    expect(diff.trim()).to.equal('');
  });

  it('leaves the tables that are not entities alone in a full diff, given LEDGER_SKIP_TABLES', async () => {
    await migrateLedger(db.orm);
    const orm = await MikroORM.init({
      entities: [...ledgerEntities],
      clientUrl: DATABASE_URL,
      schema: db.schema,
      schemaGenerator: { skipTables: [...LEDGER_SKIP_TABLES] },
    });
    try {
      const diff = await orm.schema.getUpdateSchemaSQL({
        wrap: false,
        safe: false,
        dropTables: true,
        schema: db.schema,
      });
      expect(diff.trim()).to.equal('');
    } finally {
      await orm.close(true);
    }
  });

  it('is idempotent, also when many processes migrate at once', async () => {
    const results = await Promise.all(Array.from({ length: 4 }, () => migrateLedger(db.orm)));
    expect(results.flatMap((result) => result.applied)).to.deep.equal(
      ledgerMigrations.map((migration) => migration.name),
    );
    expect(await migrateLedger(db.orm)).to.deep.equal({ applied: [] });
  });

  it("runs from a host application's own migrator, given ledgerMigrations in its migrationsList", async () => {
    const host = await MikroORM.init({
      entities: [...ledgerEntities],
      clientUrl: DATABASE_URL,
      schema: db.schema,
      extensions: [Migrator],
      migrations: { migrationsList: [...ledgerMigrations], tableName: 'host_migrations' },
    });
    try {
      const up = await host.getMigrator().up();
      expect(up.map((migration) => migration.name)).to.deep.equal(ledgerMigrations.map((m) => m.name));
      expect(await tables(db)).to.deep.equal(['host_migrations', ...LEDGER_TABLES]);
      // The host's migrator can take them back down too.
      const down = await host.getMigrator().down({ to: 0 });
      expect(down).to.have.length(ledgerMigrations.length);
      expect(await tables(db)).to.deep.equal(['host_migrations']);
    } finally {
      await host.close(true);
    }
  });

  it('has down() migrations that remove, in reverse order, what up() created', async () => {
    await migrateLedger(db.orm);
    for (const Migration of [
      Migration20261210000000SlowestIndexes,
      Migration20261209000000CombinedRollupTriggers,
      Migration20261208000000SearchIndexes,
      Migration20261207000000DashboardActions,
      Migration20261206000000Rollups,
      Migration20261205000000AuditIndexes,
      Migration20261204000000CreateLedger,
    ]) {
      const migration = new Migration(db.orm.em.getDriver(), db.orm.config);
      await Promise.resolve(migration.down());
      for (const query of migration.getQueries()) {
        if (typeof query === 'string') await db.orm.em.getConnection().execute(query);
      }
    }
    expect(await tables(db)).to.deep.equal([LEDGER_MIGRATIONS_TABLE]);
  });
});
