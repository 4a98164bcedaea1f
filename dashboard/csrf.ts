/**
 * CSRF protection for the one action: a random cookie per browser
 * (HttpOnly, SameSite=Strict) and a form token that is an HMAC of it and the
 * action's target, so a token is good only for that browser and that job.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const CSRF_COOKIE = 'bullmq_ledger_csrf';

export class CsrfGuard {
  private readonly secret: Buffer;

  /** `secret`: shared by replicas behind one address; random per process without it. */
  constructor(secret?: string) {
    this.secret = secret === undefined ? randomBytes(32) : Buffer.from(secret, 'utf8');
  }

  /** The browser's cookie value, if it sent a well-formed one. */
  cookieOf(req: IncomingMessage): string | undefined {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [name, value] = part.trim().split('=');
      if (name === CSRF_COOKIE && value !== undefined && /^[A-Za-z0-9_-]{43}$/.test(value)) return value;
    }
    return undefined;
  }

  newCookie(): string {
    return randomBytes(32).toString('base64url');
  }

  setCookieHeader(value: string, path: string): string {
    return `${CSRF_COOKIE}=${value}; Path=${path === '' ? '/' : path}; HttpOnly; SameSite=Strict`;
  }

  token(cookie: string, target: string): string {
    return createHmac('sha256', this.secret).update(`${cookie}\n${target}`).digest('base64url');
  }

  verify(cookie: string | undefined, target: string, token: string | undefined): boolean {
    if (cookie === undefined || token === undefined) return false;
    const expected = Buffer.from(this.token(cookie, target));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
