export { BullMQInstrumentation, SUPPORTED_BULLMQ_VERSIONS } from './instrumentation';
export type { BullMQInstrumentationConfig, BullMQJob } from './types';
export { DEFAULT_CONFIG, InvalidConfigError } from './config';
export type { ResolvedConfig } from './config';
export * from './attributes';
export { PACKAGE_NAME, PACKAGE_VERSION } from './version';
export * from './metric-names';
export { observeQueues } from './queue-gauges';
export type { ObservableQueue, QueueGauges } from './queue-gauges';
