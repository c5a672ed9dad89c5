/**
 * Error bodies in the two shapes the emulator speaks:
 * - Microsoft Graph (OData): {error:{code,message,innerError:{date,request-id,client-request-id},details?}}
 *   (https://learn.microsoft.com/graph/errors)
 * - Entra ID token endpoint (AADSTS): {error,error_description,error_codes,timestamp,trace_id,correlation_id}
 *   (https://learn.microsoft.com/entra/identity-platform/reference-error-codes)
 */
import { randomUUID } from 'node:crypto';

export interface GraphResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON body; undefined means no body (204) */
  body?: unknown;
}

export interface ErrorDetail {
  code: string;
  target?: string;
  message?: string;
}

/** Thrown by route handlers; rendered as an OData error. */
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const notFound = (id: string): GraphError =>
  new GraphError(
    404,
    'Request_ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );

export const badRequest = (message: string, details?: ErrorDetail[]): GraphError =>
  new GraphError(400, 'Request_BadRequest', message, details);

export const unsupportedQuery = (message: string): GraphError => new GraphError(400, 'Request_UnsupportedQuery', message);

export const forbidden = (): GraphError =>
  new GraphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');

/** Agent ID FAQ: sequential creates can fail with "400 Bad Request: Object with id {id} not found". */
export const replicationNotFound = (id: string): GraphError => badRequest(`Object with id ${id} not found`);

export const objectConflict = (property: string): GraphError =>
  badRequest(`Another object with the same value for property ${property} already exists.`, [
    { target: property, code: 'ObjectConflict' },
  ]);

export function graphDate(d = new Date()): string {
  return d.toISOString().slice(0, 19);
}

export function graphErrorResponse(err: GraphError, clientRequestId: string | undefined, requestId: string): GraphResponse {
  const error: Record<string, unknown> = {
    code: err.code,
    message: err.message,
    innerError: {
      date: graphDate(),
      'request-id': requestId,
      'client-request-id': clientRequestId ?? requestId,
    },
  };
  if (err.details) error['details'] = err.details;
  return {
    status: err.status,
    headers: { 'content-type': 'application/json', ...err.headers },
    body: { error },
  };
}

/** AADSTS error body as the v2.0 token endpoint returns it (the shape MSAL parses into ServerError). */
export function aadError(
  error: string,
  code: number,
  description: string,
  correlationId: string = randomUUID(),
): Record<string, unknown> {
  const traceId = randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').slice(0, 19) + 'Z';
  return {
    error,
    error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
  };
}
