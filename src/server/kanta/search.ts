// Search as Kanta PHR's statement declares it: only the listed parameters (plus paging), the
// mandatory ones present, and those our store does not index answered by filtering its results.
import type { Resource } from '@medplum/fhirtypes';
import { FhirError, issue } from '../../shared/outcome.ts';
import { INDEXED_PARAMS } from '../../store/index.ts';
import type { KantaSearchParam, KantaTypeRules } from './capability.ts';

/** Parameters the store indexes: its own list, plus `_id` and `_lastUpdated`. */
const STORE_PARAMS = new Set<string>(['_id', '_lastUpdated', ...INDEXED_PARAMS]);
/** Paging and format parameters every search may carry. */
const RESULT_PARAMS = new Set(['_count', '_cursor', '_format']);
/** Largest page the store gives; a filtered search looks at this many candidates. */
const FILTER_WINDOW = '1000';

export interface KantaSearchPlan {
  store: Record<string, string | string[]>;
  filters: { param: KantaSearchParam; values: string[] }[];
  total: boolean;
}

export function planSearch(rules: KantaTypeRules, query: Record<string, string | string[]>): KantaSearchPlan {
  const plan: KantaSearchPlan = { store: {}, filters: [], total: false };
  for (const [key, raw] of Object.entries(query)) {
    const name = key.split(':')[0];
    if (RESULT_PARAMS.has(name)) {
      if (name !== '_format') plan.store[key] = raw;
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
    if (name === '_total') plan.total = true;
    else if (STORE_PARAMS.has(name)) plan.store[key] = raw;
    else plan.filters.push({ param, values: Array.isArray(raw) ? raw : [raw] });
  }
  for (const m of rules.mandatory) {
    if (!Object.keys(query).some((k) => k.split(':')[0] === m)) {
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
  if (plan.total) plan.store._total = 'accurate';
  if (plan.filters.length) plan.store._count = FILTER_WINDOW;
  return plan;
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

const PREFIX = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(.*)$/;

function dateMatches(value: unknown, wanted: string): boolean {
  const v = typeof value === 'string' ? value : (value as { start?: string })?.start;
  if (typeof v !== 'string') return false;
  const [, prefix = 'eq', date = ''] = PREFIX.exec(wanted) ?? [];
  const cut = v.slice(0, date.length);
  switch (prefix) {
    case 'gt':
    case 'sa':
      return cut > date;
    case 'lt':
    case 'eb':
      return cut < date;
    case 'ge':
      return cut >= date;
    case 'le':
      return cut <= date;
    case 'ne':
      return cut !== date;
    default:
      return cut === date;
  }
}

function refMatches(value: unknown, wanted: string): boolean {
  const ref = typeof value === 'string' ? value : (value as { reference?: string })?.reference;
  return (
    typeof ref === 'string' && (ref === wanted || ref.endsWith(`/${wanted}`) || wanted.endsWith(`/${ref}`))
  );
}

function matches(r: Resource, f: KantaSearchPlan['filters'][number]): boolean {
  const values = valuesAt(r, f.param.definition);
  // Repeated parameters AND together; commas inside one OR.
  return f.values.every((v) =>
    v
      .split(',')
      .some((w) =>
        values.some((x) =>
          f.param.type === 'date'
            ? dateMatches(x, w)
            : f.param.type === 'reference'
              ? refMatches(x, w)
              : x === w,
        ),
      ),
  );
}

export function applyFilters(resources: Resource[], plan: KantaSearchPlan): Resource[] {
  return plan.filters.length ? resources.filter((r) => plan.filters.every((f) => matches(r, f))) : resources;
}
