import { AsyncResource } from 'node:async_hooks';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import type { JWTPayload } from 'jose';
import type { Logger } from 'pino';
import { FhirError, issue } from '../../shared/outcome.ts';
import { DEFAULT_FAMILIES } from '../../sync/index.ts';
import { baseUrl } from '../http/negotiation.ts';
import { type Need, entryNeed, needOf } from './access.ts';
import { type AuditRecord, type AuditWriter, readAudit, searchAudit } from './audit.ts';
import { ANONYMOUS, type Principal, runAs } from './context.ts';
import type { ForwardedOrigin } from './forwarded.ts';
import { TURVAKIELTO_SCOPE, allows, parseScopes } from './scopes.ts';
import type { TokenVerifier } from './tokens.ts';

export interface FrontOptions {
  /** Absent when auth is off: every request runs as `anonymous` with every permission. */
  verifier?: TokenVerifier;
  writer: AuditWriter;
  db: { query(sql: string, params?: unknown[]): Promise<unknown> };
  /** The FHIR base for links, e.g. https://host/fhir. */
  fhirBase: () => string;
  /** Requests per client per minute. */
  rateLimit: number;
  bodyLimit: number | string;
  /** Extra routes served before authentication (the embedded authorization server). */
  publicRoutes: express.Router;
  /** The public origin a trusted proxy reports (absent: links keep the configured base). */
  forwarded?: ForwardedOrigin;
  logger: Logger;
}

/** The families the domain API reads and writes. */
const DOMAIN_TYPES = [...Object.keys(DEFAULT_FAMILIES), 'Organization', 'PractitionerRole', 'Practitioner'];
const INTERACTION_ACTION: Record<string, AuditRecord['action']> = {
  create: 'C',
  update: 'U',
  delete: 'D',
  'search-type': 'E',
  transaction: 'E',
  operation: 'E',
};

const refuse = (status: 401 | 403, rule: string, text: string) =>
  new FhirError(status, issue('error', status === 401 ? 'login' : 'forbidden', `${rule}: ${text}`));

/**
 * The security front of the app, mounted before every route: security headers and `no-store`,
 * discovery and token endpoints, bearer-token authentication, per-client rate limiting, the scope
 * check of the interaction the request asks for (each entry of a transaction), the read-only audit
 * log endpoint, and the access context the guarded store reads. Every refusal is audited before it
 * is answered; any other failed request is audited when it finishes.
 */
export function securityFront(opts: FrontOptions): RequestHandler {
  const headers = securityHeaders();
  const limiter = rateLimit({
    windowMs: 60_000,
    limit: opts.rateLimit,
    // draft-7 headers: draft-8's policy header hashes the client key on every request.
    standardHeaders: 'draft-7',
    validate: false,
    legacyHeaders: false,
    keyGenerator: (req, res) =>
      (res.locals.principal as Principal | undefined)?.clientId ?? ipKeyGenerator(req.ip ?? ''),
    handler: (_req, _res, next) =>
      next(
        new FhirError(
          429,
          issue('error', 'throttled', 'sec-rate-1: too many requests; retry after the time in Retry-After'),
        ),
      ),
  });
  const raw = express.raw({ type: () => true, limit: opts.bodyLimit });

  const audit = (
    res: Response,
    p: Principal,
    need: Need,
    outcome: AuditRecord['outcome'],
    detail: string,
  ) => {
    res.locals.audited = true;
    const fhir = need.kind === 'fhir' ? need : undefined;
    return opts.writer.record({
      client: p.clientId,
      ...(p.party ? { party: p.party } : {}),
      ...(p.requestId ? { requestId: p.requestId } : {}),
      interaction:
        fhir?.interaction ??
        (need.kind === 'bundle' ? 'transaction' : need.kind === 'audit' ? 'search-type' : 'operation'),
      action: fhir ? (INTERACTION_ACTION[fhir.interaction] ?? 'R') : 'E',
      outcome,
      detail,
      entities: fhir
        ? [fhir.id ? `${fhir.type}/${fhir.id}` : fhir.type]
        : need.kind === 'audit'
          ? ['AuditEvent']
          : [],
      patients: [],
    });
  };

  // The principal of a verified token, kept as long as the verifier keeps the token's claims.
  const principals = new WeakMap<JWTPayload, Principal>();
  const principalOf = (claims: JWTPayload): Principal => {
    let p = principals.get(claims);
    if (!p) {
      const scope = typeof claims.scope === 'string' ? claims.scope : '';
      const party = typeof claims.tyokyky_party === 'string' ? claims.tyokyky_party : undefined;
      p = {
        clientId: String(claims.client_id ?? claims.sub),
        ...(party ? { party } : {}),
        scopes: parseScopes(scope),
        unrestricted: false,
        turvakielto: scope.split(/\s+/).includes(TURVAKIELTO_SCOPE),
      };
      principals.set(claims, p);
    }
    return p;
  };

  const authenticate = async (req: Request): Promise<Principal> => {
    if (!opts.verifier) return { ...ANONYMOUS, requestId: req.id };
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    if (!token) throw refuse(401, 'sec-auth-1', 'a Bearer access token is required');
    try {
      return { ...principalOf(await opts.verifier.verify(token)), requestId: req.id };
    } catch (err) {
      throw refuse(
        401,
        'sec-auth-2',
        `the access token was rejected (${(err as { code?: string }).code ?? 'invalid'})`,
      );
    }
  };

  const permitted = (p: Principal, need: Need): boolean => {
    if (p.unrestricted) return true;
    if (need.kind === 'fhir') return need.perms.every((perm) => allows(p.scopes, need.type, perm));
    if (need.kind === 'audit')
      return (
        need.method === 'GET' && allows(p.scopes, 'AuditEvent', 'r') && allows(p.scopes, 'AuditEvent', 's')
      );
    if (need.kind === 'domain')
      return DOMAIN_TYPES.every((t) => need.perms.every((perm) => allows(p.scopes, t, perm)));
    return true;
  };

  /** A transaction or batch: every entry's interaction must be permitted, else the whole is refused. */
  const checkBundle = async (req: Request, res: Response, p: Principal) => {
    await new Promise<void>((resolve, reject) =>
      raw(req, res, (err?: unknown) => (err ? reject(err) : resolve())),
    );
    let bundle: { entry?: { request?: { method?: string; url?: string } }[] };
    try {
      bundle = JSON.parse((req.body as Buffer).toString('utf8'));
    } catch {
      return; // the router answers malformed bodies
    }
    for (const [i, entry] of (Array.isArray(bundle?.entry) ? bundle.entry : []).entries()) {
      const need = entryNeed(entry?.request?.method, entry?.request?.url);
      if (!need || need.kind === 'bundle' || need.kind === 'audit' || !permitted(p, need)) {
        await audit(res, p, need ?? { kind: 'bundle' }, '4', `entry ${i} refused`);
        throw new FhirError(
          403,
          issue(
            'error',
            'forbidden',
            `sec-scope-2: entry ${i} (${entry?.request?.method ?? '?'} ${entry?.request?.url?.split('?')[0] ?? '?'}) is outside the granted scopes; nothing was processed`,
            `Bundle.entry[${i}].request`,
          ),
        );
      }
    }
  };

  const serveAudit = async (req: Request, res: Response, need: Extract<Need, { kind: 'audit' }>) => {
    res.locals.route = need.id ? '/fhir/AuditEvent/:id' : '/fhir/AuditEvent';
    const body = need.id
      ? await readAudit(opts.db, need.id)
      : await searchAudit(opts.db, baseUrl(req, opts.fhirBase()), req.query as Record<string, unknown>);
    res.status(200).type('application/fhir+json').send(JSON.stringify(body));
  };

  const front = async (req: Request, res: Response, next: NextFunction) => {
    const need = needOf(req.method, req.path);
    if (need.kind === 'public') return opts.publicRoutes(req, res, next);
    res.setHeader('Cache-Control', 'no-store');
    let p: Principal = { ...ANONYMOUS, clientId: 'unauthenticated', unrestricted: false, requestId: req.id };
    try {
      p = await authenticate(req);
      res.locals.principal = p;
      res.locals.clientId = p.clientId;
      await new Promise<void>((resolve, reject) =>
        limiter(req, res, (err?: unknown) => (err ? reject(err) : resolve())),
      );
      if (need.kind === 'audit' && need.method !== 'GET') {
        throw new FhirError(
          405,
          issue('error', 'not-supported', 'sec-audit-1: the audit log cannot be written through the API'),
        );
      }
      if (!permitted(p, need))
        throw refuse(403, 'sec-scope-1', 'the granted scopes do not permit this interaction');
      if (need.kind === 'bundle' && !p.unrestricted) await checkBundle(req, res, p);
    } catch (err) {
      if (err instanceof FhirError && (err.status === 401 || err.status === 403)) {
        if (err.status === 401)
          res.setHeader('WWW-Authenticate', 'Bearer realm="tyokyky-fhir", error="invalid_token"');
        if (!res.locals.audited)
          await audit(res, p, need, '4', err.outcome.issue?.[0]?.diagnostics ?? String(err.status));
      }
      throw err;
    }
    res.once('finish', () => {
      if (res.statusCode < 400 || res.locals.audited) return;
      audit(res, p, need, res.statusCode >= 500 ? '8' : '4', `answered ${res.statusCode}`).catch((e) =>
        opts.logger.error({ err: e, reqId: req.id }, 'audit row of a failed request could not be written'),
      );
    });
    if (need.kind === 'audit') return runAs(p, () => serveAudit(req, res, need));
    // Body parsers call `next` from stream events, outside this request's async context: bind them.
    // A request without a body has no such events (the parsers go on at once), and binding costs an
    // async resource per request (measured: up to a fifth of a cached read's CPU).
    const hasBody =
      req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
    runAs(p, () => {
      if (hasBody) req.emit = AsyncResource.bind(req.emit.bind(req));
      next();
    });
  };

  return (req, res, next) => {
    // Read by every link builder (http/negotiation.ts baseUrl) for this request.
    const origin = opts.forwarded?.(req);
    if (origin) res.locals.forwardedOrigin = origin;
    headers(res);
    front(req, res, next).catch(next);
  };
}

/**
 * helmet's headers (CSP `default-src 'none'`, nosniff, frame-ancestors none…), worked out once: the
 * set is the same for every response, so helmet runs at start-up against a recorder and each
 * response gets the recorded headers (running helmet's eleven middlewares per request cost about a
 * tenth of a cached read).
 */
function securityHeaders(): (res: Response) => void {
  const recorder = new HeaderRecorder(new IncomingMessage(new Socket()));
  let failed: unknown;
  helmet({
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  })(recorder.req, recorder, (err?: unknown) => {
    failed = err;
  });
  const set = Object.entries(recorder.getHeaders()).filter(
    (h): h is [string, string | number | string[]] => h[1] !== undefined,
  );
  if (failed || !set.length) throw new Error('sec-head-1: the security headers could not be worked out');
  return (res) => {
    for (const [name, value] of set) res.setHeader(name, value);
    for (const name of recorder.removed) res.removeHeader(name);
  };
}

/** A response that is never sent, remembering which headers were removed from it. */
class HeaderRecorder extends ServerResponse {
  readonly removed: string[] = [];
  override removeHeader(name: string): void {
    this.removed.push(name);
    super.removeHeader(name);
  }
}
