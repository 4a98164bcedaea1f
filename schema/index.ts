/**
 * `bullmq-ledger/schema`: the MikroORM entities (WorkerJobRecord,
 * WorkerJobAttempt) and migrations of the ledger. Built by the ledger issue;
 * this entry point exists so the package layout is stable.
 */
export {};
