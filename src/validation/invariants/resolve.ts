// fhirpath.js's resolve() only works asynchronously against a FHIR server. Invariants need the
// reference validator's local reading: a `#id` reference is a contained resource, `#` the
// container, and inside a Bundle a reference is an entry (by fullUrl, or Type/id). Anything else
// resolves to nothing, which published constraints treat as "cannot tell" (e.g. ctm-1's iif(empty())).
import { type JsonObject, isJsonObject } from '../../shared/json-object.ts';

/** The subset of fhirpath.js's evaluation context and ResourceNode this function relies on. */
interface EvalContext {
  vars: {
    rootResource?: unknown;
    resource?: unknown;
    memberOf?: (value: unknown, valueSet: string) => boolean | undefined;
    conformsTo?: (value: unknown, url: string) => boolean | undefined;
  };
}
interface NodeLike {
  data?: unknown;
  constructor: { makeResNode?: (...args: unknown[]) => unknown };
}

function findLocal(root: unknown, reference: string): JsonObject | undefined {
  if (!isJsonObject(root)) return undefined;
  if (reference === '#') return root;
  if (reference.startsWith('#')) {
    const id = reference.slice(1);
    return (Array.isArray(root.contained) ? root.contained : []).find(
      (c): c is JsonObject => isJsonObject(c) && c.id === id,
    );
  }
  if (root.resourceType !== 'Bundle' || !Array.isArray(root.entry)) return undefined;
  for (const e of root.entry) {
    if (!isJsonObject(e) || !isJsonObject(e.resource)) continue;
    const r = e.resource;
    const fullUrl = typeof e.fullUrl === 'string' ? e.fullUrl : '';
    if (fullUrl === reference) return r;
    const local = `${String(r.resourceType)}/${String(r.id)}`;
    if (r.id !== undefined && (reference === local || fullUrl.endsWith(`/${reference}`))) return r;
  }
  return undefined;
}

/**
 * fhirpath.js's own resolve() and memberOf() ask a FHIR or terminology server, asynchronously, and it
 * has no conformsTo(). These answer locally: resolve() as described above, memberOf() from the value
 * sets we can enumerate (the walker's InvariantEnv.memberOf), conformsTo() from the walker's profile
 * verdicts (InvariantEnv.conformsTo); what we cannot tell is an evaluation error (a warning, never a
 * verdict).
 */
export const localInvocations = {
  memberOf: {
    arity: { 1: ['String'] },
    internalStructures: true,
    fn(this: EvalContext, items: NodeLike[], valueSet: string): boolean[] {
      const check = this.vars.memberOf;
      return (items ?? []).map((item) => {
        const verdict = check?.(item?.data ?? item, valueSet);
        if (verdict === undefined)
          throw new Error(`memberOf: the value set '${valueSet}' cannot be expanded here`);
        return verdict;
      });
    },
  },
  // As the HL7 validator: one input item is checked (any other count is false), by the engine's
  // shared profile verdicts; a profile that does not resolve is an evaluation error.
  conformsTo: {
    arity: { 1: ['String'] },
    internalStructures: true,
    fn(this: EvalContext, items: NodeLike[], url: string): boolean[] {
      if (items?.length !== 1) return [false];
      const item = items[0];
      const verdict = this.vars.conformsTo?.(item?.data ?? item, url);
      if (verdict === undefined) throw new Error(`conformsTo: the profile '${url}' does not resolve here`);
      return [verdict];
    },
  },
  resolve: {
    internalStructures: true,
    fn(this: EvalContext, items: NodeLike[]): unknown[] {
      const root = this.vars.rootResource ?? this.vars.resource;
      const out: unknown[] = [];
      for (const item of items ?? []) {
        const data = item?.data ?? item;
        const reference = typeof data === 'string' ? data : isJsonObject(data) ? data.reference : undefined;
        if (typeof reference !== 'string') continue;
        const target = findLocal(root, reference);
        if (!target) continue;
        // Typed nodes, so that `is Practitioner` / `ofType(Practitioner)` work on the result.
        const make = item?.constructor?.makeResNode;
        const rt = target.resourceType;
        out.push(make ? make(this, target, null, rt, null, rt) : target);
      }
      return out;
    },
  },
};
