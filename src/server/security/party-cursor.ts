// A receiving party's paging cursor, kept here and named by a random token. The store's own cursor
// names the last row a page read, and for a party that may be one withheld from it: its id and time
// would tell the party that the resource exists.
import { randomUUID } from 'node:crypto';
import { FhirError } from '../../shared/outcome.ts';
import { rows } from './schema.ts';

type Db = { query(sql: string, params?: unknown[]): Promise<unknown> };

/** How long a party's next link can be followed. */
const CURSOR_LIFETIME_MS = 60 * 60 * 1000;

/** Keeps the store's `cursor` for `client`; the token its next link carries instead. Times are the facade's clock. */
export async function keepPartyCursor(
  db: Db,
  client: string,
  cursor: string,
  now = Date.now(),
): Promise<string> {
  const token = randomUUID();
  await db.query('DELETE FROM security_cursor WHERE expires < to_timestamp($1::float8 / 1000)', [now]);
  await db.query(
    'INSERT INTO security_cursor (token, client, cursor, expires) VALUES ($1, $2, $3, to_timestamp($4::float8 / 1000))',
    [token, client, cursor, now + CURSOR_LIFETIME_MS],
  );
  return token;
}

/** The store's cursor a token `client` was given names; 400 naming `_cursor` for any other text. */
export async function partyCursor(db: Db, client: string, token: string, now = Date.now()): Promise<string> {
  const [kept] = await rows<{ cursor: string }>(
    db,
    'SELECT cursor FROM security_cursor WHERE token = $1 AND client = $2 AND expires > to_timestamp($3::float8 / 1000)',
    [token, client, now],
  );
  if (!kept)
    throw FhirError.badRequest("Invalid value for '_cursor': not a cursor issued by this server", '_cursor');
  return kept.cursor;
}
