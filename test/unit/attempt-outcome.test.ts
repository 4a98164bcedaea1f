import { expect } from 'chai';
import { classifyAttempt, controlFlowOutcome, recordedMove } from '../../src/attempt-outcome';

function named(name: string, message = ''): Error {
  return Object.assign(new Error(message), { name });
}

describe('recordedMove', () => {
  const failedMove = { kind: 'failed', error: new Error('x'), finishedOnBefore: undefined } as const;

  it('finds no recorded move when attemptsMade did not change', () => {
    expect(
      recordedMove({
        lastMove: { kind: 'completed', result: 1 },
        attemptsMadeAtStart: 0,
        attemptsMadeAtEnd: 0,
        finishedOnAtEnd: undefined,
      }),
    ).to.equal(undefined);
  });

  it('takes the last move begun before attemptsMade changed', () => {
    expect(
      recordedMove({
        lastMove: { kind: 'completed', result: 1 },
        attemptsMadeAtStart: 0,
        attemptsMadeAtEnd: 1,
        finishedOnAtEnd: 5,
      }),
    ).to.deep.equal({
      kind: 'completed',
      result: 1,
    });
  });

  it('calls a failure final only when BullMQ stamped a new finishedOn', () => {
    const seen = { lastMove: failedMove, attemptsMadeAtStart: 2, attemptsMadeAtEnd: 3 };
    expect(recordedMove({ ...seen, finishedOnAtEnd: undefined })).to.deep.include({ kind: 'failed', final: false });
    expect(recordedMove({ ...seen, finishedOnAtEnd: 1700000000000 })).to.deep.include({ kind: 'failed', final: true });
    const stale = { ...failedMove, finishedOnBefore: 1600000000000 };
    expect(recordedMove({ ...seen, lastMove: stale, finishedOnAtEnd: 1600000000000 })).to.deep.include({
      final: false,
    });
  });
});

describe('classifyAttempt', () => {
  it('calls an attempt BullMQ moved to completed completed and final', () => {
    expect(classifyAttempt({ recorded: { kind: 'completed', result: 1 } })).to.deep.equal({
      outcome: 'completed',
      final: true,
      isFailure: false,
    });
  });

  it('follows the retry decision BullMQ made when it moved the job to failed', () => {
    const error = new Error('x');
    expect(classifyAttempt({ recorded: { kind: 'failed', error, final: false } })).to.deep.include({
      outcome: 'retry',
      final: false,
      isFailure: true,
    });
    expect(classifyAttempt({ recorded: { kind: 'failed', error, final: true } })).to.deep.include({
      outcome: 'failed',
      final: true,
    });
    expect(classifyAttempt({ recorded: { kind: 'failed', error, final: true } }).cause).to.deep.equal({
      thrown: error,
    });
  });

  for (const [name, outcome] of [
    ['DelayedError', 'delayed'],
    ['WaitingError', 'waiting'],
    ['WaitingChildrenError', 'waiting-children'],
  ] as const) {
    it(`calls ${name} ${outcome}, not a failure`, () => {
      expect(classifyAttempt({ failure: { thrown: named(name) } })).to.deep.equal({
        outcome,
        final: false,
        isFailure: false,
      });
    });
  }

  it('calls the rate-limit error rate-limited', () => {
    expect(classifyAttempt({ failure: { thrown: new Error('bullmq:rateLimitExceeded') } }).outcome).to.equal(
      'rate-limited',
    );
  });

  it('calls an attempt nothing was recorded for stalled, with the last failure as cause', () => {
    const lockLost = new Error('Missing lock for job 1');
    expect(classifyAttempt({ failure: { thrown: lockLost } })).to.deep.equal({
      outcome: 'stalled',
      final: false,
      isFailure: true,
      cause: { thrown: lockLost },
    });
    expect(classifyAttempt({})).to.deep.equal({ outcome: 'stalled', final: false, isFailure: true });
  });

  it('keeps a thrown undefined as the cause', () => {
    expect(classifyAttempt({ failure: { thrown: undefined } }).cause).to.deep.equal({ thrown: undefined });
  });
});

describe('controlFlowOutcome', () => {
  it('ignores ordinary errors and non-objects', () => {
    expect(controlFlowOutcome(new Error('DelayedErrors happen'))).to.equal(undefined);
    expect(controlFlowOutcome('DelayedError')).to.equal(undefined);
    expect(controlFlowOutcome(undefined)).to.equal(undefined);
  });

  it("recognises BullMQ 5.0's DelayedError by message", () => {
    expect(controlFlowOutcome(new Error('DelayedError'))).to.equal('delayed');
  });
});
