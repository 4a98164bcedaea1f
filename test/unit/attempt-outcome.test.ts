import { expect } from 'chai';
import { classifyAttempt, controlFlowOutcome } from '../../src/attempt-outcome';

function named(name: string, message = ''): Error {
  return Object.assign(new Error(message), { name });
}

describe('classifyAttempt', () => {
  it('calls an attempt BullMQ moved to completed completed and final', () => {
    expect(classifyAttempt({ processor: { kind: 'returned', result: 1 }, recorded: { kind: 'completed', result: 1 } })).to.deep.equal({
      outcome: 'completed',
      final: true,
      isFailure: false,
    });
  });

  it('follows the retry decision BullMQ made when it moved the job to failed', () => {
    const error = new Error('x');
    expect(classifyAttempt({ recorded: { kind: 'failed', error, final: false } })).to.deep.include({ outcome: 'retry', final: false, isFailure: true });
    expect(classifyAttempt({ recorded: { kind: 'failed', error, final: true } })).to.deep.include({ outcome: 'failed', final: true });
    expect(classifyAttempt({ recorded: { kind: 'failed', error, final: true } }).cause).to.deep.equal({ thrown: error });
  });

  it('trusts the recorded move over the processor: a returned result BullMQ failed to store is a failure', () => {
    const storeError = new TypeError('Converting circular structure to JSON');
    const classified = classifyAttempt({
      processor: { kind: 'returned', result: {} },
      recorded: { kind: 'failed', error: storeError, final: true },
    });
    expect(classified.outcome).to.equal('failed');
  });

  for (const [name, outcome] of [
    ['DelayedError', 'delayed'],
    ['WaitingError', 'waiting'],
    ['WaitingChildrenError', 'waiting-children'],
  ] as const) {
    it(`calls ${name} ${outcome}, not a failure`, () => {
      expect(classifyAttempt({ processor: { kind: 'threw', error: named(name) } })).to.deep.equal({
        outcome,
        final: false,
        isFailure: false,
      });
    });
  }

  it('calls the rate-limit error rate-limited', () => {
    expect(classifyAttempt({ processor: { kind: 'threw', error: new Error('bullmq:rateLimitExceeded') } }).outcome).to.equal('rate-limited');
  });

  it('calls an attempt nothing was recorded for stalled, with the processor error or the move error as cause', () => {
    const thrown = new Error('boom');
    expect(classifyAttempt({ processor: { kind: 'threw', error: thrown } })).to.deep.equal({
      outcome: 'stalled',
      final: false,
      isFailure: true,
      cause: { thrown },
    });
    const lockLost = new Error('Missing lock for job 1');
    expect(classifyAttempt({ processor: { kind: 'returned', result: 1 }, moveError: lockLost }).cause).to.deep.equal({ thrown: lockLost });
    expect(classifyAttempt({ processor: { kind: 'returned', result: 1 } })).to.deep.equal({ outcome: 'stalled', final: false, isFailure: true });
  });

  it('keeps a thrown undefined as the cause', () => {
    expect(classifyAttempt({ processor: { kind: 'threw', error: undefined } }).cause).to.deep.equal({ thrown: undefined });
  });
});

describe('controlFlowOutcome', () => {
  it('ignores ordinary errors and non-objects', () => {
    expect(controlFlowOutcome(new Error('DelayedErrors happen'))).to.equal(undefined);
    expect(controlFlowOutcome('DelayedError')).to.equal(undefined);
    expect(controlFlowOutcome(undefined)).to.equal(undefined);
  });

  it('recognises BullMQ 5.0\'s DelayedError by message', () => {
    expect(controlFlowOutcome(new Error('DelayedError'))).to.equal('delayed');
  });
});
