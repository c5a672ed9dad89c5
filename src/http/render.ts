// Writing SCIM responses: media type, ETag, Location, ListResponse.

import type { Response } from 'express';
import type { ScimError } from '../scim/errors.js';

export const SCIM_MEDIA_TYPE = 'application/scim+json; charset=utf-8';
export const LIST_RESPONSE_URN = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

export function sendScim(res: Response, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.status(status);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  if (body === undefined) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', SCIM_MEDIA_TYPE);
  res.end(JSON.stringify(body));
}

export function sendError(res: Response, err: ScimError): void {
  sendScim(res, err.status, err.toJSON(), err.headers ?? {});
}

export function listResponse(
  resources: unknown[],
  total: number | undefined,
  startIndex: number | undefined,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    schemas: [LIST_RESPONSE_URN],
    ...(total === undefined ? {} : { totalResults: total }),
    ...(startIndex === undefined ? {} : { startIndex }),
    itemsPerPage: resources.length,
    ...extra,
    Resources: resources,
  };
}
