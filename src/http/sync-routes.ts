// Sync health and operations over HTTP (outside /scim/v2):
//   GET  /admin/sync                              health of every target (admin scope)
//   GET  /admin/sync/:target/parked               parked outbox rows with their errors (admin)
//   POST /admin/sync/:target/parked/:seq/retry    requeue one parked row (admin)
//   POST /admin/sync/:target/retry-parked         requeue every parked row of the target (admin)
//   GET  /metrics                                 Prometheus text (admin scope unless metricsPublic)
// Errors use the SCIM error body like the rest of the API.

import express, { type NextFunction, type Request, type Response, Router } from 'express';
import { ScimError } from '../scim/errors.js';
import type { SyncEngine } from '../sync/engine.js';
import type { Store } from '../store/types.js';
import { authenticate, requireScope } from './auth.js';

export interface SyncRouteOptions {
  /** serve /metrics without authentication */
  metricsPublic?: boolean;
}

type Handler = (req: Request, res: Response) => Promise<void> | void;
const wrap = (h: Handler) => (req: Request, res: Response, next: NextFunction) => {
  Promise.resolve()
    .then(() => h(req, res))
    .catch(next);
};

export function syncRouter(engine: SyncEngine, store: Store, o: SyncRouteOptions = {}): Router {
  const r = Router();
  const auth = authenticate(store);

  const metrics: Handler = async (_req, res) => {
    res.setHeader('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.send(await engine.prometheus());
  };
  if (o.metricsPublic) r.get('/metrics', wrap(metrics));
  else
    r.get(
      '/metrics',
      auth,
      wrap((req, res) => {
        requireScope(req, 'admin');
        return metrics(req, res);
      }),
    );

  const admin = Router();
  admin.use(auth);
  admin.use((req, _res, next) => {
    try {
      requireScope(req, 'admin');
      next();
    } catch (e) {
      next(e);
    }
  });
  admin.use(express.json({ limit: 1024 }));
  admin.get(
    '/',
    wrap(async (_req, res) => {
      const targets = await engine.health();
      const status = targets.some((t) => t.status === 'failing') ? 'failing' : targets.some((t) => t.status === 'degraded') ? 'degraded' : 'ok';
      res.json({ status, targets });
    }),
  );
  const targetOf = (req: Request) => {
    const name = String(req.params.target);
    if (!engine.targets.has(name)) throw new ScimError(404, `sync target "${name}" is not configured`);
    return name;
  };
  admin.get(
    '/:target/parked',
    wrap(async (req, res) => {
      const target = targetOf(req);
      const limit = Math.min(1000, Math.max(1, Number(req.query.limit ?? 100) || 100));
      const rows = await store.outbox.list({ target, status: 'parked', limit });
      res.json({ target, parked: rows });
    }),
  );
  admin.post(
    '/:target/parked/:seq/retry',
    wrap(async (req, res) => {
      const target = targetOf(req);
      const seq = Number(req.params.seq);
      if (!Number.isSafeInteger(seq)) throw new ScimError(400, `"${String(req.params.seq)}" is not an outbox sequence number`);
      const row = (await store.outbox.list({ target, status: 'parked', limit: 1000 })).find((x) => x.seq === seq);
      if (!row || !(await store.outbox.requeue(seq))) throw new ScimError(404, `no parked row ${seq} for ${target}`);
      engine.target(target).worker.notify();
      res.json({ requeued: [seq] });
    }),
  );
  admin.post(
    '/:target/retry-parked',
    wrap(async (req, res) => {
      const target = targetOf(req);
      const rows = await store.outbox.list({ target, status: 'parked', limit: 1000 });
      const requeued: number[] = [];
      for (const x of rows) if (await store.outbox.requeue(x.seq)) requeued.push(x.seq);
      engine.target(target).worker.notify();
      res.json({ requeued });
    }),
  );
  r.use('/admin/sync', admin);
  return r;
}
