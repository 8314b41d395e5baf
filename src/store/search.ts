// FHIR search parameters → a parsed SearchRequest (parseSearch) → one SQL WHERE clause over
// `resources r` (emitSearch), validating every name and value on the way.
import type { FhirError } from '../shared/outcome.ts';
import { isFhirId, underBaseUrl } from '../shared/references.ts';
import { instantCondition, parseDateSearch, parseDateSearchValue, rangeCondition } from './date-search.ts';
import { parseInstant } from './dates.ts';
import {
  type ParamDef,
  identifierParam,
  indexedText,
  paramsFor,
  searchableText,
  splitReference,
} from './indexing.ts';
import { numberCondition, parseNumberSearch } from './numbers.ts';
import {
  type TokenAlternative,
  badSearch,
  indexOfUnescaped,
  isUnsupported,
  splitValues,
  tokenAlternatives,
  unescapeValue,
  unsupportedSearch,
} from './search-values.ts';
import type { SearchOptions, SearchParams } from './types.ts';

/** Which table holds a kind of parameter's rows. */
export const TABLE_OF_KIND: Readonly<Record<ParamDef['kind'], string>> = {
  token: 'search_token',
  reference: 'search_token',
  string: 'search_token',
  date: 'search_date',
  number: 'search_number',
};

/**
 * The kinds of parameter `_sort` takes besides `_lastUpdated`, the column of their rows it orders by —
 * ascending by a resource's earliest value (its least `low`), descending by its latest (its greatest
 * `high`: a Period's end, infinite while open) — and that column's SQL type (a cursor's value is cast to it).
 */
export const SORT_COLUMN: Readonly<
  Partial<Record<ParamDef['kind'], { asc: string; desc: string; cast: SortCast }>>
> = {
  date: { asc: 'low', desc: 'high', cast: 'timestamptz' },
  number: { asc: 'value', desc: 'value', cast: 'numeric' },
};
/** The SQL type of a sort key's value: `_lastUpdated` and a date's are timestamptz, a number's numeric. */
export type SortCast = 'timestamptz' | 'numeric';
const SORTABLE: ReadonlySet<string> = new Set(Object.keys(SORT_COLUMN));

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 1000;
/**
 * The format parameters: taken by every interaction (R4 http.html), they shape the answer, not what
 * it holds; a search accepts and passes them over.
 */
const FORMAT_PARAMETERS: ReadonlySet<string> = new Set(['_format', '_pretty']);

/** `name` is a format parameter (`_format`, `_pretty`). */
export function isFormatParameter(name: string): boolean {
  return FORMAT_PARAMETERS.has(name);
}

/**
 * The one rule for a parameter a search or history does not take (docs/server.md): strict by default,
 * a 400 (not-supported) naming it, as an answer that silently left it out would not be the one asked
 * for; under `Prefer: handling=lenient` (R4 search.html) it is ignored and its name added to
 * `ignored`, for the answer to leave out of its links (and a searchset to list in an outcome entry).
 */
export function unknownParameter(
  key: string,
  diagnostics: string,
  lenient: boolean | undefined,
  ignored: string[],
): void {
  if (!lenient) throw unsupportedSearch(key, diagnostics);
  ignored.push(key);
}

/** The value a result parameter given more than once takes (`_count`, `_total`, `_sort`, `_summary`): its last. */
export function lastValue<T>(raw: T | T[]): T;
export function lastValue<T>(raw: T | T[] | undefined): T | undefined;
export function lastValue<T>(raw: T | T[] | undefined): T | undefined {
  return Array.isArray(raw) ? raw[raw.length - 1] : raw;
}

/**
 * Where a next page starts, strictly after the last match of the page before in the search's order
 * (keyset paging: stable while others insert or delete): after its (lastUpdated, id) key for the
 * default sort; for a `_sort` by other keys, after its value of each key (`null`: it has none) and
 * its id. A sort value is text: an instant in UTC (`…Z`), `infinity`, `-infinity` or a decimal.
 */
export type Cursor =
  | { lastUpdated: string; id: string; desc: boolean }
  | { after: Array<string | null>; id: string; sort: string; desc: boolean };

/** A search request turned into SQL: the request's paging and shaping, plus the clauses. */
export interface CompiledSearch extends Omit<SearchRequest, 'type' | 'terms'> {
  /** FROM clause: `resources r`, or joined to the token row `k` that drives the search. */
  from: string;
  /** Alias whose (last_updated, id) orders and pages the result: `k` or `r`. */
  sortAlias: 'k' | 'r';
  /** WHERE clause without paging conditions. */
  where: string;
  values: unknown[];
}

/**
 * `_include=Observation:subject[:Patient]`: the resources the page's matches reference through an
 * indexed reference parameter; `_revinclude=Observation:subject`: resources of `source` that
 * reference the page's matches.
 */
export interface Include {
  rev: boolean;
  /** `:iterate`: also applied to what earlier includes brought in (a few rounds at most). */
  iterate: boolean;
  source: string;
  param: string;
  target?: string;
  /** The types `source.param` may reference (a _revinclude looks for references to these). */
  targets: readonly string[];
}

/** One `_sort` key: a date or number parameter, or `_lastUpdated` (no `def`). */
export interface SortKey {
  def?: ParamDef;
  desc: boolean;
}

/** What a search asks for, parsed and checked, before any SQL: paging, shaping and the match terms. */
export interface SearchRequest {
  type: string;
  desc: boolean;
  count: number;
  offset: number;
  cursor?: Cursor;
  /**
   * `_sort` by one or more keys, any of them a date or number parameter (its earliest or smallest
   * value ascending, its latest or largest descending); absent for _lastUpdated alone.
   */
  sort?: SortKey[];
  /** The `_sort` keys as one text (`-value-integer,date`): what a cursor of theirs was issued for. */
  sortText?: string;
  total: boolean;
  ignored: string[];
  includes: Include[];
  terms: Term[];
  /** The resource types the caller serves (`SearchOptions.types`): what a reference may name. */
  types?: readonly string[];
}

/** One match condition: a parameter, its modifier and one value (repeats are separate terms: AND). */
export type Term =
  | { kind: 'id' | 'lastUpdated' | 'chain' | 'has'; key: string; value: string }
  | { kind: 'param'; key: string; def: ParamDef; modifier?: string; value: string };

/** Search parameters → a `SearchRequest`; unknown names, bad modifiers and paging values are 400s here. */
/**
 * A search parameter's values are text without U+0000 (PostgreSQL cannot compare it; the statement
 * would fail as a 500): 400 naming the parameter otherwise.
 */
export function assertSearchText(key: string, values: unknown[]): asserts values is string[] {
  if (values.some((v) => typeof v !== 'string'))
    throw badSearch(key, `Invalid value for '${key}': expected text`);
  if (key.includes('\u0000') || values.some((v) => (v as string).includes('\u0000')))
    throw badSearch(
      key.replaceAll('\u0000', ''),
      `Invalid value for '${key.replaceAll('\u0000', '')}': U+0000 cannot be searched for`,
    );
}

export function parseSearch(type: string, params: SearchParams, opts: SearchOptions = {}): SearchRequest {
  const req: SearchRequest = {
    type,
    desc: false,
    count: DEFAULT_COUNT,
    offset: 0,
    total: false,
    ignored: [],
    includes: [],
    terms: [],
    ...(opts.types ? { types: opts.types } : {}),
  };
  const defs = paramsFor(type, opts.types);
  for (const [key, raw] of Object.entries(params)) {
    if (raw === undefined) continue;
    const list = Array.isArray(raw) ? raw : [raw];
    assertSearchText(key, list);
    const [name, modifier] = splitKey(key);
    if (parseResultParam(req, key, name, lastValue(list), opts.lenient === true) || isFormatParameter(name))
      continue;
    if (name === '_include' || name === '_revinclude') {
      for (const v of list)
        req.includes.push(...parseIncludes(type, key, v, name === '_revinclude', opts.types));
      continue;
    }
    const kind = key.includes('.')
      ? 'chain'
      : name === '_has'
        ? 'has'
        : name === '_id'
          ? 'id'
          : name === '_lastUpdated'
            ? 'lastUpdated'
            : undefined;
    let terms: Term[];
    if (kind) terms = list.map((value) => ({ kind, key, value }));
    else {
      const def = defs.get(name);
      if (!def) {
        unknownParameter(key, `Unknown search parameter '${name}' for ${type}`, opts.lenient, req.ignored);
        continue;
      }
      if (def.kind === 'reference' && modifier !== undefined && /^[A-Z]/.test(modifier))
        assertTargetType(def, key, name, modifier);
      terms = list.map((value) => ({
        kind: 'param',
        key,
        def,
        modifier,
        value: underBase(def, value, opts.base),
      }));
    }
    // What a chain, a reverse chain or a modifier names is checked as its SQL is built: try that here.
    if (
      opts.lenient &&
      (modifier !== undefined || kind === 'chain' || kind === 'has') &&
      !supported(type, terms, opts.types)
    ) {
      req.ignored.push(key);
      continue;
    }
    req.terms.push(...terms);
  }
  const sorted = req.sortText ?? '_lastUpdated';
  if (
    req.cursor &&
    (req.cursor.desc !== req.desc || ('sort' in req.cursor ? req.cursor.sort : '_lastUpdated') !== sorted)
  ) {
    throw badSearch('_cursor', `Invalid value for '_cursor': it was issued for a different _sort`);
  }
  if (req.cursor && 'after' in req.cursor && !keysetFits(req.sort ?? [], req.cursor.after))
    throw foreignCursor();
  return req;
}

/** The 400 for a `_cursor` this server did not issue (or one tampered with). */
function foreignCursor(): FhirError {
  return badSearch('_cursor', `Invalid value for '_cursor': not a cursor issued by this server`);
}

/** The SQL type of one `_sort` key's value. */
export function sortCast(key: SortKey): SortCast {
  return key.def ? (SORT_COLUMN[key.def.kind]?.cast ?? 'timestamptz') : 'timestamptz';
}

const DECIMAL = /^-?\d{1,1000}(\.\d{1,1000})?$/;

/**
 * A keyset cursor's values fit the sort's keys: one per key, each as the database gave it (an instant
 * or ±infinity, a decimal; null where a resource has no value, never for `_lastUpdated`). Its values
 * go into the page's SQL: a forged one must be a 400 here, not a failed cast there.
 */
function keysetFits(keys: SortKey[], after: Array<string | null>): boolean {
  return (
    after.length === keys.length &&
    keys.every((key, i) => {
      const v = after[i];
      if (v === null || v === undefined) return v === null && key.def !== undefined;
      if (sortCast(key) === 'numeric') return DECIMAL.test(v);
      return (
        (key.def !== undefined && (v === 'infinity' || v === '-infinity')) || parseInstant(v) !== undefined
      );
    })
  );
}

/**
 * A reference parameter's type modifier (`subject:Patient`, `subject:Patient.name`) names one of the
 * types it refers to (those the caller serves, `paramsFor`): a 400 naming the parameter otherwise.
 */
function assertTargetType(def: ParamDef, key: string, name: string, type: string): void {
  if (!def.targets.includes(type))
    throw badSearch(
      key,
      `Type modifier ':${type}' on '${name}' names no type it refers to (allowed: ${def.targets.join(', ')})`,
    );
}

/** A reference parameter's value with `base` taken off each alternative under it. */
function underBase(def: ParamDef, value: string, base: string | undefined): string {
  if (def.kind !== 'reference' || !base || !value.includes(base)) return value;
  return value
    .split(',')
    .map((one) => referenceUnderBase(one, base))
    .join(',');
}

/**
 * One alternative of a reference search value, an absolute URL under `base` (the server's own) taken
 * as the relative reference it names (R4 search.html, reference): `<base>/Patient/1` is `Patient/1`.
 * Any other value is itself.
 */
export function referenceUnderBase(one: string, base: string | undefined): string {
  return (base ? underBaseUrl(one, base) : undefined) ?? one;
}

/**
 * `_count`, `_offset`, `_cursor`, `_total`, `_sort` into the request; false for any other name. An
 * unsupported sort is ignored when lenient, like an unknown parameter (R4 search.html, handling).
 */
function parseResultParam(
  req: SearchRequest,
  key: string,
  name: string,
  v: string,
  lenient: boolean,
): boolean {
  switch (name) {
    case '_count':
      req.count = pageSize(v, key);
      return true;
    case '_offset':
      req.offset = nonNegativeInt(key, v);
      return true;
    case '_cursor':
      req.cursor = decodeCursor(v);
      return true;
    case '_total':
      if (!['none', 'estimate', 'accurate'].includes(v)) {
        throw badSearch(key, `Invalid value for '_total' (allowed: none, estimate, accurate)`);
      }
      req.total = v === 'accurate';
      return true;
    case '_sort': {
      const keys = parseSort(req.type, key, v, lenient);
      if (!keys) {
        req.ignored.push(key);
        return true;
      }
      req.desc = keys[0]?.desc ?? false;
      // `_lastUpdated` alone pages by its (lastUpdated, id) key; any other sort by its keys' values and id.
      if (keys.length > 1 || keys[0]?.def) {
        req.sort = keys;
        req.sortText = v;
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * A `SearchRequest` → one SQL WHERE over `resources r` with its bound values (search values are
 * checked as they are bound: a bad date or token is a 400 naming the parameter).
 */
export function emitSearch(req: SearchRequest): CompiledSearch {
  const values: unknown[] = [req.type];
  const bind = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  const clauses = ['r.resource_type = $1', 'NOT r.deleted'];
  const { terms: _terms, type: _type, types: served, ...paging } = req;
  const out: CompiledSearch = { ...paging, from: 'resources r', sortAlias: 'r', where: '', values };
  for (const term of req.terms) {
    const exact =
      term.kind === 'param' && out.sortAlias === 'r'
        ? exactToken(term.def, term.key, term.modifier, term.value)
        : undefined;
    // Compared as the index holds them (a long text by its start and digest).
    if (exact && term.kind === 'param') {
      // One fully specified token (e.g. patient=X, identifier=sys|val): read matches from the
      // token index, already in _lastUpdated order.
      out.from = 'search_token k JOIN resources r ON r.resource_type = k.resource_type AND r.id = k.id';
      out.sortAlias = 'k';
      clauses.push(
        `k.resource_type = $1 AND k.param = ${bind(term.def.code)} AND k.value = ${bind(indexedText(exact.value))} AND k.system = ${bind(indexedText(exact.system))}`,
      );
    } else {
      clauses.push(termClause(req.type, term, bind, served));
    }
  }
  out.where = clauses.join(' AND ');
  return out;
}

/** One term's condition on `resources r`; `served`: the types a reference may name (`paramsFor`). */
function termClause(
  type: string,
  term: Term,
  bind: (v: unknown) => string,
  served: readonly string[] | undefined,
): string {
  switch (term.kind) {
    case 'chain':
      return chainClause(type, term.key, term.value, bind, served);
    case 'has':
      return hasClause(type, term.key, term.value, bind, served);
    case 'id':
      return idClause(term.key, splitKey(term.key)[1], term.value, bind);
    case 'lastUpdated':
      return lastUpdatedTerm(term.key, splitKey(term.key)[1], term.value, bind);
    case 'param':
      return paramClause(term.def, term.key, term.modifier, term.value, bind);
  }
}

/**
 * Whether the store searches by what `terms` name (false for an unknown chain or reverse chain, or an
 * unsupported modifier, which a lenient search ignores); a bad value is its 400 here already.
 */
function supported(type: string, terms: Term[], served: readonly string[] | undefined): boolean {
  try {
    for (const term of terms) termClause(type, term, () => '$0', served);
    return true;
  } catch (err) {
    if (isUnsupported(err)) return false;
    throw err;
  }
}

export function compileSearch(type: string, params: SearchParams, opts: SearchOptions = {}): CompiledSearch {
  return emitSearch(parseSearch(type, params, opts));
}

/**
 * `_id` (comma = OR), `_id:not` (none of them) and `_id:missing` on `alias`: every resource has an id,
 * so `:missing=false` matches all and `:missing=true` none.
 */
function idClause(
  key: string,
  modifier: string | undefined,
  value: string,
  bind: (v: unknown) => string,
  alias = 'r',
): string {
  if (modifier === 'missing') return missingValue(key, value) ? 'FALSE' : 'TRUE';
  if (modifier !== undefined && modifier !== 'not') unsupportedModifier(key, modifier);
  const match = `${alias}.id = ANY(${bind(splitValues(key, value))}::text[])`;
  return modifier === 'not' ? `NOT ${match}` : match;
}

/** `_lastUpdated` with its prefixes, or `:missing` (every resource has one, as `_id`). */
function lastUpdatedTerm(
  key: string,
  modifier: string | undefined,
  value: string,
  bind: (v: unknown) => string,
  alias = 'r',
): string {
  if (modifier === 'missing') return missingValue(key, value) ? 'FALSE' : 'TRUE';
  noModifier(key, modifier);
  return lastUpdatedClause(key, value, bind, alias);
}

function lastUpdatedClause(key: string, value: string, bind: (v: unknown) => string, alias = 'r'): string {
  const col = `${alias}.last_updated`;
  const ors = splitValues(key, value).map((one) =>
    instantCondition(col, col, parseDateSearchValue(key, one), bind),
  );
  return `(${ors.join(' OR ')})`;
}

/**
 * `Type:param[:Target]` of an _include (`Type` is the searched type) or _revinclude (`param` points at
 * it). With `:iterate` either may start from a type an earlier include brings in.
 */
/**
 * `_sort`'s comma-separated keys, each `_lastUpdated` or a date or number parameter of the type, `-`
 * for descending; undefined (ignore it) for an unsupported one when lenient, else a 400 naming `_sort`.
 */
function parseSort(type: string, key: string, value: string, lenient: boolean): SortKey[] | undefined {
  const keys: SortKey[] = [];
  for (const one of value.split(',')) {
    const desc = one.startsWith('-');
    const name = desc ? one.slice(1) : one;
    if (name === '_lastUpdated') {
      keys.push({ desc });
      continue;
    }
    const def = paramsFor(type).get(name);
    if (def && SORTABLE.has(def.kind)) {
      keys.push({ def, desc });
      continue;
    }
    if (lenient) return undefined;
    const sortable = [...paramsFor(type).values()].filter((d) => SORTABLE.has(d.kind)).map((d) => d.code);
    throw unsupportedSearch(
      key,
      `Unsupported _sort (allowed: _lastUpdated${sortable.map((d) => `, ${d}`).join('')}, each with - for descending, comma-separated)`,
    );
  }
  return keys;
}

/**
 * One `_include` / `_revinclude` value as the includes it asks for: `Source:param[:Target]`, or
 * `Source:*[:Target]` for every indexed reference parameter of the source (that can reach the target,
 * and for `_revinclude` the searched type) — R4 search.html's wildcard.
 */
function parseIncludes(
  type: string,
  key: string,
  value: string,
  rev: boolean,
  served: readonly string[] | undefined,
): Include[] {
  const [source, param, target, ...rest] = value.split(':');
  if (param !== '*' || !source || rest.length) return [parseInclude(type, key, value, rev, served)];
  const iterate = splitKey(key)[1] === 'iterate';
  const reaches = (d: ParamDef) =>
    d.kind === 'reference' &&
    (target === undefined || d.targets.includes(target)) &&
    (!rev || iterate || d.targets.includes(type));
  const defs = [...paramsFor(source, served).values()].filter(reaches);
  if (!defs.length || (!rev && !iterate && source !== type)) throw invalidInclude(type, key, rev);
  return defs.map((d) =>
    parseInclude(type, key, [source, d.code, ...(target ? [target] : [])].join(':'), rev, served),
  );
}

/** The 400 for an include that names no indexed reference parameter it may follow. */
function invalidInclude(type: string, key: string, rev: boolean): FhirError {
  return badSearch(
    key,
    `Invalid ${key}: expected ${rev ? 'SourceType' : type}:param[:TargetType] naming an indexed reference parameter (or *)`,
  );
}

function parseInclude(
  type: string,
  key: string,
  value: string,
  rev: boolean,
  served: readonly string[] | undefined,
): Include {
  const [source, param, target, ...rest] = value.split(':');
  const def = source && param ? paramsFor(source, served).get(param) : undefined;
  const iterate = splitKey(key)[1] === 'iterate';
  if (rest.length || !def || def.kind !== 'reference' || (!rev && !iterate && source !== type))
    throw invalidInclude(type, key, rev);
  const modifier = splitKey(key)[1];
  if (modifier !== undefined && modifier !== 'iterate') unsupportedModifier(key, modifier);
  if (target !== undefined && !def.targets.includes(target)) {
    throw badSearch(key, `Invalid ${key}: ${source}.${param} does not reference the target type it names`);
  }
  if (rev && !iterate && !def.targets.includes(type)) {
    throw badSearch(key, `Invalid ${key}: ${source}.${param} cannot reference ${type}`);
  }
  return { rev, source, param, iterate, targets: def.targets, ...(target ? { target } : {}) };
}

/**
 * The reference parameter a chained key starts with, and the type it chains into: the one its modifier
 * names, or its only target type (of those the caller serves).
 */
function chainHead(type: string, key: string, served: readonly string[] | undefined) {
  const [refName, refModifier] = splitKey(key.slice(0, key.indexOf('.')));
  const def = paramsFor(type, served).get(refName);
  const target =
    def?.kind === 'reference'
      ? (refModifier ?? (def.targets.length === 1 ? def.targets[0] : undefined))
      : undefined;
  return { refName, refModifier, def, target };
}

/**
 * The types a search of `type` looks into through chained parameters (`patient.identifier=…` of an
 * Observation looks into Patient): access control asks for search permission on them too. Give it the
 * `types` the search is given, so both infer the same target (`subject.name` → Patient where Patient
 * is the only type `subject` may name).
 */
export function chainedTypes(
  type: string,
  params: Record<string, unknown>,
  opts: Pick<SearchOptions, 'types'> = {},
): string[] {
  const out = new Set<string>();
  for (const key of Object.keys(params)) {
    const has = HAS.exec(key);
    if (has) out.add(has[1] as string);
    if (key.startsWith('_') || !key.includes('.')) continue;
    const { target } = chainHead(type, key, opts.types);
    if (target) out.add(target);
  }
  return [...out];
}

/** `_has:Type:param:inner[:modifier]` (the inner part is checked in `hasClause`). */
const HAS = /^_has:([A-Z][A-Za-z]*):([^:]+):(.+)$/;

/**
 * Reverse chaining, one level: `Patient?_has:Observation:patient:code=…` matches resources that a
 * current resource of the named type refers to through the named reference parameter, where that
 * resource matches the inner parameter.
 */
function hasClause(
  type: string,
  key: string,
  value: string,
  bind: (v: unknown) => string,
  served: readonly string[] | undefined,
): string {
  const m = HAS.exec(key);
  const [, source = '', refName = '', inner = ''] = m ?? [];
  const ref = m ? paramsFor(source, served).get(refName) : undefined;
  if (!ref || ref.kind !== 'reference' || !ref.targets.includes(type))
    throw unsupportedSearch(
      key,
      `Reverse chain '${key}': write _has:Type:param:parameter, where param is an indexed reference parameter of Type that can point at ${type}`,
    );
  const [innerName, innerModifier] = splitKey(inner);
  const def = paramsFor(source, served).get(innerName);
  if (!def || innerName.includes('.'))
    throw unsupportedSearch(
      key,
      `Reverse chain '${key}': '${innerName}' is not an indexed parameter of ${source} (one level of _has)`,
    );
  const match = paramClause(def, key, innerModifier, value, bind, 'o');
  return `EXISTS (SELECT 1 FROM search_token h JOIN resources o ON o.resource_type = h.resource_type AND o.id = h.id WHERE h.resource_type = ${bind(source)} AND h.param = ${bind(refName)} AND h.system = ${bind(type)} AND h.value = r.id AND NOT o.deleted AND ${match})`;
}

/**
 * A chained parameter over an indexed reference, one level deep: `patient.identifier=sys|val`,
 * `subject:Patient.identifier=…`. Matches resources whose reference points at a current resource of
 * the target type that matches the chained parameter.
 */
function chainClause(
  type: string,
  key: string,
  value: string,
  bind: (v: unknown) => string,
  served: readonly string[] | undefined,
): string {
  const dot = key.indexOf('.');
  const [chained, chainedModifier] = splitKey(key.slice(dot + 1));
  const { refName, refModifier, def, target } = chainHead(type, key, served);
  if (!def || def.kind !== 'reference') {
    throw unsupportedSearch(
      key,
      `Chained parameter '${key}': '${refName}' is not an indexed reference parameter of ${type}`,
    );
  }
  if (refModifier !== undefined && /^[A-Z]/.test(refModifier))
    assertTargetType(def, key, refName, refModifier);
  if (!target || !def.targets.includes(target)) {
    throw badSearch(
      key,
      `Chained parameter '${key}': name the target type, e.g. ${refName}:${def.targets[0] ?? 'Patient'}.${chained} (allowed: ${def.targets.join(', ')})`,
    );
  }
  const match = chainedMatch(target, key, chained, chainedModifier, value, bind, served);
  return `EXISTS (SELECT 1 FROM search_token t WHERE t.resource_type = r.resource_type AND t.id = r.id AND t.param = ${bind(refName)} AND t.system = ${bind(target)} AND t.value IN (SELECT c.id FROM resources c WHERE c.resource_type = ${bind(target)} AND NOT c.deleted AND ${match}))`;
}

/** What a chain asks of its target (alias `c`): one of its parameters, or its own `_id` or `_lastUpdated`. */
function chainedMatch(
  target: string,
  key: string,
  chained: string,
  modifier: string | undefined,
  value: string,
  bind: (v: unknown) => string,
  served: readonly string[] | undefined,
): string {
  if (chained === '_id') return idClause(key, modifier, value, bind, 'c');
  if (chained === '_lastUpdated') return lastUpdatedTerm(key, modifier, value, bind, 'c');
  const inner = paramsFor(target, served).get(chained);
  if (!inner || chained.includes('.')) {
    throw unsupportedSearch(
      key,
      `Chained parameter '${key}': '${chained}' is not an indexed parameter of ${target} (one level of chaining)`,
    );
  }
  return paramClause(inner, key, modifier, value, bind, 'c');
}

/** The single system+value a token/reference search value pins down, if it does. */
function exactToken(
  def: ParamDef,
  key: string,
  modifier: string | undefined,
  value: string,
): { system: string; value: string } | undefined {
  if (def.kind === 'date' || def.kind === 'string' || def.kind === 'number') return undefined;
  if (indexOfUnescaped(value, ',') >= 0 || value === '') return undefined;
  if (def.kind === 'reference') {
    if (modifier !== undefined && !/^[A-Z][A-Za-z]+$/.test(modifier)) return undefined;
    const defaultType = modifier ?? (def.targets.length === 1 ? def.targets[0] : undefined);
    if (value.includes('/')) {
      const [system, id] = splitReference(value);
      return { system, value: id };
    }
    return defaultType ? { system: defaultType, value } : undefined;
  }
  // A boolean's value is checked in paramClause (and pins down half the resources: no index path).
  if (modifier !== undefined || def.boolean) return undefined;
  const [only] = tokenAlternatives(key, value);
  return only?.system !== undefined && only.value !== undefined
    ? { system: only.system, value: only.value }
    : undefined;
}

function paramClause(
  def: ParamDef,
  key: string,
  modifier: string | undefined,
  value: string,
  bind: (v: unknown) => string,
  alias = 'r',
): string {
  if (modifier === 'missing') return missingClause(def, key, value, bind, alias);
  const logical = def.kind === 'reference' && modifier === 'identifier';
  // The Reference's logical identifier has rows of its own, searched as a token (system|value, …).
  const p = bind(logical ? identifierParam(def.code) : def.code);
  if (def.kind === 'date') {
    noModifier(key, modifier);
    const ors = splitValues(key, value).map((one) => {
      const { prefix, low, high } = parseDateSearch(key, one);
      return rangeCondition(
        prefix,
        () => bind(low),
        () => bind(high),
      );
    });
    return `EXISTS (SELECT 1 FROM search_date d WHERE d.resource_type = ${alias}.resource_type AND d.id = ${alias}.id AND d.param = ${p} AND (${ors.join(' OR ')}))`;
  }
  if (def.kind === 'number') {
    noModifier(key, modifier);
    const ors = splitValues(key, value).map((one) =>
      numberCondition('n.value', parseNumberSearch(key, one), bind),
    );
    return `EXISTS (SELECT 1 FROM search_number n WHERE n.resource_type = ${alias}.resource_type AND n.id = ${alias}.id AND n.param = ${p} AND (${ors.join(' OR ')}))`;
  }
  if (def.kind === 'string') {
    const ors = splitValues(key, value).map((one) =>
      stringCondition(key, modifier, unescapeValue(one), bind),
    );
    return `EXISTS (SELECT 1 FROM search_token t WHERE t.resource_type = ${alias}.resource_type AND t.id = ${alias}.id AND t.param = ${p} AND (${ors.join(' OR ')}))`;
  }
  let alternatives: TokenAlternative[];
  if (logical) {
    alternatives = tokenAlternatives(key, value);
  } else if (def.kind === 'reference') {
    if (modifier !== undefined && !/^[A-Z][A-Za-z]+$/.test(modifier)) unsupportedModifier(key, modifier);
    const defaultType = modifier ?? (def.targets.length === 1 ? def.targets[0] : undefined);
    alternatives = splitValues(key, value).map((one) => {
      const [refType, id] = one.includes('/') ? splitReference(one) : [defaultType ?? '', one];
      if (refType === '' && !one.includes('/')) return { value: id };
      return { system: refType, value: id };
    });
  } else {
    if (modifier !== undefined && modifier !== 'not') unsupportedModifier(key, modifier);
    alternatives = tokenAlternatives(key, value);
    // A boolean element's token is `true` or `false` (R4 search.html, token): anything else matches nothing.
    if (
      def.boolean &&
      alternatives.some((a) => a.system !== undefined || (a.value !== 'true' && a.value !== 'false'))
    )
      throw badSearch(key, `Invalid value for '${key}': a boolean takes true or false`);
  }
  const matching = `EXISTS (SELECT 1 FROM search_token t WHERE t.resource_type = ${alias}.resource_type AND t.id = ${alias}.id AND t.param = ${p} AND ${tokenCondition(alternatives, bind)})`;
  // :not — no value matches any alternative, which a resource without any value also satisfies (R4 search.html).
  return modifier === 'not' ? `NOT ${matching}` : matching;
}

/** `:missing=true` (the resource has no value the parameter indexes) or `:missing=false` (it has one). */
function missingClause(
  def: ParamDef,
  key: string,
  value: string,
  bind: (v: unknown) => string,
  alias: string,
): string {
  const missing = missingValue(key, value);
  const table = TABLE_OF_KIND[def.kind];
  const present = `EXISTS (SELECT 1 FROM ${table} x WHERE x.resource_type = ${alias}.resource_type AND x.id = ${alias}.id AND x.param = ${bind(def.code)})`;
  return missing ? `NOT ${present}` : present;
}

/** A `:missing` value: true or false (400 naming the parameter otherwise). */
function missingValue(key: string, value: string): boolean {
  if (value !== 'true' && value !== 'false')
    throw badSearch(key, `Invalid value for '${key}': :missing takes true or false`);
  return value === 'true';
}

/**
 * One alternative of a string search: the indexed text starts with it (case and accents aside),
 * `:contains` it, or `:exact`ly is it (as written). A long text's row keeps its first 180 characters.
 */
function stringCondition(
  key: string,
  modifier: string | undefined,
  text: string,
  bind: (v: unknown) => string,
): string {
  if (modifier === 'exact') return `t.system = ${bind(indexedText(text))}`;
  if (modifier !== undefined && modifier !== 'contains') unsupportedModifier(key, modifier);
  const pattern = searchableText(text).replace(/[\\%_]/g, '\\$&');
  return `t.value LIKE ${bind(modifier === 'contains' ? `%${pattern}%` : `${pattern}%`)}`;
}

/**
 * The alternatives as one condition on `t.system` / `t.value`. Values of one system (or of none) go
 * into one `= ANY(array)`, which the (…, value, system, …) index probes value by value; an OR of
 * per-value comparisons made PostgreSQL read every entry of the parameter and filter them.
 */
function tokenCondition(alternatives: TokenAlternative[], bind: (v: unknown) => string): string {
  const bySystem = new Map<string | undefined, string[]>();
  const ors: string[] = [];
  // Compared as the index holds them (a long text by its start and digest).
  for (const a of alternatives) {
    const system = a.system === undefined ? undefined : indexedText(a.system);
    if (a.value === undefined) ors.push(`t.system = ${bind(system)}`);
    else bySystem.set(system, [...(bySystem.get(system) ?? []), indexedText(a.value)]);
  }
  for (const [system, values] of bySystem) {
    const value =
      values.length === 1 ? `t.value = ${bind(values[0])}` : `t.value = ANY(${bind(values)}::text[])`;
    ors.push(system === undefined ? value : `(t.system = ${bind(system)} AND ${value})`);
  }
  return ors.length === 1 ? ors[0] : `(${ors.join(' OR ')})`;
}

function splitKey(key: string): [string, string | undefined] {
  const i = key.indexOf(':');
  return i < 0 ? [key, undefined] : [key.slice(0, i), key.slice(i + 1)];
}

function noModifier(key: string, modifier: string | undefined): void {
  if (modifier !== undefined) unsupportedModifier(key, modifier);
}

function unsupportedModifier(key: string, modifier: string): never {
  throw unsupportedSearch(
    key,
    `Unsupported modifier ':${modifier}' on search parameter '${key.split(':')[0]}'`,
  );
}

/**
 * The one parser of a count or offset (`_count`, `_offset`): any whole number written in digits (however
 * many), a larger one than `max` taken as `max`; anything else is a 400 naming `key`.
 */
function nonNegativeInt(key: string, v: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(v)) throw badSearch(key, `Invalid value for '${key}': not a non-negative integer`);
  return Math.min(Number(v), max);
}

/**
 * The page size a `_count` value asks for: `fallback` without one (DEFAULT_COUNT), at most `max`
 * (MAX_COUNT). Search, history, `$everything` and the audit log all read their `_count` here.
 */
export function pageSize(
  value: string | undefined,
  key = '_count',
  { fallback = DEFAULT_COUNT, max = MAX_COUNT }: { fallback?: number; max?: number } = {},
): number {
  return value === undefined ? fallback : nonNegativeInt(key, value, max);
}

export function encodeCursor(c: Cursor): string {
  const parts =
    'after' in c ? ['k', c.after, c.id, c.sort, c.desc ? 1 : 0] : [c.lastUpdated, c.id, c.desc ? 1 : 0];
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

function decodeCursor(text: string): Cursor {
  try {
    const parts = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown[];
    const [a, b, c, d, e] = parts;
    // The values and the id go into the page's SQL: a forged id (U+0000, which the database refuses)
    // is not ours; the values are checked against the sort's keys (keysetFits).
    if (
      a === 'k' &&
      Array.isArray(b) &&
      b.every((v) => v === null || typeof v === 'string') &&
      isFhirId(c) &&
      typeof d === 'string'
    )
      return { after: b as Array<string | null>, id: c, sort: d, desc: e === 1 };
    if (typeof a === 'string' && isFhirId(b) && parseInstant(a) !== undefined) {
      return { lastUpdated: a, id: b, desc: c === 1 };
    }
  } catch {
    // fall through to the error below
  }
  throw foreignCursor();
}
