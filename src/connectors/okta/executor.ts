// The SDK request executor of the Okta connector. @okta/okta-sdk-nodejs ignores `maxRetries` given
// to `new Client()` (okta.md §3): retries are configured here, on a DefaultRequestExecutor subclass,
// and every request — typed API calls, collections, raw `client.http` — goes through the pacer
// (pacer.ts): concurrency ceiling, header budgets, and the post-429 gate. A 429 is retried by waiting
// until its Reset (server clock, from the Date header) like the SDK does, but the wait holds every
// other request too, and duplicated rate-limit headers (OKTA-112507) no longer disable the retry.

import { DefaultRequestExecutor, RequestExecutor } from '@okta/okta-sdk-nodejs';
import { familyOf, RatePacer, rateHeadersOf } from './pacer.js';

interface FetchResponse {
  status: number;
  headers: { get(name: string): string | null };
}

interface SdkRequest {
  url: string;
  method?: string;
  headers?: Record<string, unknown>;
  timeout?: number;
  startTime?: Date;
}

export interface ExecutorCounters {
  reads: number;
  writes: number;
  throttled: number;
  retries: number;
}

const OWN_IDS = 100_000;

export class PacedExecutor extends DefaultRequestExecutor {
  readonly pacer: RatePacer;
  readonly counters: ExecutorCounters = { reads: 0, writes: 0, throttled: 0, retries: 0 };
  /**
   * X-Okta-Request-Id of our own successful writes (the latest 100 000): the System Log's
   * `transaction.id` of the events they caused, so that our own changes are not read back as news.
   */
  readonly #own = new Set<string>();

  isOwnRequest(requestId: string | undefined): boolean {
    return requestId !== undefined && this.#own.has(requestId);
  }

  #remember(requestId: string | null): void {
    if (!requestId) return;
    this.#own.add(requestId);
    if (this.#own.size > OWN_IDS) {
      const first = this.#own.values().next().value;
      if (first !== undefined) this.#own.delete(first);
    }
  }

  constructor(o: { maxRetries: number; requestTimeoutMs: number; maxConcurrent: number }) {
    super({ maxRetries: o.maxRetries, requestTimeout: o.requestTimeoutMs });
    this.pacer = new RatePacer({ maxConcurrent: o.maxConcurrent });
  }

  override fetch(requestIn: Parameters<RequestExecutor['fetch']>[0]): ReturnType<RequestExecutor['fetch']> {
    return this.#fetch(requestIn as unknown as SdkRequest) as unknown as ReturnType<RequestExecutor['fetch']>;
  }

  async #fetch(request: SdkRequest): Promise<FetchResponse> {
    const method = (request.method ?? 'GET').toUpperCase();
    const family = familyOf(method, request.url);
    for (let attempt = 0; ; attempt++) {
      const release = await this.pacer.acquire(family);
      // node-fetch's per-request timeout (0: none); set again on every attempt
      request.timeout = this.requestTimeout;
      if (method === 'GET') this.counters.reads++;
      else this.counters.writes++;
      let res: FetchResponse;
      try {
        res = (await RequestExecutor.prototype.fetch.call(this, request as never)) as unknown as FetchResponse;
      } finally {
        release();
      }
      const wait = this.pacer.observe(family, rateHeadersOf(res.status, (n) => res.headers.get(n)));
      if (res.status !== 429) {
        if (method !== 'GET' && res.status < 400) this.#remember(res.headers.get('x-okta-request-id'));
        return res;
      }
      this.counters.throttled++;
      if (attempt >= this.maxRetries) return res;
      await (res as { text?: () => Promise<string> }).text?.().catch(() => '');
      // the SDK's own events and headers, so that logs and the org's request log read the same
      const requestId = res.headers.get('x-okta-request-id') ?? '';
      this.emit('backoff', request, res, requestId, wait);
      this.counters.retries++;
      request.headers = { ...request.headers, [this.retryCountHeader]: attempt + 1 };
      if (requestId && !request.headers[this.retryForHeader]) request.headers[this.retryForHeader] = requestId;
      this.emit('resume', request, requestId);
      // the next acquire() waits for the gate the 429 closed
    }
  }
}
