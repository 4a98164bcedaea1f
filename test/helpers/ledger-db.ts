/** A MikroORM instance on the local PostgreSQL, in a schema of the test's own, dropped afterwards. */
import { MikroORM } from '@mikro-orm/postgresql';
import { ledgerEntities } from '../../schema';
import { DATABASE_URL, dropSchema, uniqueSchema } from './postgres';

export interface LedgerDb {
  readonly orm: MikroORM;
  readonly schema: string;
  close(): Promise<void>;
}

/** `clientUrl` lets a test reach the database through a proxy it controls. */
export async function openLedgerDb(
  label: string,
  { clientUrl = DATABASE_URL, schema = uniqueSchema(label) } = {},
): Promise<LedgerDb> {
  const orm = await MikroORM.init({
    entities: [...ledgerEntities],
    clientUrl,
    schema,
    pool: { min: 0, max: 4 },
    discovery: { warnWhenNoEntities: false },
  });
  return {
    orm,
    schema,
    async close() {
      await orm.close(true);
      await dropSchema(schema);
    },
  };
}
