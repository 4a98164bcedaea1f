import { Migration } from '@mikro-orm/migrations';
import { quoteIdentifier } from './Migration20261204000000CreateLedger';
import { combinedTriggerFunctions, perGrainTriggerFunctions } from './Migration20261206000000Rollups';

/**
 * Cheaper rollup triggers: one statement per kind of rollup folds the
 * changed rows into the hourly rollup and derives the daily deltas from the
 * hourly ones, instead of folding the transition table once per grain
 * (bench/ledger-writer.mjs). Same results; only the trigger functions change.
 */
export class Migration20261209000000CombinedRollupTriggers extends Migration {
  override up(): void {
    const s = quoteIdentifier(this.config.get('schema') ?? 'public');
    for (const statement of combinedTriggerFunctions(s)) this.addSql(statement);
  }

  override down(): void {
    const s = quoteIdentifier(this.config.get('schema') ?? 'public');
    for (const statement of perGrainTriggerFunctions(s)) this.addSql(statement);
  }
}
