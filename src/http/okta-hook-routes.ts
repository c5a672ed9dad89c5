// Okta event hooks, outside /scim/v2 (mounted at /hooks/okta when the okta target runs and
// AGENTROSTER_OKTA_EVENT_HOOK_SECRET is set; docs/okta.md "Event hook"):
//
//   GET  /hooks/okta   the one-time verification: echoes x-okta-verification-challenge as
//                      {"verification": "…"}
//   POST /hooks/okta   a delivery {eventType:"com.okta.event_hook", eventId, data:{events:[…]}};
//                      answered 200 at once (Okta waits 3 s, retries once), processed afterwards
//
// Both must carry the shared secret in the configured header (Okta: the hook's authScheme, type
// HEADER, default header Authorization). It is compared in constant time; a wrong or missing secret
// gets 401 (Okta does not retry 4xx). The secret never appears in logs or answers.

import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import type { Logger } from 'pino';

export interface HookReceiver {
  accept(body: unknown): Promise<{ accepted: number; duplicates: number; ignored: number }>;
}

export interface OktaHookRouteOptions {
  receiver: HookReceiver;
  secret: string;
  /** header carrying the secret (default Authorization) */
  header?: string;
  logger?: Logger;
  maxBodyBytes?: number;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function oktaHookRouter(o: OktaHookRouteOptions): Router {
  const r = Router();
  const header = (o.header ?? 'Authorization').toLowerCase();
  const want = digest(o.secret);
  const log = o.logger?.child({ component: 'okta-hooks' });

  const authenticated = (req: Request, res: Response, next: NextFunction) => {
    const got = req.get(header);
    if (got === undefined || !timingSafeEqual(digest(got), want)) {
      log?.warn({ requestId: req.requestId, ip: req.ip, hasHeader: got !== undefined }, 'Okta event hook request refused: wrong or missing secret');
      res.status(401).json({ error: 'unauthorized', detail: `the ${o.header ?? 'Authorization'} header does not carry the event hook secret` });
      return;
    }
    next();
  };

  r.get('/', authenticated, (req, res) => {
    const challenge = req.get('x-okta-verification-challenge');
    if (!challenge) {
      res.status(400).json({ error: 'bad_request', detail: 'x-okta-verification-challenge header missing' });
      return;
    }
    log?.info('Okta event hook verified');
    res.setHeader('Cache-Control', 'no-store');
    res.json({ verification: challenge });
  });

  r.post('/', authenticated, express.json({ limit: o.maxBodyBytes ?? 1_048_576, type: ['application/json', 'application/*+json'] }), (req, res, next) => {
    o.receiver
      .accept(req.body)
      .then((result) => {
        log?.debug({ requestId: req.requestId, ...result }, 'Okta event hook delivery accepted');
        res.status(200).json({});
      })
      .catch(next);
  });

  r.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    void _next;
    const type = (err as { type?: string } | undefined)?.type;
    if (type === 'entity.parse.failed' || type === 'entity.too.large') {
      res.status(400).json({ error: 'bad_request', detail: type === 'entity.too.large' ? 'body too large' : 'body is not JSON' });
      return;
    }
    log?.error({ requestId: req.requestId, err }, 'Okta event hook delivery failed');
    // 5xx: Okta retries the delivery once
    res.status(500).json({ error: 'internal' });
  });
  return r;
}
