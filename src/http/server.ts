// The HTTP server around the express app: timeouts and a connection cap so that slow or idle
// clients cannot hold the server (Node's defaults allow 300 s per request and any number of
// sockets), SCIM-style error bodies for the errors Node raises before express sees a request
// (header too large → 431, request timeout → 408), and a listen() that fails loudly.

import http from 'node:http';
import type { Socket } from 'node:net';
import type { RequestListener } from 'node:http';
import type { Logger } from 'pino';
import { ScimError } from '../scim/errors.js';
import { SCIM_MEDIA_TYPE } from './render.js';

export interface ServerLimits {
  /** whole request (headers and body) must arrive within this (Node: requestTimeout) */
  requestTimeoutMs: number;
  /** headers must arrive within this (Node: headersTimeout); at most requestTimeoutMs */
  headersTimeoutMs: number;
  /** an idle keep-alive connection is closed after this (Node: keepAliveTimeout) */
  keepAliveTimeoutMs: number;
  /** open sockets at most; further connections are closed at once (Node: server.maxConnections) */
  maxConnections: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 20_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1_000,
};

export function serverLimitsFromConfig(c: {
  httpRequestTimeoutSeconds: number;
  httpHeadersTimeoutSeconds: number;
  httpKeepAliveTimeoutSeconds: number;
  httpMaxConnections: number;
}): ServerLimits {
  return {
    requestTimeoutMs: Math.round(c.httpRequestTimeoutSeconds * 1000),
    headersTimeoutMs: Math.round(c.httpHeadersTimeoutSeconds * 1000),
    keepAliveTimeoutMs: Math.round(c.httpKeepAliveTimeoutSeconds * 1000),
    maxConnections: c.httpMaxConnections,
  };
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
};

/** The status and SCIM error for an error Node's HTTP parser or timers raised on a connection. */
function clientErrorResponse(err: NodeJS.ErrnoException): ScimError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new ScimError(431, 'the request line and headers are larger than the server accepts (shorten the URL: use POST /.search for long filters)');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return new ScimError(408, 'the request was not received in time');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new ScimError(413, 'chunk extensions are larger than the server accepts');
    default:
      return new ScimError(400, 'the request is not valid HTTP/1.1', 'invalidSyntax');
  }
}

/** Node's own check before it answers a client error: nothing of a response may be on the wire yet. */
function canAnswer(socket: Socket): boolean {
  const pending = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  return socket.writable && !pending?.headersSent;
}

export function createHttpServer(handler: RequestListener, limits: ServerLimits = DEFAULT_SERVER_LIMITS, logger?: Logger): http.Server {
  const requestTimeout = limits.requestTimeoutMs;
  // Node refuses headersTimeout > requestTimeout; a smaller request timeout lowers it.
  const headersTimeout = requestTimeout > 0 ? Math.min(limits.headersTimeoutMs, requestTimeout) : limits.headersTimeoutMs;
  const server = http.createServer(
    {
      requestTimeout,
      headersTimeout,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Timeouts are enforced by a periodic sweep (default every 30 s): sweep often enough that
      // a timeout is kept within about a quarter of its length.
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(Math.min(headersTimeout || 30_000, requestTimeout || 30_000) / 4))),
    },
    handler,
  );
  server.maxConnections = limits.maxConnections;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !canAnswer(socket)) {
      socket.destroy();
      return;
    }
    const e = clientErrorResponse(err);
    // Only the code: the raw bytes (err.rawPacket) are the client's and may hold anything.
    logger?.debug({ status: e.status, code: err.code }, 'connection rejected by the HTTP parser');
    const body = JSON.stringify(e.toJSON());
    socket.end(
      `HTTP/1.1 ${e.status} ${REASONS[e.status] ?? 'Error'}\r\n` +
        `Content-Type: ${SCIM_MEDIA_TYPE}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
    // A client that keeps sending is not owed a graceful close.
    socket.once('finish', () => socket.destroy());
  });
  return server;
}

/** listen() failed in a way the operator can fix (port in use, no permission). */
export class ListenError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ListenError';
  }
}

/** Resolves once listening; rejects with a ListenError that says what to do when the port cannot be bound. */
export function listen(server: http.Server, port: number, host?: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const on = host && host !== '0.0.0.0' && host !== '::' ? ` on ${host}` : '';
      if (err.code === 'EADDRINUSE') {
        reject(new ListenError(`port ${port} is in use${on}: stop the other process or choose another port (--port or AGENTROSTER_PORT)`, err.code));
      } else if (err.code === 'EACCES') {
        reject(new ListenError(`no permission to listen on port ${port}${on} (ports below 1024 need privileges; choose another with --port or AGENTROSTER_PORT)`, err.code));
      } else if (err.code === 'EADDRNOTAVAIL') {
        reject(new ListenError(`cannot listen on port ${port}${on}: the address is not one of this machine's (check AGENTROSTER_HOST)`, err.code));
      } else reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
