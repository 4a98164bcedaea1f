import type { AttemptOutcome } from './attributes';
import { readString } from './safe-read';

/** A move BullMQ began (`Job.moveToCompleted` / `Job.moveToFailed`), before knowing whether it succeeds. */
export type BegunMove =
  | { readonly kind: 'completed'; readonly result: unknown }
  | { readonly kind: 'failed'; readonly error: unknown; readonly finishedOnBefore: unknown };

/** The move of the job that BullMQ recorded for this attempt. */
export type RecordedMove =
  | { readonly kind: 'completed'; readonly result: unknown }
  | { readonly kind: 'failed'; readonly error: unknown; readonly final: boolean };

/** What was observed about one attempt while it ran. */
export interface AttemptObservation {
  /** Absent when BullMQ did not record the attempt (no move succeeded). */
  readonly recorded?: RecordedMove;
  /** The last value BullMQ's failure handling was given: the processor's error, or an error from a failed move. */
  readonly failure?: { readonly thrown: unknown };
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
const RATE_LIMIT_MESSAGE = 'bullmq:rateLimitExceeded';

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
 * The move BullMQ recorded, deduced from its own counter: it increments
 * `job.attemptsMade` only after a move succeeded, and at most one move of an
 * attempt succeeds (a successful move releases the job's lock). So the
 * recorded move is the last one begun while `attemptsMade` still had its
 * starting value (`lastMove`), provided `attemptsMade` changed by the end. A
 * failure is final when BullMQ stamped a new `finishedOn`, which it does only
 * when it does not retry.
 */
export function recordedMove(seen: {
  readonly lastMove: BegunMove | undefined;
  readonly attemptsMadeAtStart: number;
  readonly attemptsMadeAtEnd: number;
  readonly finishedOnAtEnd: unknown;
}): RecordedMove | undefined {
  const { lastMove } = seen;
  if (lastMove === undefined || seen.attemptsMadeAtEnd === seen.attemptsMadeAtStart) return undefined;
  if (lastMove.kind === 'completed') return lastMove;
  const final = typeof seen.finishedOnAtEnd === 'number' && seen.finishedOnAtEnd !== lastMove.finishedOnBefore;
  return { kind: 'failed', error: lastMove.error, final };
}

/**
 * Decides an attempt's outcome from what BullMQ did, not from what the
 * processor returned: a processor that returned but whose result BullMQ could
 * not store (lost lock, circular result) is not a completion.
 */
export function classifyAttempt(observed: AttemptObservation): AttemptClassification {
  const { recorded, failure } = observed;
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
  if (failure !== undefined) {
    const controlFlow = controlFlowOutcome(failure.thrown);
    if (controlFlow !== undefined) return { outcome: controlFlow, final: false, isFailure: false };
  }
  // Nothing was recorded: BullMQ will see the job as stalled.
  const stalled = { outcome: 'stalled', final: false, isFailure: true } as const;
  return failure === undefined ? stalled : { ...stalled, cause: failure };
}
