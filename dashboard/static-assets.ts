/** The stylesheet and the script, read once and served with ETags. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

export function etagOf(body: string | Buffer): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}

function asset(file: string, contentType: string): Asset {
  const body = readFileSync(join(__dirname, 'static', file));
  return { body, contentType, etag: etagOf(body) };
}

/** By URL path under `/static/`. */
export function loadAssets(): ReadonlyMap<string, Asset> {
  return new Map([
    ['/static/style.css', asset('style.css', 'text/css; charset=utf-8')],
    ['/static/dashboard.js', asset('dashboard.js', 'text/javascript; charset=utf-8')],
  ]);
}
