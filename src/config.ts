import type { ErrorDetailsLimits } from './error-details';
import type { BullMQInstrumentationConfig } from './types';

/** The configuration with every default filled in. */
export interface ResolvedConfig extends BullMQInstrumentationConfig {
  readonly producerContext: 'link' | 'parent';
  readonly jobDataAttributes: readonly string[];
  readonly maxAttributeLength: number;
  readonly maxErrorMessageLength: number;
  readonly maxErrorStackLength: number;
}

export const DEFAULT_CONFIG = {
  producerContext: 'link',
  jobDataAttributes: [],
  maxAttributeLength: 2048,
  maxErrorMessageLength: 1024,
  maxErrorStackLength: 4096,
} as const satisfies Omit<ResolvedConfig, 'enabled'>;

export function errorLimits(config: ResolvedConfig): ErrorDetailsLimits {
  return { maxMessageLength: config.maxErrorMessageLength, maxStackLength: config.maxErrorStackLength };
}

/** A configuration mistake, reported when the instrumentation is created. */
export class InvalidConfigError extends TypeError {
  override readonly name = 'InvalidConfigError';
  constructor(detail: string) {
    super(`bullmq-ledger: invalid BullMQInstrumentation config: ${detail}`);
  }
}

/**
 * Checks a user's configuration and fills in the defaults. Mistakes are
 * thrown at construction, with what was wrong and how to fix it, rather than
 * silently producing spans without the data the user asked for.
 */
export function resolveConfig(config: BullMQInstrumentationConfig = {}): ResolvedConfig {
  if (typeof config !== 'object' || config === null) {
    throw new InvalidConfigError(`expected an object of options, got ${describe(config)}.`);
  }
  const producerContext = config.producerContext ?? DEFAULT_CONFIG.producerContext;
  if (producerContext !== 'link' && producerContext !== 'parent') {
    throw new InvalidConfigError(`producerContext must be 'link' or 'parent', got ${describe(producerContext)}.`);
  }
  const jobDataAttributes = config.jobDataAttributes ?? DEFAULT_CONFIG.jobDataAttributes;
  if (!isKeyList(jobDataAttributes)) {
    throw new InvalidConfigError(
      `jobDataAttributes must be an array of non-empty job.data key names, e.g. ['tenantId'], got ${describe(jobDataAttributes)}.`,
    );
  }
  for (const hook of ['metadata', 'resultSummary'] as const) {
    const value = config[hook];
    if (value !== undefined && typeof value !== 'function') {
      throw new InvalidConfigError(`${hook} must be a function, got ${describe(value)}.`);
    }
  }
  return {
    ...config,
    producerContext,
    jobDataAttributes: [...jobDataAttributes],
    maxAttributeLength: positiveLimit(config, 'maxAttributeLength'),
    maxErrorMessageLength: positiveLimit(config, 'maxErrorMessageLength'),
    maxErrorStackLength: positiveLimit(config, 'maxErrorStackLength'),
  };
}

/** Room for a capped JSON value's `{"truncated":true,"preview":"..."}` envelope and a useful preview. */
const MIN_LIMIT = 64;

type LimitOption = 'maxAttributeLength' | 'maxErrorMessageLength' | 'maxErrorStackLength';

function positiveLimit(config: BullMQInstrumentationConfig, option: LimitOption): number {
  const value = config[option] ?? DEFAULT_CONFIG[option];
  if (!Number.isSafeInteger(value) || value < MIN_LIMIT) {
    throw new InvalidConfigError(
      `${option} must be a whole number of characters, at least ${MIN_LIMIT} (default ${DEFAULT_CONFIG[option]}), got ${describe(value)}.`,
    );
  }
  return value;
}

function isKeyList(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((key) => typeof key === 'string' && key !== '');
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array with a non-string or empty entry';
  if (value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return typeof value;
}
