// Running a compiled search: the page of matches in keyset order, the total, and what _include and
// _revinclude bring in.
import { FhirError } from '../shared/outcome.ts';
import { TYPE_RE } from './checks.ts';
import {
  type Include,
  SORT_COLUMN,
  type SortCast,
  type SortKey,
  TABLE_OF_KIND,
  compileSearch,
  encodeCursor,
  sortCast,
} from './search.ts';
import type { Queryable, SearchJsonResult, SearchOptions, SearchParams } from './types.ts';

/** `search` with each match as its stored JSON text, for callers that only pass it on. */
export async function runSearch(
  q: Queryable,
  type: string,
  params: SearchParams,
  opts?: SearchOptions,
): Promise<SearchJsonResult> {
  if (!TYPE_RE.test(type)) throw FhirError.badRequest(`Invalid resource type '${type}'`, 'resourceType');
  const s = compileSearch(type, params, opts);
  const values = [...s.values];
  const bind = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  let where = s.where;
  let from = s.from;
  const k = s.sortAlias;
  const dir = s.desc ? 'DESC' : 'ASC';
  let order = `${k}.last_updated ${dir}, ${k}.id ${dir}`;
  // A `_sort`'s values of each match (`k0`, `k1`, …), as its next cursor carries them.
  let keyColumns = '';
  if (s.cursor && 'lastUpdated' in s.cursor) {
    where += ` AND (${k}.last_updated, ${k}.id) ${s.desc ? '<' : '>'} (${bind(s.cursor.lastUpdated)}::timestamptz, ${bind(s.cursor.id)})`;
  }
  if (s.sort) {
    const keys = sortKeys(s.sort, k, bind);
    // Each match's value of every key, computed once: it orders the matches, and a cursor pages after it.
    from += ` CROSS JOIN LATERAL (SELECT ${keys.map((key) => `${key.value} AS ${key.name}`).join(', ')}) sk`;
    if (s.cursor && 'after' in s.cursor)
      where += ` AND ${keysetAfter(keys, s.cursor.after, s.cursor.id, s.desc, bind)}`;
    order = `${keys.map((key) => `sk.${key.name} ${key.desc ? 'DESC' : 'ASC'} NULLS LAST`).join(', ')}, r.id ${dir}`;
    keyColumns = keys.map((key, i) => `, ${cursorText(`sk.${key.name}`, key.cast)} AS k${i}`).join('');
  }
  // The cursor's timestamp comes as ISO 8601 text: exact, and no Date is built per row.
  const sql = `SELECT r.id, to_json(${k}.last_updated) #>> '{}' AS last_updated, r.content::text AS content${keyColumns} FROM ${from} WHERE ${where}
    ORDER BY ${order} LIMIT ${bind(s.count + 1)} OFFSET ${bind(s.offset)}`;
  const [rows, total] = await Promise.all([
    s.count > 0 ? q.query<PageRow>(sql, values) : [],
    // `_count=0` asks for the count alone (there is nothing else to answer with).
    s.total || s.count === 0
      ? q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s.from} WHERE ${s.where}`, s.values)
      : undefined,
  ]);
  const page = rows.slice(0, s.count);
  const result: SearchJsonResult = {
    ids: page.map((r) => r.id),
    json: page.map((r) => r.content),
    offset: s.offset,
    count: s.count,
    ignored: s.ignored,
  };
  if (total) result.total = total[0].n;
  // Every match is on this first page: the total is known exactly, at no cost.
  else if (rows.length <= s.count && s.offset === 0 && !s.cursor) result.total = page.length;
  if (s.includes.length && page.length) {
    result.included = await runIncludes(
      q,
      type,
      page.map((r) => r.id),
      s.includes,
    );
  }
  if (rows.length > s.count) {
    const lastRow = page[page.length - 1] as PageRow;
    // The one place a search cursor is made: after the page's last match, in the search's order.
    result.nextCursor = s.sort
      ? encodeCursor({
          after: s.sort.map((_, i) => lastRow[`k${i}`] ?? null),
          id: lastRow.id,
          sort: s.sortText as string,
          desc: s.desc,
        })
      : encodeCursor({ lastUpdated: lastRow.last_updated, id: lastRow.id, desc: s.desc });
  }
  return result;
}

/** A row of a page: the match, its last_updated and (for a `_sort`) its value of each key `k0`, `k1`, … */
type PageRow = { id: string; last_updated: string; content: string } & Record<`k${number}`, string | null>;

/** One `_sort` key as SQL: the match's value (`r`, `k` in scope), its column name in `sk`, direction and type. */
interface SortSql {
  name: string;
  value: string;
  desc: boolean;
  cast: SortCast;
}

/**
 * The `_sort` keys' values of a match: `_lastUpdated` its own; a date or number parameter its least
 * value ascending and its greatest descending (R4 search.html: a resource with several values sorts by
 * the one that comes first), null when it has none (it sorts last either way).
 */
function sortKeys(sort: SortKey[], k: 'k' | 'r', bind: (v: unknown) => string): SortSql[] {
  return sort.map((key, i) => {
    const { def, desc } = key;
    const name = `s${i}`;
    if (!def) return { name, value: `${k}.last_updated`, desc, cast: sortCast(key) };
    const column = SORT_COLUMN[def.kind]?.[desc ? 'desc' : 'asc'] as string;
    const value = `(SELECT ${desc ? 'max' : 'min'}(v.${column}) FROM ${TABLE_OF_KIND[def.kind]} v WHERE v.resource_type = r.resource_type AND v.id = r.id AND v.param = ${bind(def.code)})`;
    return { name, value, desc, cast: sortCast(key) };
  });
}

/**
 * The matches strictly after the cursor's (`after`: its value of each key, `id`) in the order the
 * page is sorted by: each key in its direction with nulls last, then the id in the first key's
 * direction. A null value has no non-null value after it, only the other nulls tied with it.
 */
function keysetAfter(
  keys: SortSql[],
  after: Array<string | null>,
  id: string,
  desc: boolean,
  bind: (v: unknown) => string,
): string {
  const ors: string[] = [];
  const ties: string[] = [];
  keys.forEach((key, i) => {
    const column = `sk.${key.name}`;
    const v = after[i] ?? null;
    if (v === null) {
      ties.push(`${column} IS NULL`);
      return;
    }
    const value = `${bind(v)}::${key.cast}`;
    ors.push([...ties, `(${column} ${key.desc ? '<' : '>'} ${value} OR ${column} IS NULL)`].join(' AND '));
    ties.push(`${column} = ${value}`);
  });
  ors.push([...ties, `r.id ${desc ? '<' : '>'} ${bind(id)}`].join(' AND '));
  return `(${ors.map((o) => `(${o})`).join(' OR ')})`;
}

/**
 * A sort value as a cursor carries it: a timestamp as an instant in UTC (`…Z`, to the microsecond,
 * whatever the session's TimeZone) or `infinity` / `-infinity`; a number as its decimal text. Both
 * read back exactly by the cast in `keysetAfter`.
 */
function cursorText(column: string, cast: SortCast): string {
  if (cast === 'numeric') return `${column}::text`;
  return `CASE WHEN isfinite(${column}) THEN (to_json(${column} AT TIME ZONE 'UTC') #>> '{}') || 'Z' ELSE ${column}::text END`;
}

/** At most this many resources come in through _include/_revinclude, over at most this many rounds. */
const MAX_INCLUDED = 1000;
const MAX_ITERATE_ROUNDS = 3;

/**
 * What each include looks up in one round: an _include starts from the frontier's resources of its
 * source type; a _revinclude from those of each type its parameter can reference (or its :Target).
 * After the first round only `:iterate` includes run, on what the round before added.
 */
function includeSteps(
  includes: Include[],
  frontier: Map<string, string[]>,
  round: number,
): Array<{ inc: Include; into: string | null; from: string[] }> {
  const steps: Array<{ inc: Include; into: string | null; from: string[] }> = [];
  for (const inc of includes) {
    if (round > 0 && !inc.iterate) continue;
    if (!inc.rev) {
      const from = frontier.get(inc.source);
      if (from?.length) steps.push({ inc, into: null, from });
      continue;
    }
    for (const into of inc.target ? [inc.target] : inc.targets) {
      const from = frontier.get(into);
      if (from?.length) steps.push({ inc, into, from });
    }
  }
  return steps;
}

/**
 * The resources `includes` bring in for the matches `ids` of `type`: one statement per include and
 * round, through the reference index. `:iterate` includes run again on what the last round added.
 */
async function runIncludes(
  q: Queryable,
  type: string,
  ids: string[],
  includes: Include[],
): Promise<Array<{ type: string; id: string; json: string }>> {
  const seen = new Set(ids.map((id) => `${type}/${id}`));
  const out: Array<{ type: string; id: string; json: string }> = [];
  let frontier = new Map<string, string[]>([[type, ids]]);
  for (let round = 0; round < MAX_ITERATE_ROUNDS && frontier.size && out.length < MAX_INCLUDED; round++) {
    const next = new Map<string, string[]>();
    for (const { inc, into, from } of includeSteps(includes, frontier, round)) {
      const rows = await q.query<{ resource_type: string; id: string; content: string }>(
        inc.rev
          ? `SELECT DISTINCT r.resource_type, r.id, r.content::text AS content FROM search_token t
               JOIN resources r ON r.resource_type = t.resource_type AND r.id = t.id
              WHERE t.resource_type = $1 AND t.param = $2 AND t.value = ANY($3::text[]) AND t.system = $4 AND NOT r.deleted
              LIMIT $5`
          : `SELECT DISTINCT r.resource_type, r.id, r.content::text AS content FROM search_token t
               JOIN resources r ON r.resource_type = t.system AND r.id = t.value
              WHERE t.resource_type = $1 AND t.param = $2 AND t.id = ANY($3::text[]) AND ($4::text IS NULL OR t.system = $4)
                AND NOT r.deleted LIMIT $5`,
        [inc.source, inc.param, from, inc.rev ? into : (inc.target ?? null), MAX_INCLUDED],
      );
      for (const r of rows) {
        const key = `${r.resource_type}/${r.id}`;
        if (seen.has(key) || out.length >= MAX_INCLUDED) continue;
        seen.add(key);
        out.push({ type: r.resource_type, id: r.id, json: r.content });
        next.set(r.resource_type, [...(next.get(r.resource_type) ?? []), r.id]);
      }
    }
    frontier = next;
  }
  return out;
}
