/**
 * Executes one Graph operation (a top-level request or a $batch item) after authentication:
 * injected failures for batch items, throttling (write limit, resource-unit quota), routing,
 * permission-checked handlers, and rendering of OData errors. A success carries its RU cost in
 * `x-ms-resource-unit` and, above 0.8 of the quota, `x-ms-throttle-limit-percentage`.
 */
import { randomUUID } from 'node:crypto';
import type { AccessTokenClaims } from './auth.js';
import { GraphError, graphErrorResponse, type GraphResponse } from './errors.js';
import type { Faults, InjectedFailure, LogEntry } from './faults.js';
import { resourceUnitCost } from './resource-units.js';
import { agentIdentityRoutes } from './routes/agent-identities.js';
import { applicationRoutes } from './routes/applications.js';
import type { GraphEnv, OpContext, Route } from './routes/common.js';
import { directoryRoutes } from './routes/directory.js';
import { groupRoutes } from './routes/groups.js';
import { servicePrincipalRoutes } from './routes/service-principals.js';
import { userRoutes } from './routes/users.js';

/** Order matters: casts and functions before `{id}` segments. */
const ROUTES: Route[] = [
  ...agentIdentityRoutes,
  ...servicePrincipalRoutes,
  ...userRoutes,
  ...groupRoutes,
  ...applicationRoutes,
  ...directoryRoutes,
];

export interface Operation {
  method: string;
  path: string;
  version: 'v1.0' | 'beta';
  query: URLSearchParams;
  headers: Record<string, string>;
  body: unknown;
  claims: AccessTokenClaims;
  inBatch: boolean;
}

const INJECTED_CODES: Record<number, [string, string]> = {
  429: ['Request_ThrottledTemporarily', 'Your request is throttled temporarily. Please try after {n} seconds.'],
  500: ['Service_InternalServerError', 'Encountered an internal server error.'],
  502: ['BadGateway', 'Service Unavailable'],
  503: ['serviceNotAvailable', 'The service is temporarily unavailable. Please retry after a delay.'],
  504: ['GatewayTimeout', 'The gateway did not receive a timely response from the upstream server.'],
};

export function injectedResponse(f: InjectedFailure, clientRequestId: string | undefined): GraphResponse {
  const [code, message] = INJECTED_CODES[f.status] ?? ['UnknownError', 'An injected failure.'];
  const headers: Record<string, string> = {};
  if (f.retryAfter !== undefined) headers['retry-after'] = String(f.retryAfter);
  // without a Retry-After the message does not name a wait either
  const text = f.message ?? (f.retryAfter === undefined ? message.replace(/ Please try after \{n\} seconds\./, ' Please try again later.') : message);
  const err = new GraphError(f.status, f.code ?? code, text.replace('{n}', String(f.retryAfter ?? 1)), undefined, headers);
  return graphErrorResponse(err, clientRequestId, randomUUID());
}

export class GraphService {
  constructor(
    readonly env: GraphEnv,
    private readonly faults: Faults,
  ) {}

  /** `entry` is this operation's log entry (from faults.begin). */
  execute(op: Operation, entry: LogEntry): GraphResponse {
    const requestId = randomUUID();
    const clientRequestId = op.headers['client-request-id'];
    const finish = (r: GraphResponse): GraphResponse => {
      r.headers['request-id'] = requestId;
      r.headers['client-request-id'] = clientRequestId ?? requestId;
      return r;
    };
    if (op.inBatch) {
      const failure = this.faults.takeFailure(entry);
      if (failure) return finish(injectedResponse(failure, clientRequestId));
    }
    const cost = resourceUnitCost(op);
    const throttle = this.faults.checkThrottle(entry, cost);
    if (throttle) {
      const err = new GraphError(
        429,
        'Request_ThrottledTemporarily',
        `Your request is throttled temporarily. Please try after ${throttle.retryAfter} seconds.`,
        undefined,
        {
          'retry-after': String(throttle.retryAfter),
          'x-ms-throttle-scope': `Tenant_Application/ReadWrite/${op.claims.appid}/${op.claims.tid}`,
          'x-ms-throttle-information': throttle.information,
        },
      );
      return finish(graphErrorResponse(err, clientRequestId, requestId));
    }
    try {
      const response = this.dispatch(op);
      if (response.status >= 200 && response.status < 300) {
        response.headers['x-ms-resource-unit'] = String(cost);
        const used = this.faults.resourceUnitUsage(entry);
        if (used !== undefined && used > 0.8) response.headers['x-ms-throttle-limit-percentage'] = used.toFixed(2);
      }
      return finish(response);
    } catch (e) {
      if (e instanceof GraphError) return finish(graphErrorResponse(e, clientRequestId, requestId));
      const err = new GraphError(500, 'Service_InternalServerError', `Emulator error: ${(e as Error).message}`);
      return finish(graphErrorResponse(err, clientRequestId, requestId));
    }
  }

  private dispatch(op: Operation): GraphResponse {
    let pathMatched = false;
    for (const r of ROUTES) {
      const m = r.pattern.exec(op.path);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== op.method) continue;
      const ctx: OpContext = {
        method: op.method,
        path: op.path,
        version: op.version,
        query: op.query,
        headers: op.headers,
        body: op.body,
        claims: op.claims,
        env: this.env,
      };
      return r.handler(ctx, m.slice(1));
    }
    if (pathMatched) throw new GraphError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');
    const segment = op.path.split('/').filter(Boolean).pop() ?? '';
    throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${segment}'.`);
  }
}
