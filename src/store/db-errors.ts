// What a failed statement may carry out of the store. Both drivers hang the statement's context on
// their errors: PGlite the SQL and every parameter (a whole Patient with its HETU), PostgreSQL the
// failing row in `detail` ("Key (value)=(010181-931P) already exists."), and both quote the offending
// value in the message. Any logger that serialises an error writes all of it, so none of it leaves.

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
