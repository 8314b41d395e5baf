// Search as Kanta PHR's statement declares it: only the listed parameters (plus paging), the
// mandatory ones present, and those our store does not index answered by filtering its results.
import type { Resource } from '@medplum/fhirtypes';
import { FhirError, issue } from '../../shared/outcome.ts';
import { relativeReference } from '../../shared/references.ts';
import { INDEXED_PARAMS, dateSearchMatcher, pageSize, referenceUnderBase } from '../../store/index.ts';
import { isFormatParameter } from '../http/query-params.ts';
import type { KantaSearchParam, KantaTypeRules } from './capability.ts';

/** Parameters the store indexes: its own list, plus `_id` and `_lastUpdated`. */
const STORE_PARAMS = new Set<string>(['_id', '_lastUpdated', ...INDEXED_PARAMS]);
/** Paging parameters every search may carry (besides the format parameters). */
const PAGING_PARAMS = new Set(['_count', '_cursor']);
/** Largest page the store gives; a filtered search looks at this many candidates. */
const FILTER_WINDOW = '1000';

export interface KantaSearchPlan {
  store: Record<string, string | string[]>;
  filters: KantaFilter[];
  /** Whether the answer counts the matches (`_total=estimate|accurate`; `none` or none given: no count). */
  total: boolean;
  /** The page size the caller asked for (a filtered search reads FILTER_WINDOW candidates at a time). */
  count: number;
  /** `_cursor`, where a filtered search continues (the store's own paging otherwise). */
  cursor?: string;
}

/** A declared parameter the store does not index, answered by filtering: AND of the values, OR inside one. */
interface KantaFilter {
  param: KantaSearchParam;
  /** Per value, its comma-separated alternatives as tests of one element value. */
  tests: Array<Array<(value: unknown) => boolean>>;
}

/**
 * How a search of `rules.type` with `query` runs: what the store is asked, and what is answered by
 * filtering. `base`: the base URL the request came to (a reference value under it names the relative one).
 */
export function planSearch(
  rules: KantaTypeRules,
  query: Record<string, string | string[]>,
  base?: string,
): KantaSearchPlan {
  const last = (v: string | string[] | undefined) => (Array.isArray(v) ? v.at(-1) : v);
  const plan: KantaSearchPlan = { store: {}, filters: [], total: false, count: pageSize(last(query._count)) };
  for (const [key, raw] of Object.entries(query)) {
    const name = key.split(':')[0];
    if (isFormatParameter(name)) continue;
    if (PAGING_PARAMS.has(name)) {
      plan.store[key] = raw;
      continue;
    }
    const param = rules.searchParams.get(name);
    if (!param) {
      const known = [...rules.searchParams.keys()].join(', ');
      throw new FhirError(
        400,
        issue(
          'error',
          'not-supported',
          `kanta-search: Kanta PHR does not support search parameter '${key}' on ${rules.type} (supported: ${known})`,
          key,
        ),
      );
    }
    if (name === '_total') {
      plan.store[key] = raw;
      plan.total = COUNTED.has(last(raw) as string);
    } else if (STORE_PARAMS.has(name)) plan.store[key] = raw;
    else if (key !== name) throw filteredModifier(key, rules.type);
    else plan.filters.push(filterOf(key, param, Array.isArray(raw) ? raw : [raw], base));
  }
  for (const m of rules.mandatory) {
    // Plain: a modifier (`patient:missing=false`) would let the search reach every patient's data.
    if (Object.keys(query).some((k) => k.startsWith(`${m}:`))) {
      throw new FhirError(
        400,
        issue(
          'error',
          'not-supported',
          `kanta-search: the mandatory search parameter '${m}' takes no modifier on ${rules.type} in Kanta PHR (a plain ${m}=…)`,
          m,
        ),
      );
    }
    if (!Object.keys(query).includes(m)) {
      throw new FhirError(
        400,
        issue(
          'error',
          'required',
          `kanta-search: search parameter '${m}' is mandatory for ${rules.type} in Kanta PHR`,
          m,
        ),
      );
    }
  }
  if (plan.filters.length) {
    // The store pages through the candidates; the caller's page is made of the matches.
    const { _cursor, ...store } = plan.store;
    plan.cursor = last(_cursor);
    plan.store = { ...store, _count: FILTER_WINDOW };
  }
  totalForStore(plan);
  return plan;
}

/** The `_total` values that ask for a count (R4: none | estimate | accurate); an accurate one is an estimate too. */
const COUNTED = new Set(['estimate', 'accurate']);

/**
 * `_total` as the store is asked it. Each value given reaches the store, whose rule judges it (another
 * than none, estimate or accurate is its 400 naming the parameter); one asking for a count becomes
 * `accurate` where the store counts (the store does not count an estimate) and `none` where the
 * search is filtered (countMatches counts the matches, not the windows).
 */
function totalForStore(plan: KantaSearchPlan): void {
  const counted = plan.filters.length ? 'none' : 'accurate';
  for (const [key, raw] of Object.entries(plan.store))
    if (key.split(':')[0] === '_total')
      plan.store[key] = [raw].flat().map((v) => (COUNTED.has(v) ? counted : v));
}

/**
 * A modifier (`:missing`, `:not`, `:below`, `:identifier`, a type…) on a parameter answered by
 * filtering: the filter compares plain values only, so it would answer a wrong empty page.
 */
function filteredModifier(key: string, type: string): FhirError {
  const name = key.split(':')[0];
  return new FhirError(
    400,
    issue(
      'error',
      'not-supported',
      `kanta-search: the sandbox takes search parameter '${name}' on ${type} without a modifier (a plain ${name}=…)`,
      key,
    ),
  );
}

type StoreSearch = (
  params: Record<string, string | string[]>,
) => Promise<{ resources: Resource[]; nextCursor?: string }>;

/**
 * One page of a filtered search: candidates are read from the store window by window, from the
 * caller's cursor on, until the page is full and one more match shows there is a next page, whose
 * cursor continues after the page's last match. `_total` counts every match from the start.
 */
export async function filteredPage(
  search: StoreSearch,
  plan: KantaSearchPlan,
): Promise<{ resources: Resource[]; nextCursor?: string; total?: number }> {
  const found: Resource[] = [];
  let cursor = plan.cursor;
  let from: string | undefined; // where the window holding the page's last match began
  let candidates: Resource[] = []; // that window's resources
  do {
    const window = await search({ ...plan.store, ...(cursor ? { _cursor: cursor } : {}) });
    if (found.length < plan.count) {
      from = cursor;
      candidates = window.resources;
    }
    found.push(...applyFilters(window.resources, plan));
    cursor = window.nextCursor;
  } while (cursor && found.length <= plan.count);
  const resources = found.slice(0, plan.count);
  const page: { resources: Resource[]; nextCursor?: string; total?: number } = { resources };
  const lastShown = resources.at(-1);
  if (found.length > plan.count && lastShown) {
    // The cursor after the last match shown, as the store (or the caller's guard: a party's page
    // token) issues it, by asking for that window again up to that match.
    const upTo = candidates.indexOf(lastShown) + 1;
    const again = await search({ ...plan.store, _count: String(upTo), ...(from ? { _cursor: from } : {}) });
    page.nextCursor = again.nextCursor;
  }
  if (plan.total) page.total = await countMatches(search, plan);
  return page;
}

async function countMatches(search: StoreSearch, plan: KantaSearchPlan): Promise<number> {
  let n = 0;
  let cursor: string | undefined;
  do {
    const window = await search({ ...plan.store, ...(cursor ? { _cursor: cursor } : {}) });
    n += applyFilters(window.resources, plan).length;
    cursor = window.nextCursor;
  } while (cursor);
  return n;
}

/** Definitions in Kanta's statement that still use STU3 element names, with their R4 paths. */
const R4_PATHS: Record<string, string> = {
  'MedicationAdministration.effectiveTime[x]': 'MedicationAdministration.effective[x]',
  'MedicationAdministration.patient': 'MedicationAdministration.subject',
};

/** The values at a statement `definition` path such as `MedicationAdministration.effective[x]`. */
function valuesAt(resource: Resource, definition: string): unknown[] {
  let nodes: unknown[] = [resource];
  for (const step of (R4_PATHS[definition] ?? definition).split('.').slice(1)) {
    const next: unknown[] = [];
    for (const n of nodes) {
      if (!n || typeof n !== 'object') continue;
      const obj = n as Record<string, unknown>;
      const keys = step.endsWith('[x]')
        ? Object.keys(obj).filter((k) => k.startsWith(step.slice(0, -3)))
        : [step];
      for (const k of keys) {
        const v = obj[k];
        if (Array.isArray(v)) next.push(...v);
        else if (v !== undefined) next.push(v);
      }
    }
    nodes = next;
  }
  return nodes;
}

/**
 * A filter's tests, made once: a date value is parsed here (a malformed one is the store's 400 before
 * anything is read) and compared as the store's indexed search compares it, instants and zones included.
 */
function filterOf(
  key: string,
  param: KantaSearchParam,
  values: string[],
  base: string | undefined,
): KantaFilter {
  const testOf = (wanted: string): ((value: unknown) => boolean) => {
    if (param.type === 'date') return dateSearchMatcher(key, wanted);
    if (param.type === 'reference') return (value) => refMatches(value, wanted, base);
    return (value) => value === wanted;
  };
  return { param, tests: values.map((v) => v.split(',').map(testOf)) };
}

/**
 * What a reference names, as the store's index keys it: `Type/id` (any version dropped) for a relative
 * one — or, as the store reads a search value, one under `base` (referenceUnderBase) — and any other
 * text as itself: an absolute URL under another base names that server's resource, whatever it ends with.
 */
function namedHere(ref: string, base: string | undefined): string {
  const rest = referenceUnderBase(ref, base);
  const parsed = relativeReference(rest);
  return parsed ? `${parsed.type}/${parsed.id}` : rest;
}

/**
 * A reference parameter's value matches as the store's indexed search matches it: `Type/id` (or
 * `<base>/Type/id`) names the resource here, a plain id one of any type here, any other text only itself.
 */
function refMatches(value: unknown, wanted: string, base: string | undefined): boolean {
  const ref = typeof value === 'string' ? value : (value as { reference?: string })?.reference;
  if (typeof ref !== 'string') return false;
  const held = namedHere(ref, base);
  return wanted.includes('/') ? held === namedHere(wanted, base) : relativeReference(held)?.id === wanted;
}

function matches(r: Resource, f: KantaFilter): boolean {
  const values = valuesAt(r, f.param.definition);
  // Repeated parameters AND together; commas inside one OR.
  return f.tests.every((alternatives) => alternatives.some((test) => values.some(test)));
}

function applyFilters(resources: Resource[], plan: KantaSearchPlan): Resource[] {
  return plan.filters.length ? resources.filter((r) => plan.filters.every((f) => matches(r, f))) : resources;
}
