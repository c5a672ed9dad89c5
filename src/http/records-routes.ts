// Signed agent records over HTTP. Public, no authentication (relying parties fetch them):
//   GET /.well-known/jwks.json                  the record signing keys (public members only)
//   GET /.well-known/agentroster/status-list    the signed revocation list (application/jwt)
// Under /scim/v2, with the scim.read scope:
//   GET /Agents/{id}/record                     the agent's current signed record (application/jwt)

import { createHash } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { JWKS_PATH, STATUS_LIST_PATH } from '../agents/records/format.js';
import { attestationOf } from '../records/issuer.js';
import type { Records } from '../records/index.js';
import { notFound } from '../scim/errors.js';
import type { Store } from '../store/types.js';
import { requireScope } from './auth.js';

export interface RecordRouters {
  /** mounted at the server root, before authentication */
  wellKnown: Router;
  /** mounted inside /scim/v2, after authentication and before the resource routes */
  scim: Router;
}

/** JWKS: clients refetch on an unknown kid; a new key is used immediately after a rotation. */
export const JWKS_MAX_AGE_S = 300;
/** Status list: short, so that a revocation reaches relying parties quickly. */
export const STATUS_LIST_MAX_AGE_S = 60;

function sendCached(req: Request, res: Response, body: string, type: string, maxAge: number): void {
  const etag = `"${createHash('sha256').update(body).digest('base64url')}"`;
  res.setHeader('Cache-Control', `public, max-age=${maxAge}`);
  res.setHeader('ETag', etag);
  res.setHeader('Access-Control-Allow-Origin', '*');
  const inm = req.get('if-none-match');
  if (inm !== undefined && inm.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}` || t.trim() === '*')) {
    res.status(304).end();
    return;
  }
  res.status(200).setHeader('Content-Type', type);
  res.send(Buffer.from(body, 'utf8'));
}

export function recordRouters(records: Records, store: Store): RecordRouters {
  const wellKnown = Router();
  wellKnown.get(JWKS_PATH, async (req, res) => {
    sendCached(req, res, JSON.stringify(await records.keys.jwks()), 'application/jwk-set+json', JWKS_MAX_AGE_S);
  });
  wellKnown.get(STATUS_LIST_PATH, async (req, res) => {
    const list = await records.statusList.current();
    sendCached(req, res, list.jwt, 'application/jwt', Math.min(STATUS_LIST_MAX_AGE_S, records.statusList.secondsLeft(list)));
  });

  const scim = Router({ caseSensitive: false });
  scim.get('/Agents/:id/record', async (req, res) => {
    requireScope(req, 'scim.read');
    const id = req.params.id as string;
    const row = await store.get('Agent', id);
    if (!row) throw notFound(`Agent "${id}" not found`);
    const att = attestationOf(row.data);
    if (!att) throw notFound(`Agent "${id}" has no signed record yet (it is signed on its next change or renewal)`);
    res.setHeader('Cache-Control', 'private, no-cache');
    res.setHeader('ETag', `W/"${row.version}"`);
    res.status(200).setHeader('Content-Type', 'application/jwt');
    res.send(Buffer.from(att.recordJws, 'utf8'));
  });
  return { wellKnown, scim };
}
