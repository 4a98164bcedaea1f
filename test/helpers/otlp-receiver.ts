/** A minimal OTLP/HTTP (JSON) trace receiver: what a collector would get. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly name: string;
  readonly scope: string;
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  private readonly server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url === '/v1/traces' && request.headers['content-type']?.includes('json') === true) {
        this.collect(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}/v1/traces`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private collect(body: unknown): void {
    const resourceSpans = (body as { resourceSpans?: unknown[] }).resourceSpans ?? [];
    for (const resource of resourceSpans as Array<{ scopeSpans?: unknown[] }>) {
      for (const scopeSpans of (resource.scopeSpans ?? []) as Array<{ scope?: { name?: string }; spans?: unknown[] }>) {
        for (const span of (scopeSpans.spans ?? []) as Array<{ traceId: string; spanId: string; name: string }>) {
          this.spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            name: span.name,
            scope: scopeSpans.scope?.name ?? '',
          });
        }
      }
    }
  }
}
