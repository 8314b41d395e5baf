// What a failed statement may carry out of the store. Both drivers hang the statement's context on
// their errors: PGlite the SQL and every parameter (a whole Patient with its HETU), PostgreSQL the
// failing row in `detail` ("Key (value)=(010181-931P) already exists."), and both quote the offending
// value in the message. Any logger that serialises an error writes all of it, so none of it leaves.
import { FhirError, issue } from '../shared/outcome.ts';

/** The fields PostgreSQL fills with names and codes, never with data values. */
const NAME_FIELDS = ['severity', 'routine', 'schema', 'table', 'column', 'dataType', 'constraint'] as const;

type NameField = (typeof NAME_FIELDS)[number];

/** A quoted fragment of a server message: a value (or an identifier; the name fields keep those). */
const QUOTED = /"(?:[^"]|"")*"|'(?:[^']|'')*'/g;

/**
 * A database error as the store lets it out: the SQLSTATE, PostgreSQL's own names (constraint,
 * table, column…) and its message with every quoted fragment replaced by `"…"`. No parameters,
 * no statement, no `detail`/`where`/`hint`, no cause, and a stack of its own (the driver's stack
 * repeats the message).
 */
export class StoreDatabaseError extends Error {
  override readonly name = 'StoreDatabaseError';
  /** SQLSTATE, e.g. 23505 (unique violation), 40001 (serialization failure). */
  readonly code: string;
  readonly severity?: string;
  readonly routine?: string;
  readonly schema?: string;
  readonly table?: string;
  readonly column?: string;
  readonly dataType?: string;
  readonly constraint?: string;

  constructor(source: DriverError) {
    super(`${source.code}: ${String(source.message).replace(QUOTED, '"…"')}`);
    this.code = source.code;
    for (const field of NAME_FIELDS) {
      const value = source[field];
      if (typeof value === 'string') (this as { -readonly [K in NameField]?: string })[field] = value;
    }
  }
}

type DriverError = { code: string; message: unknown } & Partial<Record<NameField, unknown>>;

/** An error PostgreSQL sent (either driver): a five-character SQLSTATE and a severity. */
function isDriverError(err: unknown): err is DriverError {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; severity?: unknown };
  return typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && typeof e.severity === 'string';
}

/** `err` without the data a driver attached; anything that is not a database error passes unchanged. */
export function storeError(err: unknown): unknown {
  return err instanceof StoreDatabaseError || !isDriverError(err) ? err : new StoreDatabaseError(err);
}

/** SQLSTATEs of a transaction that lost to a concurrent one and may run again: serialization failure, deadlock. */
const CONTENDED = new Set(['40001', '40P01']);

/** Whether `err` is a database error a retry of the whole transaction may get past. */
export function isContended(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONTENDED.has(code);
}

/** What `contendedError` makes: a write that lost to concurrent ones each time it ran (no SQLSTATE left). */
export class ContendedWriteError extends FhirError {}

/** Seconds a client is asked to wait before sending again what `contendedError` refused. */
const RETRY_AFTER_SECONDS = 1;

/**
 * What the caller is told when the database kept choosing its transaction as the one to abort
 * (deadlock, serialization failure) through every retry: 503, `transient`, Retry-After: nothing was
 * written, and the same request sent again may pass.
 */
export function contendedError(): FhirError {
  return new ContendedWriteError(
    503,
    issue(
      'error',
      'transient',
      'The write conflicted with concurrent writes to the same resources and was rolled back; nothing was written. Send it again after the time in Retry-After',
    ),
    { 'Retry-After': String(RETRY_AFTER_SECONDS) },
  );
}

/**
 * Whether `err` is the database running short of a resource for this moment's work (SQLSTATE class 53:
 * e.g. "out of shared memory" when concurrent large batches fill the lock table, too many connections).
 */
export function isShortOfResources(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('53');
}

/** Seconds a client is asked to wait before sending again what `shortOfResourcesError` refused. */
const SHORT_RETRY_AFTER_SECONDS = 5;

/**
 * What the caller is told when the database ran short of a resource (`isShortOfResources`): 503,
 * `transient`, Retry-After — the transaction was rolled back and nothing was written; not a 500, since
 * the request is sound and may pass when the load has passed (or sent in smaller parts).
 */
export function shortOfResourcesError(): FhirError {
  return new FhirError(
    503,
    issue(
      'error',
      'transient',
      'The database is short of resources for this request at the moment (e.g. locks for large concurrent batches); nothing was written. Send it again after the time in Retry-After, or in smaller parts',
    ),
    { 'Retry-After': String(SHORT_RETRY_AFTER_SECONDS) },
  );
}
