// Result shaping: _summary (true, text, data, count, false) and _elements, on read and search.
import type { Resource } from '@medplum/fhirtypes';
import { parseAsWritten, stringifyAsWritten } from '../../shared/json-text.ts';
import { FhirError } from '../../shared/outcome.ts';
import { lastValue } from '../../store/index.ts';
import type { WritePolicy } from '../write-policy.ts';

export const SUMMARY_MODES = ['true', 'text', 'data', 'count', 'false'] as const;
type SummaryMode = (typeof SUMMARY_MODES)[number];

/** The tag R4 puts on a resource some elements were left out of. */
const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };
const ALWAYS = ['resourceType', 'id', 'meta'];

export interface Shape {
  summary?: SummaryMode;
  elements?: string[];
}

/**
 * `_summary` and `_elements` from a query, checked (400 naming the parameter); undefined when absent.
 * A `_summary` given more than once (in the URL and a POST _search body, say) takes its last value, as
 * `_count`, `_total` and `_sort` do; the `_elements` given are all taken.
 */
export function shapeOf(query: Record<string, string | string[] | undefined>): Shape {
  const shape: Shape = {};
  const summary = lastValue(query._summary);
  if (summary !== undefined) {
    if (typeof summary !== 'string' || !(SUMMARY_MODES as readonly string[]).includes(summary)) {
      throw FhirError.badRequest(`_summary must be one of ${SUMMARY_MODES.join(', ')}`, '_summary');
    }
    shape.summary = summary as SummaryMode;
  }
  const elements = query._elements;
  if (elements !== undefined) {
    const list = ([] as string[])
      .concat(elements)
      .flatMap((e) => e.split(','))
      .map((e) => e.trim());
    const bad = list.find((e) => !/^[a-z][A-Za-z0-9]*(\[x\])?$/.test(e));
    if (bad !== undefined)
      throw FhirError.badRequest('_elements lists something that is not an element name', '_elements');
    shape.elements = list;
  }
  return shape;
}

export function wantsShaping(query: Record<string, string | string[] | undefined>): boolean {
  return query._summary !== undefined || query._elements !== undefined;
}

/** Top-level element names of `type` flagged isSummary, and those with min ≥ 1, from the R4 definitions. */
const cache = new Map<string, { summary: Set<string>; mandatory: Set<string> }>();
function elementFlags(
  type: string,
  ctx: { policy: WritePolicy },
): { summary: Set<string>; mandatory: Set<string> } {
  let flags = cache.get(type);
  if (flags) return flags;
  flags = { summary: new Set(), mandatory: new Set() };
  const sd = ctx.policy.definitions.structureDefinition(type);
  for (const el of sd?.snapshot?.element ?? []) {
    const parts = el.path.split('.');
    if (parts.length !== 2) continue;
    const name = parts[1].replace('[x]', '');
    if (el.isSummary) flags.summary.add(name);
    if ((el.min ?? 0) > 0) flags.mandatory.add(name);
  }
  cache.set(type, flags);
  return flags;
}

/** Whether top-level key `key` (e.g. `valueQuantity`) belongs to one of `names` (`value`, `status`). */
function matches(key: string, names: Set<string>): boolean {
  if (names.has(key)) return true;
  for (const n of names) if (key.startsWith(n) && /^[A-Z]/.test(key.slice(n.length))) return true;
  return false;
}

/** The resource with only what the shape asks for; a subset carries the SUBSETTED tag. */
export function shapeResource(resource: Resource, shape: Shape, ctx: { policy: WritePolicy }): Resource {
  const mode = shape.summary;
  if ((mode === undefined || mode === 'false') && !shape.elements) return resource;
  const r = resource as unknown as Record<string, unknown>;
  let keep: (key: string) => boolean;
  if (mode === 'data') keep = (k) => k !== 'text';
  else if (mode === 'text') {
    const { mandatory } = elementFlags(resource.resourceType, ctx);
    keep = (k) => ALWAYS.includes(k) || k === 'text' || matches(k, mandatory);
  } else if (mode === 'true' || mode === 'count') {
    const { summary } = elementFlags(resource.resourceType, ctx);
    keep = (k) => ALWAYS.includes(k) || k === 'implicitRules' || matches(k, summary);
  } else {
    // R4 search.html: servers SHOULD return mandatory elements whether they are requested or not.
    const { mandatory } = elementFlags(resource.resourceType, ctx);
    const wanted = new Set((shape.elements ?? []).map((e) => e.replace('[x]', '')));
    keep = (k) => ALWAYS.includes(k) || matches(k, wanted) || matches(k, mandatory);
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(r)) if (keep(key)) out[key] = r[key];
  const meta = (resource.meta ?? {}) as NonNullable<Resource['meta']>;
  out.meta = { ...meta, tag: [...(meta.tag ?? []), SUBSETTED] };
  return out as unknown as Resource;
}

export function shapeResourceJson(
  json: string,
  query: Record<string, string | string[] | undefined>,
  ctx: { policy: WritePolicy },
): string {
  return shapedJson(json, shapeOf(query), ctx);
}

/** A stored resource's JSON shaped by `_summary`/`_elements`, its numbers as written (`1.50`). */
export function shapedJson(json: string, shape: Shape, ctx: { policy: WritePolicy }): string {
  return stringifyAsWritten(shapeResource(parseAsWritten(json) as Resource, shape, ctx));
}
