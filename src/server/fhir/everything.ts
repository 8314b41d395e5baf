// Patient/$everything (R4 patient-operation-everything): the Patient, every resource of its
// compartment that the store links to it through a `patient` search parameter, and the resources
// those refer to outside the compartment (who did what, where: Practitioner, PractitionerRole,
// Organization, Questionnaire), in one searchset Bundle. Everything is read through the caller's
// store, so each part obeys what a read or search of it would: scopes, a party's consent, turvakielto,
// and an audit row per read and search. `start` and `end` keep the compartment's care dates in range
// (each type's own date search parameter; a type without one is not narrowed). `_count` and
// `_offset` page the matches (the record is gathered again for each page, in the same order); each
// page includes what its own matches refer to.
import type { Bundle, BundleLink } from '@medplum/fhirtypes';
import { FhirError, issue } from '../../shared/outcome.ts';
import { eachReference } from '../../shared/references.ts';
import { type DateRangeParams, dateRangeParams } from '../http/date-range.ts';
import { headerText } from '../http/negotiation.ts';
import { refuseUnknownParameters, withQuery } from '../http/query-params.ts';
import { SUPPORTED_TYPES, searchParamsByType } from '../resource-types.ts';
import { countParam, sinceParam } from './history.ts';
import { bundleWithEntries, outcomeEntryJson, readResourceJson, searchEntryJson } from './interactions.ts';
import { operationQuery } from './posted-parameters.ts';
import { localTarget } from './references.ts';
import type { FhirContext, FhirHandler } from './route-types.ts';

/** At most this many resources in one answer; a larger record is asked for in parts (`_type`, `_since`). */
export const MAX_EVERYTHING = 10_000;
/** What the operation takes (R4's, and `_offset` for paging). */
const EVERYTHING_PARAMETERS = ['_type', '_since', 'start', 'end', '_count', '_offset'];
/**
 * The search parameters that hold a type's care date ("care dates, not record currency dates"), in
 * the order they are looked for: an Observation's effective time, a CarePlan's period, a Consent's
 * date, a response's or request's `authored`.
 */
const CARE_DATE_PARAMETERS = ['date', 'authored'];
/** Matches read per search. */
const PAGE_SIZE = 1000;

interface EverythingTypes {
  /** Types whose `patient` search parameter can name a Patient (searched). */
  compartment: string[];
  /** The other types this server holds (included where the compartment refers to them). */
  referenced: string[];
  /** A compartment type's care-date search parameter, where it has one. */
  careDate: Map<string, string>;
}

let kinds: EverythingTypes | undefined;

export function everythingTypes(): EverythingTypes {
  if (!kinds) {
    const byType = searchParamsByType();
    const compartment = [...byType]
      .filter(([, params]) => params.get('patient')?.targets?.includes('Patient'))
      .map(([type]) => type);
    const referenced = SUPPORTED_TYPES.filter((t) => t !== 'Patient' && !compartment.includes(t));
    const careDate = new Map<string, string>();
    for (const type of compartment) {
      const code = CARE_DATE_PARAMETERS.find((c) => byType.get(type)?.get(c)?.type === 'date');
      if (code) careDate.set(type, code);
    }
    kinds = { compartment, referenced, careDate };
  }
  return kinds;
}

/** The search parameters that keep a type's care dates within `dates` (none for a type without one). */
function careDateSearch(type: string, dates: DateRangeParams): Record<string, string[]> {
  const code = everythingTypes().careDate.get(type);
  const values = [...(dates.start ? [`ge${dates.start}`] : []), ...(dates.end ? [`le${dates.end}`] : [])];
  return code && values.length ? { [code]: values } : {};
}

/** The types `_type` asks for (comma-separated, repeatable), each one the operation can answer. */
function requestedTypes(value: string | string[] | undefined): Set<string> {
  const { compartment, referenced } = everythingTypes();
  const allowed = ['Patient', ...compartment, ...referenced];
  if (value === undefined) return new Set(allowed);
  const asked = [value].flat().flatMap((v) => v.split(','));
  if (asked.some((type) => !allowed.includes(type)))
    throw new FhirError(
      400,
      issue(
        'error',
        'invalid',
        // The value is not quoted: a query's text may be anything a client typed.
        `_type names a type $everything does not answer here (allowed: ${allowed.join(', ')})`,
        '_type',
      ),
    );
  return new Set(asked);
}

/** Which matches one answer shows: from `offset`, `count` of them (all when no `_count` is given). */
interface Paging {
  count?: number;
  offset: number;
}

function pagingOf(query: Record<string, string | string[]>): Paging {
  const offset = countParam(query, '_offset', 0, MAX_EVERYTHING);
  if (query._count === undefined) return { offset };
  return { count: countParam(query, '_count', PAGE_SIZE, PAGE_SIZE), offset };
}

/** What one $everything answer collects. */
interface Collected {
  /** Matches: the Patient and its compartment, as `Type/id` → stored JSON (this page's, once paged). */
  matches: Map<string, string>;
  /** How many matches the whole record has. */
  total: number;
  /** This is the record's first page (or all of it). */
  first: boolean;
  /** Referenced resources outside the compartment. */
  included: Map<string, string>;
  /** Compartment types the caller may not search. */
  withheld: string[];
}

export const patientEverything: FhirHandler = async (req, ctx) => {
  const { type, id } = req.params;
  if (type !== 'Patient')
    throw new FhirError(
      404,
      // The type is not quoted: it is whatever the URL held.
      issue(
        'error',
        'not-supported',
        '$everything is an operation on Patient here: Patient/[id]/$everything',
      ),
    );
  refuseUnknownParameters(req.query, EVERYTHING_PARAMETERS, '$everything');
  const since = sinceParam(req.query);
  const dates = dateRangeParams(req.query);
  const types = requestedTypes(req.query._type);
  const paging = pagingOf(req.query);
  // The Patient first: a caller who may not see it gets its refusal, and nothing else is read.
  const patient = await readResourceJson(ctx.store, 'Patient', id);
  const all = new Map<string, string>();
  const withheld: string[] = [];
  if (types.has('Patient') && (!since || Date.parse(patient.lastUpdated) >= Date.parse(since)))
    all.set(`Patient/${id}`, patient.json);
  for (const t of everythingTypes().compartment)
    if (types.has(t) && !(await searchCompartment(ctx, t, { id, since, dates }, all))) withheld.push(t);
  const end = paging.count === undefined ? undefined : paging.offset + paging.count;
  const got: Collected = {
    matches: new Map([...all].slice(paging.offset, end)),
    total: all.size,
    first: paging.offset === 0,
    included: new Map(),
    withheld,
  };
  await includeReferenced(ctx, types, got);
  const links = pageLinks(`${ctx.base}/Patient/${id}/$everything`, req.query, paging, got.total);
  return { status: 200, json: everythingBundle(ctx.base, links, got) };
};

/**
 * POST Patient/[id]/$everything (R4 allows POST for any operation; this one changes nothing): its
 * parameters from a Parameters resource or a form in the body, joined with any in the URL, then as GET.
 */
export const patientEverythingPost: FhirHandler = (req, ctx) => {
  const contentType = headerText(req.headers['content-type']);
  const query = operationQuery(req.query, req.body, contentType, '$everything', ctx.limits.jsonDepth);
  return patientEverything({ ...req, query }, ctx);
};

/**
 * self, and next / previous while paging: the request's own operation parameters in a fixed order
 * (nothing else of its query), with `_offset` moved by a page.
 */
function pageLinks(
  url: string,
  query: Record<string, string | string[]>,
  paging: Paging,
  total: number,
): BundleLink[] {
  const at = (offset: number | undefined) => {
    const q = new URLSearchParams();
    for (const name of ['_type', '_since', 'start', 'end', '_count'])
      if (query[name] !== undefined) q.set(name, [query[name]].flat().join(','));
    if (offset !== undefined) q.set('_offset', String(offset));
    return withQuery(url, q);
  };
  const links: BundleLink[] = [
    { relation: 'self', url: at(query._offset === undefined ? undefined : paging.offset) },
  ];
  const { count, offset } = paging;
  if (count === undefined || count === 0) return links;
  if (offset + count < total) links.push({ relation: 'next', url: at(offset + count) });
  if (offset > 0) links.push({ relation: 'previous', url: at(Math.max(0, offset - count)) });
  return links;
}

function everythingBundle(base: string, link: BundleLink[], got: Collected): string {
  const head: Bundle = { resourceType: 'Bundle', type: 'searchset', total: got.total, link };
  const entries = [
    ...[...got.matches].map(([ref, json]) => searchEntryJson(`${base}/${ref}`, json, 'match')),
    ...[...got.included].map(([ref, json]) => searchEntryJson(`${base}/${ref}`, json, 'include')),
  ];
  // Said once, on the first page (not on a count-only answer, which has no entries).
  if (got.withheld.length && got.first && entries.length)
    entries.push(
      outcomeEntryJson([
        issue(
          'information',
          'suppressed',
          `Not included: the caller may not search ${got.withheld.join(', ')}`,
        ),
      ]),
    );
  return bundleWithEntries(head, entries);
}

function assertNotTooCostly(count: number): void {
  if (count > MAX_EVERYTHING)
    throw new FhirError(
      400,
      issue(
        'error',
        'too-costly',
        `This client's record holds more than ${MAX_EVERYTHING} resources: ask for it in parts with _type or _since`,
      ),
    );
}

/**
 * Adds the Patient's resources of `type` (every page) to `matches`; false when the caller may not
 * search that type (403), which leaves it out instead of failing the whole operation.
 */
async function searchCompartment(
  ctx: FhirContext,
  type: string,
  asked: { id: string; since: string | undefined; dates: DateRangeParams },
  matches: Map<string, string>,
): Promise<boolean> {
  const { id, since, dates } = asked;
  let cursor: string | undefined;
  do {
    let page: Awaited<ReturnType<FhirContext['store']['searchJson']>>;
    try {
      page = await ctx.store.searchJson(type, {
        patient: `Patient/${id}`,
        _count: String(PAGE_SIZE),
        ...(since ? { _lastUpdated: `ge${since}` } : {}),
        ...careDateSearch(type, dates),
        ...(cursor ? { _cursor: cursor } : {}),
      });
    } catch (err) {
      if (err instanceof FhirError && err.status === 403) return false;
      throw err;
    }
    for (let i = 0; i < page.json.length; i++) matches.set(`${type}/${page.ids[i]}`, page.json[i] as string);
    assertNotTooCostly(matches.size);
    cursor = page.nextCursor;
  } while (cursor);
  return true;
}

/**
 * Adds what the matches refer to outside the compartment (of the asked types), found by `_id` searches
 * through the caller's store: a type it may not search, or a resource it may not see or that is gone,
 * is left out.
 */
async function includeReferenced(ctx: FhirContext, types: Set<string>, got: Collected): Promise<void> {
  const { referenced } = everythingTypes();
  const wanted = new Map<string, Set<string>>();
  for (const json of got.matches.values()) {
    eachReference(JSON.parse(json), (ref) => {
      const [type, id] = (localTarget(ref, ctx.base)?.split('/') ?? []) as [string?, string?];
      if (type && id && referenced.includes(type) && types.has(type))
        wanted.set(type, (wanted.get(type) ?? new Set()).add(id));
    });
  }
  let count = got.matches.size;
  for (const ids of wanted.values()) count += ids.size;
  assertNotTooCostly(count);
  for (const [type, ids] of wanted) {
    const all = [...ids];
    for (let i = 0; i < all.length; i += PAGE_SIZE) {
      let page: Awaited<ReturnType<FhirContext['store']['searchJson']>>;
      try {
        page = await ctx.store.searchJson(type, {
          _id: all.slice(i, i + PAGE_SIZE).join(','),
          _count: String(PAGE_SIZE),
        });
      } catch (err) {
        if (err instanceof FhirError && err.status === 403) break;
        throw err;
      }
      for (let k = 0; k < page.json.length; k++)
        got.included.set(`${type}/${page.ids[k]}`, page.json[k] as string);
    }
  }
}
