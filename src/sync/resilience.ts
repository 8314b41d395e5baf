import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  ExponentialBackoff,
  type IBackoff,
  type IBackoffFactory,
  type IRetryBackoffContext,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
} from 'cockatiel';
import { isJsonObject } from '../shared/json-object.ts';
import { FhirError, issue, mostSevereFirst, ruleOf } from '../shared/outcome.ts';
import type { RemoteConfig } from './config.ts';

/**
 * No token from the token endpoint: `transient` when it could not answer (unreachable, timeout, a
 * retryable status, a garbled answer), so the rows wait and are retried like any other network
 * failure; not transient when it refused our credentials or configuration, which another attempt
 * cannot change.
 */
export class TokenError extends FhirError {
  constructor(
    status: number,
    diagnostics: string,
    readonly transient: boolean,
    /** The token endpoint's own HTTP status, when it answered. */
    readonly answered?: number,
  ) {
    super(status, issue('error', 'security', `sync-auth-1: ${diagnostics}`));
    this.name = 'TokenError';
  }
}

/**
 * A 2xx answer to a write that names no usable id (an empty body, `{}`, an OperationOutcome, a
 * portal's page): the remote may have stored the write, so its outcome is unknown — as when the answer
 * is lost on the way back. Transient: what is written again is recognised there (see push/delivery.ts).
 */
export class UnreadableAnswer extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreadableAnswer';
  }
}

/** A non-2xx answer from the remote FHIR server. */
export class RemoteHttpError extends Error {
  /** The remote's OperationOutcome, when it sent one (an object whose issues are a list of objects). */
  readonly outcome: OperationOutcome | undefined;

  constructor(
    readonly status: number,
    readonly method: string,
    readonly url: string,
    outcome: unknown,
    readonly retryAfterMs: number | undefined,
  ) {
    // The remote's diagnostics may quote what we sent (a name, an identifier): the message, which
    // logs and the status show, names only issue codes and elements; `outcome` keeps the whole answer.
    const summary = issueSummary(outcome as OperationOutcome | undefined);
    super(`${method} ${url} → ${status}${summary ? ` (${summary})` : ''}`);
    this.name = 'RemoteHttpError';
    this.outcome = isOutcome(outcome) ? outcome : undefined;
  }
}

function isOutcome(value: unknown): value is OperationOutcome {
  return (
    isJsonObject(value) &&
    value.resourceType === 'OperationOutcome' &&
    Array.isArray(value.issue) &&
    value.issue.every(isJsonObject)
  );
}

/**
 * A stopped row's remote answer as an operator's API shows it (`GET /api/sync/rows`): each issue's severity, code, element and rule
 * (as `diagnostics`), never the remote's own text, which may quote what was sent (a name, a HETU).
 */
export function shownOutcome(o: OperationOutcome | null): OperationOutcome | null {
  if (!o) return o;
  return {
    resourceType: 'OperationOutcome',
    issue: (o.issue ?? []).map((i) => {
      const rule = ruleOf(i);
      return {
        severity: i.severity,
        code: i.code,
        ...(i.expression ? { expression: i.expression } : {}),
        ...(rule ? { diagnostics: rule } : {}),
      };
    }),
  };
}

/** One issue as `severity code at expression (rule)`: what may be shown of it, never its diagnostics. */
export function describeIssue(i: Partial<OperationOutcomeIssue>): string {
  const rule = ruleOf(i);
  const at = Array.isArray(i.expression) && i.expression[0] ? ` at ${i.expression[0]}` : '';
  return `${i.severity ?? 'error'} ${i.code ?? 'unknown'}${at}${rule ? ` (${rule})` : ''}`;
}

/**
 * An OperationOutcome as `severity code at expression (rule)` items, errors first (at most three,
 * then a count), never its diagnostics: what a log line, a status or a row's reason may show of a
 * remote's answer.
 */
export function issueSummary(oo: OperationOutcome | undefined): string {
  // A remote's outcome may have any shape: only its issue objects are read.
  const listed: unknown = isJsonObject(oo) ? oo.issue : undefined;
  const issues = mostSevereFirst<Partial<OperationOutcomeIssue>>(
    (Array.isArray(listed) ? listed : []).filter(isJsonObject),
  );
  const shown = issues.slice(0, 3).map(describeIssue);
  if (issues.length > 3) shown.push(`${issues.length - 3} more`);
  return shown.join('; ');
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** An HTTP status worth another attempt (the remote's or its token endpoint's). */
export const isRetryableStatus = (status: number): boolean => RETRYABLE_STATUS.has(status);

/** Whether the remote answered that the resource is not there (404) or was deleted (410). */
export const isGoneRemotely = (err: unknown): boolean =>
  err instanceof RemoteHttpError && (err.status === 404 || err.status === 410);

/**
 * Why a request got no answer at all, in words (the error itself names neither the timeout nor the
 * circuit); undefined for an answer, or for any other failure.
 */
export function unanswered(err: unknown, timeoutMs: number | undefined): string | undefined {
  if (err instanceof BrokenCircuitError) return 'the remote circuit is open after repeated failures';
  if (err instanceof TaskCancelledError || (err as { name?: string })?.name === 'AbortError')
    return `no answer within ${timeoutMs ?? 'the'} ms of an attempt (--timeout), after every retry`;
  if (err instanceof TypeError) return 'the remote could not be reached (refused or unreachable)';
  return undefined;
}

/**
 * Why every request to the remote is refused alike, whatever it carries: the token endpoint refused
 * our credentials (sync-auth-1), or the remote answered 401 (a token it does not accept). No row is
 * to blame, and no other attempt helps until an operator fixes the credentials. A 403 is not among
 * them: a remote refuses one resource so (a type outside the client's scopes, a rule of its own), and
 * that row is refused (a dead letter) while the rest go. Names the status, never the answer's text.
 * Undefined for any other failure.
 */
export function credentialsRefused(err: unknown): string | undefined {
  if (err instanceof TokenError && !err.transient)
    return err.answered === undefined
      ? err.message
      : `sync-auth-1: the token endpoint refused the credentials (HTTP ${err.answered})`;
  if (err instanceof RemoteHttpError && err.status === 401)
    return `sync-auth-1: the remote answered 401 to ${err.method} (its access token refused)`;
  return undefined;
}

/** Worth another attempt: network failures, per-attempt timeouts, 408/429/5xx, a write answer naming no id. */
export function isTransient(err: unknown): boolean {
  if (err instanceof BrokenCircuitError) return false;
  if (err instanceof RemoteHttpError) return isRetryableStatus(err.status);
  if (err instanceof TokenError) return err.transient;
  if (err instanceof UnreadableAnswer) return true;
  if (err instanceof TaskCancelledError) return true;
  // fetch() rejects with TypeError('fetch failed') on connection errors.
  return err instanceof TypeError || (err as { name?: string })?.name === 'AbortError';
}

/** Seconds or HTTP-date → milliseconds, or undefined. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

type Ctx = IRetryBackoffContext<unknown>;

/**
 * Decorrelated-jitter exponential backoff (cockatiel's), stretched to the server's Retry-After when
 * the last failure carried one.
 */
class RetryAfterBackoff implements IBackoff<Ctx> {
  readonly duration: number;
  private readonly current: IBackoff<Ctx>;

  constructor(
    inner: IBackoffFactory<Ctx>,
    ctx: Ctx,
    private readonly capMs: number,
  ) {
    this.current = inner.next(ctx);
    const error = 'error' in ctx.result ? ctx.result.error : undefined;
    const hinted = error instanceof RemoteHttpError ? error.retryAfterMs : undefined;
    this.duration =
      hinted === undefined ? this.current.duration : Math.max(this.current.duration, Math.min(hinted, capMs));
  }

  next(ctx: Ctx): IBackoff<Ctx> {
    return new RetryAfterBackoff(this.current, ctx, this.capMs);
  }
}

export function buildPolicy(config: RemoteConfig) {
  const r = config.retry ?? {};
  const b = config.breaker ?? {};
  const expo = new ExponentialBackoff({
    initialDelay: r.initialDelayMs ?? 100,
    maxDelay: r.maxDelayMs ?? 5_000,
  });
  const cap = r.maxRetryAfterMs ?? 30_000;
  const retryPolicy = retry(handleWhen(isTransient), {
    maxAttempts: r.maxAttempts ?? 5,
    backoff: { next: (ctx: Ctx) => new RetryAfterBackoff(expo, ctx, cap) },
  });
  const breaker = circuitBreaker(handleWhen(isTransient), {
    halfOpenAfter: b.halfOpenAfterMs ?? 5_000,
    breaker: new ConsecutiveBreaker(b.consecutiveFailures ?? 8),
  });
  const perAttempt = timeout(config.timeoutMs ?? 10_000, TimeoutStrategy.Cooperative);
  // Retries outside, each attempt through the breaker and its own timeout: between the two the caller
  // may look once more before an attempt leaves (RemoteClient.request's `beforeAttempt`).
  return { retryPolicy, attempt: wrap(breaker, perAttempt), breaker };
}
