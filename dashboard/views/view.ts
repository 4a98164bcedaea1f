/** What every view gives the handler: JSON-able data (the /api twin) and its page. */
import type { LedgerQueries } from '../../audit/ledger-queries';
import type { Html } from '../html';
import type { CheckedOptions } from '../options';
import type { PageContext } from './layout';

export interface ViewContext {
  readonly queries: LedgerQueries;
  readonly params: URLSearchParams;
  readonly now: number;
  readonly options: CheckedOptions;
  readonly page: PageContext;
}

export interface ViewResult {
  /** 200 unless the view says otherwise (404 for a job the ledger lacks). */
  readonly status: number;
  readonly data: unknown;
  readonly render: () => Html;
}
