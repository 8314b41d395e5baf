import { type Json, isObject } from '../util.ts';
import { quoted } from '../walk/report.ts';
import type { CheckContext } from './context.ts';

/**
 * Contained resources need an id ("Resource requires an id, but none is present") and one of their
 * own: a second contained resource with an id already used is an error at it. The HL7 validator's
 * validateResource (ids are required of contained resources) and validateContains
 * (RESOURCE_DUPLICATE_CONTAINED_ID) report these; whether they are referenced is dom-3's business
 * (invariants/native.ts).
 */
export function checkContainedIds(ctx: CheckContext, resource: Json): void {
  const list = resource.contained;
  if (!Array.isArray(list) || list.length === 0) return;
  const seen = new Set<string>();
  list.forEach((c, i) => {
    if (!isObject(c) || typeof c.resourceType !== 'string') return;
    const id = c.id;
    if (id === undefined) {
      ctx.report('error', 'invalid', 'Resource requires an id, but none is present', `contained[${i}]`);
      return;
    }
    if (typeof id !== 'string') return; // a wrong kind of value: the walk reports that
    if (seen.has(id))
      ctx.report('error', 'duplicate', `Duplicate contained resource id ${quoted(id)}`, `contained[${i}]`);
    seen.add(id);
  });
}
