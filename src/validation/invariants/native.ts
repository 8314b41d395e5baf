import { type JsonObject, isJsonObject } from '../../shared/json-object.ts';
import { compareQuantities } from '../quantity.ts';
import type { InvariantEnv, InvariantFailure } from '../types.ts';
import { quoted } from '../walk/report.ts';
import { collectLocalRefs } from './local-refs.ts';
import { narrativeHasContent, narrativeXhtmlOk } from './narrative.ts';

const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** A constraint implemented in code: faster than fhirpath.js, or right where the published text is not. */
export type NativeCheck = (node: unknown, env: InvariantEnv) => boolean;

/** Where a failed native constraint fails, when that is below the node (see CompiledInvariant.failures). */
export type NativeFailures = (node: unknown, env: InvariantEnv) => InvariantFailure[];

/** ele-1: every element has a value or children (other than `id`). */
function ele1(node: unknown): boolean {
  if (node === null || node === undefined) return false;
  if (!isJsonObject(node)) return typeof node !== 'string' || node.length > 0;
  for (const k in node) {
    const v = node[k];
    if (k === 'id' || k === 'resourceType' || v === null || v === undefined) continue;
    if (Array.isArray(v) ? v.length > 0 : true) return true;
  }
  return false;
}

/** ext-1: an extension has either nested extensions or a value, not both. */
function ext1(node: unknown): boolean {
  if (!isJsonObject(node)) return true;
  // `_valueString` alone (a value carrying only extensions) is a value too, as in FHIRPath.
  const hasValue = Object.keys(node).some(
    (k) => (k.startsWith('value') && k.length > 5) || (k.startsWith('_value') && k.length > 6),
  );
  const hasExtensions = asList(node.extension).length > 0;
  return hasValue !== hasExtensions;
}

const contained = (node: unknown): JsonObject[] =>
  isJsonObject(node) ? asList(node.contained).filter(isJsonObject) : [];

/** dom-2: a contained resource contains no resources. */
const dom2: NativeCheck = (node) => contained(node).every((c) => asList(c.contained).length === 0);

/** dom-4: a contained resource has no meta.versionId or meta.lastUpdated. */
const dom4: NativeCheck = (node) =>
  contained(node).every(
    (c) => !isJsonObject(c.meta) || (c.meta.versionId === undefined && c.meta.lastUpdated === undefined),
  );

/** dom-5: a contained resource has no security labels. */
const dom5: NativeCheck = (node) =>
  contained(node).every((c) => !isJsonObject(c.meta) || asList(c.meta.security).length === 0);

/** dom-6: a (top-level) resource has a narrative; a best-practice warning. Contained resources are exempt. */
const dom6: NativeCheck = (node, env) => {
  if (!isJsonObject(node)) return true;
  if (node !== env.rootResource && contained(env.rootResource).includes(node)) return true;
  return isJsonObject(node.text) && typeof node.text.div === 'string';
};

/**
 * dom-3: the indexes of the contained resources that are not referenced from the rest of the
 * resource, nor from another contained resource that is itself referenced, and do not refer to their
 * container with `#`. A reference names an id, so contained resources sharing an id (an error of its
 * own, checks/contained.ts) are referenced together, and one without an id never is: as the HL7
 * validator's checkContainedReferences judges them.
 */
export function unreferencedContained(node: unknown): number[] {
  const list = contained(node);
  if (list.length === 0) return [];
  const byId = new Map<string, JsonObject[]>();
  for (const c of list) {
    if (typeof c.id !== 'string') continue;
    const same = byId.get(c.id);
    if (same) same.push(c);
    else byId.set(c.id, [c]);
  }
  const reached = new Set<JsonObject>();
  const queue: JsonObject[] = [];
  const reach = (c: JsonObject) => {
    if (reached.has(c)) return;
    reached.add(c);
    queue.push(c);
  };
  const visitRefs = (value: unknown, skipContained: boolean) => {
    collectLocalRefs(value, skipContained, (id) => {
      for (const target of byId.get(id) ?? []) reach(target);
    });
  };
  visitRefs(node, true);
  for (const c of list) {
    let pointsHome = false;
    collectLocalRefs(c, false, (id) => {
      if (id === '') pointsHome = true;
    });
    if (pointsHome) reach(c);
  }
  while (queue.length) visitRefs(queue.pop(), false);
  const unreferenced: number[] = [];
  const all = isJsonObject(node) ? asList(node.contained) : [];
  all.forEach((c, i) => {
    if (isJsonObject(c) && !reached.has(c)) unreferenced.push(i);
  });
  return unreferenced;
}

const dom3: NativeCheck = (node) => unreferencedContained(node).length === 0;

/**
 * dom-3 reported as the HL7 validator reports it: once per unreferenced contained resource, at it
 * (`contained[i]`), naming its id (`quoted`: left out without values in messages, as an id may be
 * client data).
 */
const dom3Failures: NativeFailures = (node) => {
  const all = isJsonObject(node) ? asList(node.contained) : [];
  return unreferencedContained(node).map((i) => {
    const id = isJsonObject(all[i]) ? all[i].id : undefined;
    const which = typeof id === 'string' ? quoted(id) : '(no id)';
    return {
      at: `contained[${i}]`,
      message: `The contained resource ${which} is not referenced to from elsewhere in the containing resource nor does it refer to the containing resource`,
    };
  });
};

/** obs-7: no value[x] when a component has the same code as the observation (deep-equal Coding). */
const obs7: NativeCheck = (node) => {
  // Most Observations have no components: nothing to compare, so no key listing or canonical JSON.
  if (!isJsonObject(node) || node.component === undefined) return true;
  if (!Object.keys(node).some((k) => k.startsWith('value') && k.length > 5)) return true;
  const own = isJsonObject(node.code) ? asList(node.code.coding) : [];
  if (own.length === 0) return true;
  for (const comp of asList(node.component)) {
    if (!isJsonObject(comp) || !isJsonObject(comp.code)) continue;
    for (const c of asList(comp.code.coding)) if (own.some((o) => sameCoding(o, c))) return false;
  }
  return true;
};

/** Deep equality of two Codings; code and system compared first, as they nearly always differ. */
function sameCoding(a: unknown, b: unknown): boolean {
  if (
    isJsonObject(a) &&
    isJsonObject(b) &&
    (differentStrings(a.code, b.code) || differentStrings(a.system, b.system))
  )
    return false;
  return canonicalJson(a) === canonicalJson(b);
}

const differentStrings = (a: unknown, b: unknown) =>
  typeof a === 'string' && typeof b === 'string' && a !== b;

/** bdl-8: an entry's fullUrl is not a version-specific URL. */
const bdl8: NativeCheck = (node) =>
  !isJsonObject(node) || typeof node.fullUrl !== 'string' || !node.fullUrl.includes('/_history/');

/** JSON with sorted keys, so deep equality becomes string equality. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isJsonObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

// eld-19/eld-20 as the HL7 validator evaluates them for R4 (its corrected, anchored patterns); the
// published regexes do not compile in JavaScript. `[ \t\n\v\f\r]` is Java's (ASCII) \s.
const ELD19 =
  /^[^ \t\n\v\f\r.,:;'"/|?!@#$%&*()[\]{}]{1,64}(\.[^ \t\n\v\f\r.,:;'"/|?!@#$%&*()[\]{}]{1,64}(\[x\])?(:[^ \t\n\v\f\r.]+)?)*$/;
const ELD20 = /^[A-Za-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*(\[x])?)*$/;
// eld-16: the published regex escapes `@` (`\@`), which a JavaScript unicode-mode regex rejects, so
// fhirpath.js cannot compile it.
const ELD16 = /^[a-zA-Z0-9/\-_[\]@]+$/;
const eld16: NativeCheck = (node) =>
  !isJsonObject(node) ||
  node.sliceName === undefined ||
  (typeof node.sliceName === 'string' && ELD16.test(node.sliceName));
const pathMatches =
  (re: RegExp): NativeCheck =>
  (node) =>
    !isJsonObject(node) || typeof node.path !== 'string' || re.test(node.path);

/** txt-1 / txt-2 sit on `Narrative.div` (node = the div string) or on the Narrative itself. */
const divOf = (node: unknown): unknown => (isJsonObject(node) ? node.div : node);

export const nativeChecks: Record<string, NativeCheck> = {
  'ele-1': ele1,
  'obs-7': obs7,
  'eld-19': pathMatches(ELD19),
  'eld-20': pathMatches(ELD20),
  'eld-16': eld16,
  'bdl-8': bdl8,
  'ext-1': ext1,
  'dom-2': dom2,
  'dom-3': dom3,
  'dom-4': dom4,
  'dom-5': dom5,
  'dom-6': dom6,
  'txt-1': (node) => narrativeXhtmlOk(divOf(node)),
  'txt-2': (node) => narrativeHasContent(divOf(node)),
};

/** Native constraints reported where they fail (below the node) rather than at the node. */
export const nativeFailures: Record<string, NativeFailures> = {
  'dom-3': dom3Failures,
};

/**
 * Fast answers for common core constraints, falling back to fhirpath.js (undefined) whenever the
 * case is not the plain one, so the published semantics still decide the rest.
 */
export type FastPath = (node: unknown, env: InvariantEnv) => boolean | undefined;

const DATE_ONLY = /^\d{4}(-\d{2}(-\d{2})?)?$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/;

/** per-1: start <= end, decided here for equal-precision values (dates, or dateTimes to the second). */
const per1: FastPath = (node) => {
  if (!isJsonObject(node) || typeof node.start !== 'string' || typeof node.end !== 'string') return undefined;
  const { start, end } = node;
  if (DATE_ONLY.test(start) && DATE_ONLY.test(end) && start.length === end.length) return start <= end;
  if (DATE_TIME.test(start) && DATE_TIME.test(end)) return Date.parse(start) <= Date.parse(end);
  return undefined;
};

/**
 * rng-2: low <= high, as the HL7 validator's FHIRPath engine compares the two Quantities: by value
 * when system and code are the same on both, both absent included (fhirpath.js passes those whatever
 * the values), after UCUM conversion otherwise (`compareQuantities`, the one Quantity comparison).
 * No other core constraint compares two Quantity elements. Deferred when they cannot be compared.
 */
const rng2: FastPath = (node) => {
  if (!isJsonObject(node)) return undefined;
  const { low, high } = node;
  if (low === undefined || high === undefined) return true;
  if (!isJsonObject(low) || !isJsonObject(high)) return undefined;
  const order = compareQuantities(low, high);
  return order === undefined ? undefined : order <= 0;
};

const RESPONSE_TYPES = new Set(['batch-response', 'transaction-response', 'history']);

/** bdl-4: entries have a response exactly in batch-response, transaction-response and history Bundles. */
const bdl4: FastPath = (node) => {
  if (!isJsonObject(node) || typeof node.type !== 'string') return undefined;
  const want = RESPONSE_TYPES.has(node.type);
  return asList(node.entry).every((e) => isJsonObject(e) && (e.response !== undefined) === want);
};

/** org-1: an organization has an identifier or a name. */
const org1: FastPath = (node) =>
  isJsonObject(node) && (asList(node.identifier).length > 0 || asList(node.name).length > 0)
    ? true
    : undefined;

/** A `value[x]` property (valueQuantity, valueString ...) on the object. */
const hasValueX = (node: JsonObject): boolean =>
  Object.keys(node).some((k) => k.length > 5 && k.startsWith('value') && k.charCodeAt(5) < 91);

/** vs-1 (vital signs effective[x]): a dateTime at least to the day; plain when it is one. */
const vs1: FastPath = (node) => (typeof node === 'string' && node.length >= 8 ? true : undefined);

/** vs-2: an Observation without components or members has a value or a dataAbsentReason. */
const vs2: FastPath = (node) => {
  if (!isJsonObject(node)) return undefined;
  if (asList(node.component).length || asList(node.hasMember).length) return true;
  return hasValueX(node) || node.dataAbsentReason !== undefined ? true : undefined;
};

/** vs-3: each component has a value or a dataAbsentReason. */
const vs3: FastPath = (node) =>
  isJsonObject(node) && (hasValueX(node) || node.dataAbsentReason !== undefined) ? true : undefined;

export const fastPaths: Record<string, FastPath> = {
  'per-1': per1,
  'rng-2': rng2,
  'bdl-4': bdl4,
  'org-1': org1,
  'vs-1': vs1,
  'vs-2': vs2,
  'vs-3': vs3,
};
