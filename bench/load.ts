// A small closed-loop HTTP load generator (keep-alive, N concurrent workers), so the benchmark needs
// no external tool. Latencies are per request, in milliseconds.

import http from 'node:http';

export interface LoadSpec {
  url: URL;
  concurrency: number;
  /** stop after this many requests, or when durationMs elapses, whichever first */
  requests: number;
  durationMs: number;
  /** the request for the i-th call */
  request: (i: number) => { method: string; path: string; headers?: Record<string, string>; body?: string };
  /** expected status codes; others count as errors */
  ok?: (status: number) => boolean;
}

export interface LoadResult {
  count: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  latencies: number[];
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const deadline = start + spec.durationMs;
  const ok = spec.ok ?? ((s: number) => s >= 200 && s < 300);

  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const r = spec.request(i);
      const t0 = performance.now();
      const req = http.request(
        {
          agent,
          host: spec.url.hostname,
          port: spec.url.port,
          method: r.method,
          path: r.path,
          headers: { ...(r.body ? { 'content-type': 'application/scim+json', 'content-length': Buffer.byteLength(r.body) } : {}), ...r.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            latencies.push(performance.now() - t0);
            if (!ok(res.statusCode ?? 0)) {
              errors++;
              firstError ??= `${r.method} ${r.path} → ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 300)}`;
            }
            resolve();
          });
        },
      );
      req.on('error', (e) => {
        errors++;
        firstError ??= `${r.method} ${r.path} → ${e.message}`;
        resolve();
      });
      if (r.body) req.write(r.body);
      req.end();
    });

  const worker = async () => {
    for (;;) {
      if (next >= spec.requests || performance.now() > deadline) return;
      await one(next++);
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  agent.destroy();
  const res: LoadResult = { count: latencies.length, errors, elapsedMs: performance.now() - start, latencies };
  if (firstError) res.firstError = firstError;
  return res;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}
