import { SpanKind, TraceFlags } from '@opentelemetry/api';
import type { Attributes, HrTime } from '@opentelemetry/api';
import { expect } from 'chai';
import type { FinishedSpan, LedgerRows, WorkerIdentity } from '../../exporter';
import { spanToLedgerRows } from '../../exporter/ledger-rows';
import * as attr from '../../src/attributes';
import type { AttemptOutcome } from '../../src/attributes';
import { PACKAGE_NAME } from '../../src/version';

const TRACE_ID = 'a'.repeat(32);
const SPAN_ID = 'b'.repeat(16);
/** 1_800_000_000_250 ms since the epoch. */
const START: HrTime = [1_800_000_000, 250_000_000];
/** 1_800_000_001_750.5 ms since the epoch: 1500.5 ms after START. */
const END: HrTime = [1_800_000_001, 750_500_000];
const START_MS = 1_800_000_000_250;
const END_MS = 1_800_000_001_750.5;
const ENQUEUED_AT = 1_799_999_999_000;

const FALLBACK: WorkerIdentity = { hostName: 'fallback-host', processPid: 4242 };
const RESOURCE: Attributes = { 'service.name': 'billing-worker', 'host.name': 'worker-7', 'process.pid': 1234 };

interface SpanShape {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  readonly resource?: Attributes;
  readonly scope?: string;
  readonly startTime?: HrTime;
  readonly endTime?: HrTime;
}

/** A finished span as the SDK hands it to a span processor. */
function finishedSpan(shape: SpanShape = {}): FinishedSpan {
  return {
    name: 'process invoices',
    kind: shape.kind ?? SpanKind.CONSUMER,
    spanContext: () => ({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED }),
    startTime: shape.startTime ?? START,
    endTime: shape.endTime ?? END,
    attributes: shape.attributes ?? {},
    resource: { attributes: shape.resource ?? RESOURCE },
    instrumentationScope: { name: shape.scope ?? PACKAGE_NAME },
  };
}

/** The attributes the instrumentation puts on an attempt (`process`) span. */
function processAttributes(extra: Attributes = {}): Attributes {
  return {
    [attr.ATTR_MESSAGING_SYSTEM]: attr.MESSAGING_SYSTEM_BULLMQ,
    [attr.ATTR_MESSAGING_OPERATION_TYPE]: attr.OPERATION_PROCESS,
    [attr.ATTR_MESSAGING_OPERATION_NAME]: attr.OPERATION_PROCESS,
    [attr.ATTR_MESSAGING_DESTINATION_NAME]: 'invoices',
    [attr.ATTR_MESSAGING_MESSAGE_ID]: 'job-1',
    [attr.ATTR_BULLMQ_JOB_NAME]: 'send-invoice',
    [attr.ATTR_ATTEMPT_NUMBER]: 1,
    [attr.ATTR_JOB_ATTEMPTS_STARTED]: 1,
    [attr.ATTR_JOB_ENQUEUED_AT]: ENQUEUED_AT,
    [attr.ATTR_BULLMQ_WORKER_NAME]: 'invoice-worker',
    [attr.ATTR_ATTEMPT_OUTCOME]: 'completed',
    [attr.ATTR_ATTEMPT_FINAL]: true,
    [attr.ATTR_ATTEMPT_DURATION_MS]: 1234.25,
    ...extra,
  };
}

/** The attributes the instrumentation puts on a PRODUCER (`send` or `create`) span once the job is added. */
function producerAttributes(operation: string, extra: Attributes = {}): Attributes {
  return {
    [attr.ATTR_MESSAGING_SYSTEM]: attr.MESSAGING_SYSTEM_BULLMQ,
    [attr.ATTR_MESSAGING_OPERATION_TYPE]: operation,
    [attr.ATTR_MESSAGING_OPERATION_NAME]: operation,
    [attr.ATTR_MESSAGING_DESTINATION_NAME]: 'invoices',
    [attr.ATTR_MESSAGING_MESSAGE_ID]: 'job-1',
    [attr.ATTR_BULLMQ_JOB_NAME]: 'send-invoice',
    [attr.ATTR_JOB_ENQUEUED_AT]: ENQUEUED_AT,
    ...extra,
  };
}

function rowsOf(span: FinishedSpan, fallback: WorkerIdentity = FALLBACK): LedgerRows {
  const rows = spanToLedgerRows(span, fallback);
  if (rows === undefined) throw new Error('expected ledger rows, got undefined');
  return rows;
}

function attemptRows(extra: Attributes = {}, shape: Omit<SpanShape, 'attributes'> = {}): Required<LedgerRows> {
  const rows = rowsOf(finishedSpan({ ...shape, attributes: processAttributes(extra) }));
  if (rows.attempt === undefined) throw new Error('expected an attempt row');
  return { record: rows.record, attempt: rows.attempt };
}

const ERROR_ATTRIBUTES: Attributes = {
  [attr.ATTR_ERROR_TYPE]: 'PaymentError',
  [attr.ATTR_ERROR_MESSAGE]: 'card declined',
  [attr.ATTR_ERROR_STACK]: 'PaymentError: card declined\n    at charge (billing.ts:10:5)',
};
const ERROR_DETAILS = {
  name: 'PaymentError',
  message: 'card declined',
  stack: 'PaymentError: card declined\n    at charge (billing.ts:10:5)',
};

describe('spanToLedgerRows', () => {
  describe('an attempt span (CONSUMER process)', () => {
    it('maps a completed attempt to its full record row and attempt row', () => {
      expect(rowsOf(finishedSpan({ attributes: processAttributes() }))).to.deep.equal({
        record: {
          id: 'invoices:job-1',
          jobId: 'job-1',
          queueName: 'invoices',
          jobName: 'send-invoice',
          status: 'COMPLETED',
          startedAt: START_MS,
          completedAt: END_MS,
          durationMs: 1234.25,
          errorDetails: null,
          resultSummary: null,
          metadata: null,
          retryCount: 0,
          enqueuedAt: ENQUEUED_AT,
          attempt: 1,
          attemptsStarted: 1,
          outcome: 'completed',
          final: true,
          traceId: TRACE_ID,
          spanId: SPAN_ID,
        },
        attempt: {
          spanId: SPAN_ID,
          traceId: TRACE_ID,
          queueName: 'invoices',
          jobId: 'job-1',
          jobName: 'send-invoice',
          attempt: 1,
          attemptsStarted: 1,
          outcome: 'completed',
          final: true,
          startedAt: START_MS,
          endedAt: END_MS,
          durationMs: 1234.25,
          errorDetails: null,
          serviceName: 'billing-worker',
          hostName: 'worker-7',
          processPid: 1234,
          workerName: 'invoice-worker',
        },
      });
    });

    const cases: readonly (readonly [AttemptOutcome, 'COMPLETED' | 'FAILED' | 'PENDING', boolean])[] = [
      ['completed', 'COMPLETED', true],
      ['retry', 'FAILED', false],
      ['failed', 'FAILED', true],
      ['delayed', 'PENDING', false],
      ['rate-limited', 'PENDING', false],
      ['waiting-children', 'PENDING', false],
      ['waiting', 'PENDING', false],
      ['stalled', 'PENDING', false],
    ];
    for (const [outcome, status, final] of cases) {
      it(`records a ${outcome} attempt as ${status}${final ? ', final' : ''}`, () => {
        const { record, attempt } = attemptRows({
          [attr.ATTR_ATTEMPT_OUTCOME]: outcome,
          [attr.ATTR_ATTEMPT_FINAL]: final,
          [attr.ATTR_ATTEMPT_NUMBER]: 2,
          [attr.ATTR_JOB_ATTEMPTS_STARTED]: 3,
        });
        expect(record).to.deep.include({
          status,
          outcome,
          final,
          attempt: 2,
          retryCount: 1,
          attemptsStarted: 3,
          startedAt: START_MS,
          completedAt: END_MS,
        });
        expect(attempt).to.deep.include({ outcome, final, attempt: 2, attemptsStarted: 3 });
      });
    }

    it('records the error details of a failed attempt on both rows, and the attempt number as retries', () => {
      const { record, attempt } = attemptRows({
        [attr.ATTR_ATTEMPT_OUTCOME]: 'retry',
        [attr.ATTR_ATTEMPT_FINAL]: false,
        [attr.ATTR_ATTEMPT_NUMBER]: 3,
        [attr.ATTR_JOB_ATTEMPTS_STARTED]: 4,
        ...ERROR_ATTRIBUTES,
      });
      expect(record).to.deep.include({
        status: 'FAILED',
        outcome: 'retry',
        final: false,
        attempt: 3,
        retryCount: 2,
        attemptsStarted: 4,
        errorDetails: ERROR_DETAILS,
      });
      expect(attempt.errorDetails).to.deep.equal(ERROR_DETAILS);
    });

    it('leaves the stack out of the error details when the span has none, and an absent message empty', () => {
      expect(
        attemptRows({
          [attr.ATTR_ATTEMPT_OUTCOME]: 'failed',
          [attr.ATTR_ERROR_TYPE]: '_OTHER',
          [attr.ATTR_ERROR_MESSAGE]: 'quota exceeded',
        }).record.errorDetails,
      ).to.deep.equal({ name: '_OTHER', message: 'quota exceeded' });
      expect(
        attemptRows({ [attr.ATTR_ATTEMPT_OUTCOME]: 'failed', [attr.ATTR_ERROR_TYPE]: 'TypeError' }).attempt
          .errorDetails,
      ).to.deep.equal({ name: 'TypeError', message: '' });
    });

    it('reads error details only from error.type: a message or stack without it gives none', () => {
      const { record, attempt } = attemptRows({
        [attr.ATTR_ATTEMPT_OUTCOME]: 'failed',
        [attr.ATTR_ERROR_MESSAGE]: 'card declined',
        [attr.ATTR_ERROR_STACK]: 'Error: card declined',
      });
      expect(record.errorDetails).to.equal(null);
      expect(attempt.errorDetails).to.equal(null);
    });

    it('takes the duration from the duration attribute, else from end minus start', () => {
      expect(attemptRows({ [attr.ATTR_ATTEMPT_DURATION_MS]: 0 }).record.durationMs).to.equal(0);
      for (const duration of [undefined, Number.NaN, Number.POSITIVE_INFINITY, '1234']) {
        const { record, attempt } = attemptRows({ [attr.ATTR_ATTEMPT_DURATION_MS]: duration });
        expect(record.durationMs, String(duration)).to.equal(1500.5);
        expect(attempt.durationMs, String(duration)).to.equal(1500.5);
      }
    });

    it('never derives a negative duration from a span that ends before it starts', () => {
      const { record, attempt } = attemptRows(
        { [attr.ATTR_ATTEMPT_DURATION_MS]: undefined },
        { endTime: [1_799_999_999, 0] },
      );
      expect(record.durationMs).to.equal(0);
      expect(attempt).to.deep.include({ durationMs: 0, startedAt: START_MS, endedAt: 1_799_999_999_000 });
      // Nor stores a negative duration attribute as it is.
      expect(attemptRows({ [attr.ATTR_ATTEMPT_DURATION_MS]: -5 }).record.durationMs).to.equal(0);
    });

    it('converts the span times from HrTime to epoch milliseconds, keeping sub-millisecond parts', () => {
      const { record, attempt } = attemptRows(
        {},
        { startTime: [1_700_000_000, 1_500_000], endTime: [1_700_000_002, 0] },
      );
      expect(record).to.deep.include({ startedAt: 1_700_000_000_001.5, completedAt: 1_700_000_002_000 });
      expect(attempt).to.deep.include({ startedAt: 1_700_000_000_001.5, endedAt: 1_700_000_002_000 });
    });

    it('counts an attempt without a usable number as attempt 1 with no retries', () => {
      for (const number of [undefined, 0, -3, 1.5, '2', Number.MAX_SAFE_INTEGER + 1]) {
        const { record, attempt } = attemptRows({ [attr.ATTR_ATTEMPT_NUMBER]: number });
        expect(record, String(number)).to.deep.include({ attempt: 1, retryCount: 0 });
        expect(attempt.attempt, String(number)).to.equal(1);
      }
    });

    it('records attemptsStarted 0 when the span does not carry a usable count', () => {
      for (const started of [undefined, -2]) {
        const { record, attempt } = attemptRows({ [attr.ATTR_JOB_ATTEMPTS_STARTED]: started });
        expect(record.attemptsStarted, String(started)).to.equal(0);
        expect(attempt.attemptsStarted, String(started)).to.equal(0);
      }
    });

    it('calls an attempt final only when the final attribute is the boolean true', () => {
      expect(attemptRows({ [attr.ATTR_ATTEMPT_FINAL]: undefined }).record.final).to.equal(false);
      expect(attemptRows({ [attr.ATTR_ATTEMPT_FINAL]: 'true' }).record.final).to.equal(false);
      expect(attemptRows({ [attr.ATTR_ATTEMPT_FINAL]: 1 }).attempt.final).to.equal(false);
    });

    it('leaves the job name, enqueue time and worker name null when the span lacks them', () => {
      const { record, attempt } = attemptRows({
        [attr.ATTR_BULLMQ_JOB_NAME]: undefined,
        [attr.ATTR_JOB_ENQUEUED_AT]: undefined,
        [attr.ATTR_BULLMQ_WORKER_NAME]: undefined,
      });
      expect(record).to.deep.include({ jobName: null, enqueuedAt: null });
      expect(attempt).to.deep.include({ jobName: null, workerName: null });
    });

    it('takes the worker identity from the span resource', () => {
      expect(attemptRows().attempt).to.deep.include({
        serviceName: 'billing-worker',
        hostName: 'worker-7',
        processPid: 1234,
        workerName: 'invoice-worker',
      });
    });

    it('falls back to the given identity for host and pid when the resource lacks them (no fallback service name)', () => {
      expect(attemptRows({}, { resource: {} }).attempt).to.deep.include({
        serviceName: null,
        hostName: 'fallback-host',
        processPid: 4242,
      });
      expect(attemptRows({}, { resource: { 'host.name': 42, 'process.pid': '1234' } }).attempt).to.deep.include({
        hostName: 'fallback-host',
        processPid: 4242,
      });
      const unknown = rowsOf(finishedSpan({ attributes: processAttributes(), resource: {} }), {
        hostName: null,
        processPid: null,
      });
      expect(unknown.attempt).to.deep.include({ serviceName: null, hostName: null, processPid: null });
    });
  });

  describe('a PRODUCER span', () => {
    for (const operation of [attr.OPERATION_SEND, attr.OPERATION_CREATE]) {
      it(`maps a ${operation} span to a PENDING record and no attempt row`, () => {
        const rows = rowsOf(finishedSpan({ kind: SpanKind.PRODUCER, attributes: producerAttributes(operation) }));
        expect(rows).to.not.have.property('attempt');
        expect(rows.record).to.deep.equal({
          id: 'invoices:job-1',
          jobId: 'job-1',
          queueName: 'invoices',
          jobName: 'send-invoice',
          status: 'PENDING',
          startedAt: null,
          completedAt: null,
          durationMs: null,
          errorDetails: null,
          resultSummary: null,
          metadata: null,
          retryCount: 0,
          enqueuedAt: ENQUEUED_AT,
          attempt: 0,
          attemptsStarted: 0,
          outcome: null,
          final: false,
          traceId: null,
          spanId: null,
        });
      });
    }

    it('takes the enqueue time from the span end when the job timestamp is missing', () => {
      const rows = rowsOf(
        finishedSpan({
          kind: SpanKind.PRODUCER,
          attributes: producerAttributes(attr.OPERATION_SEND, { [attr.ATTR_JOB_ENQUEUED_AT]: undefined }),
        }),
      );
      expect(rows.record.enqueuedAt).to.equal(END_MS);
    });

    it('ignores attempt, error and opt-in attributes on a producer span', () => {
      const rows = rowsOf(
        finishedSpan({
          kind: SpanKind.PRODUCER,
          attributes: producerAttributes(attr.OPERATION_SEND, {
            [attr.ATTR_ATTEMPT_OUTCOME]: 'completed',
            [attr.ATTR_ATTEMPT_FINAL]: true,
            [attr.ATTR_ATTEMPT_NUMBER]: 3,
            [attr.ATTR_JOB_METADATA]: '{"tenant":"t1"}',
            [attr.ATTR_JOB_RESULT_SUMMARY]: '{"ok":true}',
            ...ERROR_ATTRIBUTES,
          }),
        }),
      );
      expect(rows.record).to.deep.include({
        status: 'PENDING',
        attempt: 0,
        outcome: null,
        final: false,
        errorDetails: null,
        metadata: null,
        resultSummary: null,
      });
    });
  });

  describe('spans the ledger does not keep', () => {
    it('gives undefined for a span of another instrumentation scope', () => {
      const span = finishedSpan({ attributes: processAttributes(), scope: '@opentelemetry/instrumentation-ioredis' });
      expect(spanToLedgerRows(span, FALLBACK)).to.equal(undefined);
    });

    it('gives undefined for a job span without a (string) job id', () => {
      for (const id of [undefined, 7, '']) {
        const span = finishedSpan({ attributes: processAttributes({ [attr.ATTR_MESSAGING_MESSAGE_ID]: id }) });
        expect(spanToLedgerRows(span, FALLBACK), String(id)).to.equal(undefined);
      }
      const producer = finishedSpan({
        kind: SpanKind.PRODUCER,
        attributes: producerAttributes(attr.OPERATION_SEND, { [attr.ATTR_MESSAGING_MESSAGE_ID]: undefined }),
      });
      expect(spanToLedgerRows(producer, FALLBACK)).to.equal(undefined);
    });

    it('gives undefined for a job span without a queue name', () => {
      for (const queue of [undefined, '']) {
        const span = finishedSpan({
          attributes: processAttributes({ [attr.ATTR_MESSAGING_DESTINATION_NAME]: queue }),
        });
        expect(spanToLedgerRows(span, FALLBACK), String(queue)).to.equal(undefined);
      }
      const producer = finishedSpan({
        kind: SpanKind.PRODUCER,
        attributes: producerAttributes(attr.OPERATION_SEND, { [attr.ATTR_MESSAGING_DESTINATION_NAME]: '' }),
      });
      expect(spanToLedgerRows(producer, FALLBACK)).to.equal(undefined);
    });

    it('gives undefined for the CLIENT batch send span of addBulk or a flow, even with a message id', () => {
      const batch: Attributes = {
        [attr.ATTR_MESSAGING_SYSTEM]: attr.MESSAGING_SYSTEM_BULLMQ,
        [attr.ATTR_MESSAGING_OPERATION_TYPE]: attr.OPERATION_SEND,
        [attr.ATTR_MESSAGING_OPERATION_NAME]: attr.OPERATION_SEND,
        [attr.ATTR_MESSAGING_DESTINATION_NAME]: 'invoices',
        [attr.ATTR_MESSAGING_BATCH_MESSAGE_COUNT]: 3,
      };
      expect(spanToLedgerRows(finishedSpan({ kind: SpanKind.CLIENT, attributes: batch }), FALLBACK)).to.equal(
        undefined,
      );
      const withId = { ...batch, [attr.ATTR_MESSAGING_MESSAGE_ID]: 'job-1' };
      expect(spanToLedgerRows(finishedSpan({ kind: SpanKind.CLIENT, attributes: withId }), FALLBACK)).to.equal(
        undefined,
      );
    });

    it('gives undefined for a span whose kind does not match its operation', () => {
      const consumerSend = finishedSpan({
        kind: SpanKind.CONSUMER,
        attributes: producerAttributes(attr.OPERATION_SEND),
      });
      const producerProcess = finishedSpan({ kind: SpanKind.PRODUCER, attributes: processAttributes() });
      expect(spanToLedgerRows(consumerSend, FALLBACK)).to.equal(undefined);
      expect(spanToLedgerRows(producerProcess, FALLBACK)).to.equal(undefined);
    });

    it('gives undefined for a process span without a known outcome', () => {
      for (const outcome of [undefined, 'exploded', 'COMPLETED']) {
        const span = finishedSpan({ attributes: processAttributes({ [attr.ATTR_ATTEMPT_OUTCOME]: outcome }) });
        expect(spanToLedgerRows(span, FALLBACK), String(outcome)).to.equal(undefined);
      }
    });
  });

  describe('hostile values', () => {
    it('replaces NUL characters and lone surrogates in ids, names and error text with U+FFFD', () => {
      const { record, attempt } = attemptRows({
        [attr.ATTR_MESSAGING_DESTINATION_NAME]: 'inv\u0000oices',
        [attr.ATTR_MESSAGING_MESSAGE_ID]: 'job\u0000-\ud800-1',
        [attr.ATTR_BULLMQ_JOB_NAME]: 'send\udc00invoice',
        [attr.ATTR_BULLMQ_WORKER_NAME]: 'w\u0000',
        [attr.ATTR_ATTEMPT_OUTCOME]: 'failed',
        [attr.ATTR_ERROR_TYPE]: 'Pay\u0000Error',
        [attr.ATTR_ERROR_MESSAGE]: 'half \ud800 pair',
        [attr.ATTR_ERROR_STACK]: 'stack\u0000\udfff',
      });
      expect(record).to.deep.include({
        id: 'inv\uFFFDoices:job\uFFFD-\uFFFD-1',
        queueName: 'inv\uFFFDoices',
        jobId: 'job\uFFFD-\uFFFD-1',
        jobName: 'send\uFFFDinvoice',
        errorDetails: { name: 'Pay\uFFFDError', message: 'half \uFFFD pair', stack: 'stack\uFFFD\uFFFD' },
      });
      expect(attempt).to.deep.include({
        queueName: 'inv\uFFFDoices',
        jobId: 'job\uFFFD-\uFFFD-1',
        jobName: 'send\uFFFDinvoice',
        workerName: 'w\uFFFD',
        errorDetails: { name: 'Pay\uFFFDError', message: 'half \uFFFD pair', stack: 'stack\uFFFD\uFFFD' },
      });
    });

    it('keeps valid surrogate pairs (emoji) and other Unicode as they are', () => {
      const { record } = attemptRows({
        [attr.ATTR_MESSAGING_MESSAGE_ID]: 'ジョブ-😀',
        [attr.ATTR_BULLMQ_JOB_NAME]: 'name 🚀',
      });
      expect(record).to.deep.include({ id: 'invoices:ジョブ-😀', jobId: 'ジョブ-😀', jobName: 'name 🚀' });
    });

    it('makes the job id and name of a producer span safe too', () => {
      const rows = rowsOf(
        finishedSpan({
          kind: SpanKind.PRODUCER,
          attributes: producerAttributes(attr.OPERATION_CREATE, {
            [attr.ATTR_MESSAGING_MESSAGE_ID]: 'nul\u0000inside',
            [attr.ATTR_BULLMQ_JOB_NAME]: '\udbff',
          }),
        }),
      );
      expect(rows.record).to.deep.include({
        id: 'invoices:nul\uFFFDinside',
        jobId: 'nul\uFFFDinside',
        jobName: '\uFFFD',
      });
    });

    it('parses the opt-in result summary and metadata JSON strings into values', () => {
      const { record } = attemptRows({
        [attr.ATTR_JOB_RESULT_SUMMARY]: '{"charged":12.5,"items":[1,"two",null],"ok":true}',
        [attr.ATTR_JOB_METADATA]: '{"tenant":"t1","tags":["a","b"]}',
      });
      expect(record.resultSummary).to.deep.equal({ charged: 12.5, items: [1, 'two', null], ok: true });
      expect(record.metadata).to.deep.equal({ tenant: 't1', tags: ['a', 'b'] });
    });

    it('parses JSON scalars and the truncated envelope of an oversized value', () => {
      expect(attemptRows({ [attr.ATTR_JOB_RESULT_SUMMARY]: '42' }).record.resultSummary).to.equal(42);
      expect(attemptRows({ [attr.ATTR_JOB_RESULT_SUMMARY]: '"done"' }).record.resultSummary).to.equal('done');
      expect(attemptRows({ [attr.ATTR_JOB_RESULT_SUMMARY]: 'null' }).record.resultSummary).to.equal(null);
      expect(
        attemptRows({ [attr.ATTR_JOB_RESULT_SUMMARY]: '{"truncated":true,"preview":"{\\"blob\\":\\"zz"}' }).record
          .resultSummary,
      ).to.deep.equal({ truncated: true, preview: '{"blob":"zz' });
    });

    it('replaces NUL characters and lone surrogates in parsed JSON strings and keys', () => {
      const { record } = attemptRows({
        [attr.ATTR_JOB_METADATA]:
          '{"lone":"half \\ud800 pair","nul":"a\\u0000b","k\\u0000ey":["\\udc00",{"x":"\\ud83d\\ude00"}]}',
      });
      expect(record.metadata).to.deep.equal({
        lone: 'half \uFFFD pair',
        nul: 'a\uFFFDb',
        'k\uFFFDey': ['\uFFFD', { x: '😀' }],
      });
    });

    it('keeps an unparsable opt-in value as a safe JSON string', () => {
      const { record } = attemptRows({
        [attr.ATTR_JOB_RESULT_SUMMARY]: '{"cut": "off',
        [attr.ATTR_JOB_METADATA]: 'plain\u0000text \ud800',
      });
      expect(record.resultSummary).to.equal('{"cut": "off');
      expect(record.metadata).to.equal('plain\uFFFDtext \uFFFD');
    });

    it('stores null for opt-in attributes that are absent or not strings', () => {
      const { record } = attemptRows({ [attr.ATTR_JOB_RESULT_SUMMARY]: 42, [attr.ATTR_JOB_METADATA]: ['a', 'b'] });
      expect(record).to.deep.include({ resultSummary: null, metadata: null });
      expect(attemptRows().record).to.deep.include({ resultSummary: null, metadata: null });
    });
  });
});
