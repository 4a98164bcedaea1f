/**
 * `bullmq-ledger/exporter`: the ledger span processor and exporter that turn
 * the instrumentation's job spans into WorkerJobRecord rows. Built by the
 * ledger issue; this entry point exists so the package layout is stable.
 */
export {};
