import type { AttemptOutcome } from './attributes';
import { readString } from './safe-read';

/** How the user's processor ended, as seen by `Worker.callProcessJob`. */
export type ProcessorEnd =
  | { readonly kind: 'returned'; readonly result: unknown }
  | { readonly kind: 'threw'; readonly error: unknown };

/** The last move of the job that BullMQ completed for this attempt. */
export type RecordedMove =
  | { readonly kind: 'completed'; readonly result: unknown }
  | { readonly kind: 'failed'; readonly error: unknown; readonly final: boolean };

/** Everything observed about one attempt while it ran. */
export interface AttemptObservation {
  /** Absent when the processor never ran (deferred failure, worker closing). */
  readonly processor?: ProcessorEnd;
  /** Absent when BullMQ did not manage to move the job. */
  readonly recorded?: RecordedMove;
  /** The last error thrown by a move that did not happen (lost lock, closed connection). */
  readonly moveError?: unknown;
}

export interface AttemptClassification {
  readonly outcome: AttemptOutcome;
  /** No further attempt of this job will run. */
  readonly final: boolean;
  /** The attempt failed (`failed`, `retry`, or not recorded); the span gets status ERROR. */
  readonly isFailure: boolean;
  /** The thrown value that explains a failure, when there is one (it may itself be `undefined`). */
  readonly cause?: { readonly thrown: unknown };
}

/** BullMQ's `RATE_LIMIT_ERROR`: `Worker.RateLimitError()` is matched by message. */
export const RATE_LIMIT_MESSAGE = 'bullmq:rateLimitExceeded';

const CONTROL_FLOW_BY_NAME: Readonly<Record<string, AttemptOutcome>> = {
  DelayedError: 'delayed',
  WaitingError: 'waiting',
  WaitingChildrenError: 'waiting-children',
};

/**
 * The control-flow outcome BullMQ gives a thrown value, or undefined when it
 * treats it as a failure. Same order and tests as `Worker.handleFailed`: the
 * rate-limit message first, then the error's `name` (sandboxed processors
 * rebuild errors as plain `Error`s, so `instanceof` cannot be used). BullMQ 5.0
 * matched DelayedError by message, hence the message check.
 */
export function controlFlowOutcome(thrown: unknown): AttemptOutcome | undefined {
  if (typeof thrown !== 'object' || thrown === null) return undefined;
  const message = readString(thrown, 'message');
  if (message === RATE_LIMIT_MESSAGE) return 'rate-limited';
  const name = readString(thrown, 'name');
  if (name !== undefined && Object.hasOwn(CONTROL_FLOW_BY_NAME, name)) {
    return CONTROL_FLOW_BY_NAME[name];
  }
  if (message === 'DelayedError') return 'delayed';
  return undefined;
}

/**
 * Decides an attempt's outcome from what BullMQ did, not from what the
 * processor returned: a processor that returned but whose result BullMQ could
 * not store (lost lock, circular result) is not a completion.
 */
export function classifyAttempt(observed: AttemptObservation): AttemptClassification {
  const { recorded, processor } = observed;
  if (recorded?.kind === 'completed') {
    return { outcome: 'completed', final: true, isFailure: false };
  }
  if (recorded?.kind === 'failed') {
    return {
      outcome: recorded.final ? 'failed' : 'retry',
      final: recorded.final,
      isFailure: true,
      cause: { thrown: recorded.error },
    };
  }
  if (processor?.kind === 'threw') {
    const controlFlow = controlFlowOutcome(processor.error);
    if (controlFlow !== undefined) return { outcome: controlFlow, final: false, isFailure: false };
  }
  // Nothing was recorded: BullMQ will see the job as stalled.
  const stalled = { outcome: 'stalled', final: false, isFailure: true } as const;
  if (processor?.kind === 'threw') return { ...stalled, cause: { thrown: processor.error } };
  if ('moveError' in observed) return { ...stalled, cause: { thrown: observed.moveError } };
  return stalled;
}

