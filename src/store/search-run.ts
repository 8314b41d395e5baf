// Running a compiled search: the page of matches in keyset order, the total, and what _include and
// _revinclude bring in.
import { FhirError } from '../shared/outcome.ts';
import { TYPE_RE } from './checks.ts';
import { type Include, SORT_COLUMN, TABLE_OF_KIND, compileSearch, encodeCursor } from './search.ts';
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
  const k = s.sortAlias;
  if (s.cursor && 'lastUpdated' in s.cursor) {
    where += ` AND (${k}.last_updated, ${k}.id) ${s.desc ? '<' : '>'} (${bind(s.cursor.lastUpdated)}::timestamptz, ${bind(s.cursor.id)})`;
  }
  const dir = s.desc ? 'DESC' : 'ASC';
  // A sort by a date or number parameter pages by offset; the default sort by its (lastUpdated, id) key.
  const offset = s.offset + (s.cursor && 'offset' in s.cursor ? s.cursor.offset : 0);
  let order = `${k}.last_updated ${dir}, ${k}.id ${dir}`;
  if (s.sort) {
    const keys = s.sort.map(({ def, desc }) => {
      const keyDir = desc ? 'DESC' : 'ASC';
      if (!def) return `${k}.last_updated ${keyDir}`;
      const column = SORT_COLUMN[def.kind]?.[desc ? 'desc' : 'asc'] as string;
      return `(SELECT ${desc ? 'max' : 'min'}(v.${column}) FROM ${TABLE_OF_KIND[def.kind]} v WHERE v.resource_type = r.resource_type AND v.id = r.id AND v.param = ${bind(def.code)}) ${keyDir} NULLS LAST`;
    });
    order = `${keys.join(', ')}, r.id ${dir}`;
  }
  // The cursor's timestamp comes as ISO 8601 text: exact, and no Date is built per row.
  const sql = `SELECT r.id, to_json(${k}.last_updated) #>> '{}' AS last_updated, r.content::text AS content FROM ${s.from} WHERE ${where}
    ORDER BY ${order} LIMIT ${bind(s.count + 1)} OFFSET ${bind(offset)}`;
  const [rows, total] = await Promise.all([
    s.count > 0 ? q.query<{ id: string; last_updated: string; content: string }>(sql, values) : [],
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
    const lastRow = page[page.length - 1];
    result.nextCursor = s.sort
      ? encodeCursor({ offset: offset + s.count, sort: s.sortText as string, desc: s.desc })
      : encodeCursor({ lastUpdated: lastRow.last_updated, id: lastRow.id, desc: s.desc });
  }
  return result;
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
