/**
 * Queues and workers for one test, on a queue name of their own, closed and
 * removed after the test (never FLUSHALL: the Redis server is shared).
 */
import { randomUUID } from 'node:crypto';
import type { FlowProducer, Job, Processor, Queue, QueueOptions, Worker, WorkerOptions } from 'bullmq';
import { bullmq } from './bullmq';
import { resetInstrumentationConfig } from './otel';

export const REDIS = { host: '127.0.0.1', port: Number(process.env.REDIS_PORT ?? 6379) };

export function uniqueName(label: string): string {
  return `bl-${label}-${randomUUID().slice(0, 8)}`;
}

type Closable = { close(): Promise<unknown> };

export class QueueFixture {
  readonly name: string;
  readonly queue: Queue;
  private readonly closables: Closable[] = [];

  constructor(label: string, queueOptions: Omit<QueueOptions, 'connection'> = {}) {
    this.name = uniqueName(label);
    this.queue = new bullmq.Queue(this.name, { ...queueOptions, connection: REDIS });
  }

  /** A worker on this queue; fast stalled checks so stall tests do not wait for the 30 s default. */
  worker<R = unknown>(
    processor: Processor<unknown, R, string> | string,
    options: Omit<WorkerOptions, 'connection'> = {},
  ): Worker<unknown, R> {
    const worker = new bullmq.Worker<unknown, R>(this.name, processor, { ...options, connection: REDIS });
    worker.on('error', () => undefined); // errors are asserted where they matter, not logged
    this.closables.push(worker);
    return worker;
  }

  flowProducer(): FlowProducer {
    const producer = new bullmq.FlowProducer({ connection: REDIS });
    this.closables.push(producer);
    return producer;
  }

  async job(id: string): Promise<Job | undefined> {
    return this.queue.getJob(id);
  }

  async close(): Promise<void> {
    for (const closable of this.closables.reverse()) await closable.close();
    await this.queue.obliterate({ force: true });
    await this.queue.close();
  }
}

/** Returns a factory of fixtures that are closed after each test of the calling suite. */
export function queueFixtures() {
  const open: QueueFixture[] = [];
  afterEach(async () => {
    resetInstrumentationConfig();
    await Promise.all(open.splice(0).map((fixture) => fixture.close()));
  });
  return (label: string, queueOptions?: Omit<QueueOptions, 'connection'>): QueueFixture => {
    const fixture = new QueueFixture(label, queueOptions);
    open.push(fixture);
    return fixture;
  };
}
