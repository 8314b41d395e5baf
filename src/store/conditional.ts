// Conditional create's lookups: If-None-Exist criteria parsed and canonicalised, and the one way the
// store finds current resources by business identifier.
import type { Resource } from '@medplum/fhirtypes';
import { FhirError, issue } from '../shared/outcome.ts';
import { indexedText } from './indexing.ts';
import { escapeValue, tokenAlternatives } from './search-values.ts';
import type { Queryable } from './types.ts';

/**
 * The If-None-Exist criteria (a query string) that match exactly the one business identifier
 * `system|value`: its `\`, `,`, `|` and `$` escaped as a search reads a token (a bare `,` would be
 * an OR), then encoded for a query string. What the sync sends and what the store is given alike.
 */
export function identifierCriteria(system: string, value: string): string {
  return new URLSearchParams({ identifier: `${escapeValue(system)}|${escapeValue(value)}` }).toString();
}

/**
 * Current resources carrying each `(type, system, value)` identifier, in the order of `keys`, in one
 * statement over the identifier index. The one "find by business identifier" of the store.
 */
export async function findByIdentifiers(
  q: Queryable,
  keys: ReadonlyArray<{ type: string; system: string; value: string }>,
): Promise<Resource[][]> {
  if (!keys.length) return [];
  // As the index holds them (a long text by its start and digest).
  const indexed = keys.map((k) => ({
    type: k.type,
    system: indexedText(k.system),
    value: indexedText(k.value),
  }));
  const rows = await q.query<{ resource_type: string; system: string; value: string; content: Resource }>(
    // One index probe per key (LATERAL, kept apart by OFFSET 0): planned as a join, a table without
    // statistics yet (a new database) got a hash join over a scan of every identifier token.
    `SELECT k.resource_type, k.system, k.value, r.content
       FROM (SELECT DISTINCT * FROM unnest($1::text[], $2::text[], $3::text[])) AS u(t, s, v)
       CROSS JOIN LATERAL (
         SELECT t.resource_type, t.system, t.value, t.id FROM search_token t
          WHERE t.resource_type = u.t AND t.param = 'identifier' AND t.value = u.v AND t.system = u.s
          OFFSET 0) k
       JOIN resources r ON r.resource_type = k.resource_type AND r.id = k.id
      WHERE NOT r.deleted`,
    [indexed.map((c) => c.type), indexed.map((c) => c.system), indexed.map((c) => c.value)],
  );
  const byKey = new Map<string, Resource[]>();
  for (const r of rows) {
    const key = `${r.resource_type}\u0000${r.system}\u0000${r.value}`;
    byKey.set(key, [...(byKey.get(key) ?? []), r.content]);
  }
  return indexed.map((c) => byKey.get(`${c.type}\u0000${c.system}\u0000${c.value}`) ?? []);
}

/**
 * For each `(type, system, value)` in order, whether a current resource other than its `self` (its
 * id, for an update) carries it — asked under each value's identifier lock, held until the
 * transaction ends, so a concurrent write of the same value waits and then sees this one's.
 */
export async function identifiersHeld(
  q: Queryable,
  keys: ReadonlyArray<{ type: string; system: string; value: string; self?: string }>,
): Promise<boolean[]> {
  if (!keys.length) return [];
  await lockConditionalKeys(
    q,
    keys.map((k) => identifierLockKey(k.type, k.value)),
  );
  const holders = await findByIdentifiers(q, keys);
  return keys.map((k, j) => (holders[j] ?? []).some((h) => h.id !== k.self));
}

/**
 * The advisory lock a conditional create on `params` holds until its transaction ends (the first of
 * `conditionalLockKeys`): "is it taken?" and the insert are then one step against every other create
 * on the same criteria. Two creates with the same criteria in one batch share it.
 */
export function conditionalLockKey(type: string, params: Record<string, string[]>): string {
  return `ifNoneExist:${type}?${canonicalCriteria(params)}`;
}

/**
 * The lock on one business identifier value of `type`, whatever its system: every conditional create
 * whose criteria name the value (in an `identifier` parameter, any of its alternatives) and every
 * locking `findByIdentifiers` take it, so creates under different criteria that could match one
 * resource (`identifier=s|v`, `identifier=s|v&family=x`, `identifier=t|w,s|v`) are one step after
 * another, never both creating.
 */
export function identifierLockKey(type: string, value: string): string {
  return `identifier:${type}|${value}`;
}

/**
 * Every lock a conditional create on `params` takes: the criteria's own, and one per identifier value
 * they name (the alternatives read as a search reads them: escapes, commas).
 */
export function conditionalLockKeys(type: string, params: Record<string, string[]>): string[] {
  const values = (params.identifier ?? []).flatMap((v) =>
    tokenAlternatives('identifier', v).flatMap((alt) => (alt.value === undefined ? [] : [alt.value])),
  );
  return [conditionalLockKey(type, params), ...values.map((v) => identifierLockKey(type, v))];
}

/**
 * The rounds a `createMany` of `items` runs in, as item indices, and every lock its conditional items
 * take. An item whose criteria name an identifier value that an earlier item names under other
 * criteria goes in the round after that item's (it may match what that one creates); the same
 * criteria go in the first one's round (they make one resource). Items without criteria, and those
 * whose criteria do not parse (refused in their round), are in the first round.
 */
export function identifierRounds(
  items: ReadonlyArray<{ resource: { resourceType?: unknown }; opts?: { ifNoneExist?: string } }>,
): { rounds: number[][]; locks: string[] } {
  const rounds: number[][] = [];
  const locks: string[] = [];
  const roundOfCriteria = new Map<string, number>();
  /** Per identifier lock, the criteria that take it and the round of their items. */
  const claims = new Map<string, Array<{ criteria: string; round: number }>>();
  items.forEach(({ resource, opts }, i) => {
    let round = 0;
    const type = resource.resourceType;
    if (opts?.ifNoneExist !== undefined && typeof type === 'string') {
      let keys: string[] = [];
      try {
        keys = conditionalLockKeys(type, parseCriteria(opts.ifNoneExist, type));
      } catch {
        // refused in its round
      }
      const [criteria, ...identifiers] = keys;
      if (criteria !== undefined) {
        const earlier = identifiers
          .flatMap((k) => claims.get(k) ?? [])
          .filter((c) => c.criteria !== criteria);
        round = roundOfCriteria.get(criteria) ?? Math.max(0, ...earlier.map((c) => c.round + 1));
        roundOfCriteria.set(criteria, round);
        for (const k of identifiers) claims.set(k, [...(claims.get(k) ?? []), { criteria, round }]);
        locks.push(...keys);
      }
    }
    rounds[round] = [...(rounds[round] ?? []), i];
  });
  return { rounds, locks };
}

/** Takes the locks of `keys` (held until the transaction ends) in one statement, in a fixed order. */
export async function lockConditionalKeys(q: Queryable, keys: readonly string[]): Promise<void> {
  if (!keys.length) return;
  // One statement, sorted: two transactions taking overlapping sets never wait on each other in a cycle.
  await q
    .query(
      `SELECT pg_advisory_xact_lock(h) FROM (
       SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k ORDER BY 1) AS locks`,
      [keys],
    )
    .catch((err: unknown) => {
      throw (err as { code?: unknown }).code === OUT_OF_SHARED_MEMORY ? tooManyLocks(keys.length) : err;
    });
}

/** SQLSTATE 53200: here, PostgreSQL's lock table (`max_locks_per_transaction` per connection) is full. */
const OUT_OF_SHARED_MEMORY = '53200';

/**
 * 413 for a write that holds more identifier locks than the database's lock table has room for: one
 * Bundle creating many thousands of resources that carry business identifiers. Nothing is written.
 */
function tooManyLocks(count: number): FhirError {
  return new FhirError(
    413,
    issue(
      'error',
      'too-costly',
      `store-locks-1: the write needs ${count} identifier locks in one transaction, more than the database's lock table holds (PostgreSQL max_locks_per_transaction); nothing was written — send the entries in smaller Bundles`,
    ),
  );
}

/**
 * Resources matching `identifier=system|value` criteria, for all such items at once. Items with
 * other criteria are left out (the caller searches for them one by one).
 */
export async function matchIdentifierCriteria(
  q: Queryable,
  items: Array<{ i: number; type: string; params: Record<string, string[]> }>,
): Promise<Map<number, Resource[]>> {
  const simple = items.flatMap((c) => {
    const ident = c.params.identifier;
    if (Object.keys(c.params).length !== 1 || ident?.length !== 1) return [];
    // As a search reads the value: one alternative, escapes undone.
    const alternatives = tokenAlternatives('identifier', ident[0]);
    const [{ system, value } = {}] = alternatives;
    if (alternatives.length !== 1 || !system || value === undefined) return [];
    return [{ i: c.i, type: c.type, system, value }];
  });
  const found = await findByIdentifiers(q, simple);
  return new Map(simple.map((c, k) => [c.i, found[k]]));
}

/** `identifier=sys|val&status=final` (optionally prefixed `Type?`) → search parameters. */
export function parseCriteria(criteria: string, type: string): Record<string, string[]> {
  let text = criteria.trim();
  const q = text.indexOf('?');
  if (q >= 0) {
    const prefix = text.slice(0, q);
    if (prefix !== type && prefix !== '') {
      throw FhirError.badRequest(`If-None-Exist criteria are for another type than ${type}`, 'If-None-Exist');
    }
    text = text.slice(q + 1);
  }
  const params: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    if (k.startsWith('_') && k !== '_id' && k !== '_lastUpdated') {
      throw FhirError.badRequest(
        `If-None-Exist criteria may not use ${/^_[A-Za-z]{1,32}$/.test(k) ? `'${k}'` : 'that parameter'}`,
        'If-None-Exist',
      );
    }
    params[k] = [...(params[k] ?? []), v];
  }
  if (!Object.keys(params).length) {
    throw FhirError.badRequest('If-None-Exist criteria are empty', 'If-None-Exist');
  }
  return params;
}

export function canonicalCriteria(params: Record<string, string[]>): string {
  return Object.keys(params)
    .sort()
    .map((k) => `${k}=${[...params[k]].sort().join('&')}`)
    .join('&');
}
