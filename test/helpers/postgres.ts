/** PostgreSQL for tests: the local server, a schema of the test's own, dropped afterwards. */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/test';

export function uniqueSchema(label: string): string {
  return `bl_${label}_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
