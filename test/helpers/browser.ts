/**
 * Real-browser tests: headless Chromium from Debian's `chromium` package
 * (never a downloaded browser), driven by playwright-core, a small HTTP server
 * for a handler, and a browser context that records what went wrong in its
 * pages (console errors, uncaught errors, Content-Security-Policy violations).
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Launches Debian's Chromium; fails (never skips) when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: install Debian's package (DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium), as .ci/run does`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'] });
}

export interface Served {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `handler` on 127.0.0.1 on a free port. */
export async function serve(handler: http.RequestListener): Promise<Served> {
  const server = http.createServer(handler);
  // Keep-alive sockets of the browser would hold close() until they time out.
  server.keepAliveTimeout = 500;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        server.closeAllConnections();
      }),
  };
}

/** What went wrong in the pages of a context, across every page and navigation. */
export interface PageProblems {
  /** Console messages of type `error` (the browser logs blocked resources and CSP refusals there too). */
  readonly consoleErrors: string[];
  /** Uncaught exceptions in page scripts. */
  readonly pageErrors: string[];
  /** `securitypolicyviolation` events: directive, blocked URI and sample. */
  readonly cspViolations: string[];
}

export interface WatchedContext {
  readonly context: BrowserContext;
  readonly problems: PageProblems;
  readonly newPage: () => Promise<Page>;
  readonly close: () => Promise<void>;
}

const CSP_LISTENER = `document.addEventListener('securitypolicyviolation', (event) => {
  window.__reportCspViolation([event.violatedDirective, event.blockedURI, event.sample].join(' | '));
});`;

/**
 * A browser context whose pages report console errors, uncaught errors and CSP
 * violations (a `securitypolicyviolation` listener added by an init script,
 * reporting through a binding so that nothing is lost when a page navigates).
 */
export async function watchedContext(browser: Browser, options: BrowserContextOptions = {}): Promise<WatchedContext> {
  const context = await browser.newContext(options);
  const problems: PageProblems = { consoleErrors: [], pageErrors: [], cspViolations: [] };
  await context.exposeBinding('__reportCspViolation', (_source, text: unknown) => {
    problems.cspViolations.push(String(text));
  });
  await context.addInitScript({ content: CSP_LISTENER });
  context.on('page', (page) => {
    page.on('console', (message) => {
      if (message.type() === 'error') problems.consoleErrors.push(`${page.url()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.pageErrors.push(`${page.url()}: ${error.message}`));
  });
  return {
    context,
    problems,
    newPage: () => context.newPage(),
    close: () => context.close(),
  };
}

/** Evaluates a JavaScript expression in the page (a string, so that no compiled helper leaks into it). */
export async function inPage(page: Page, expression: string): Promise<unknown> {
  return page.evaluate<unknown>(expression);
}
