/** A MikroORM instance on the local PostgreSQL, in a schema of the test's own, dropped afterwards. */
import { MikroORM } from '@mikro-orm/postgresql';
import { ledgerEntities } from '../../schema';
import { DATABASE_URL, dropSchema, uniqueSchema } from './postgres';

export interface LedgerDb {
  readonly orm: MikroORM;
  readonly schema: string;
  close(): Promise<void>;
}

export async function openLedgerDb(label: string): Promise<LedgerDb> {
  const schema = uniqueSchema(label);
  const orm = await MikroORM.init({
    entities: [...ledgerEntities],
    clientUrl: DATABASE_URL,
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
