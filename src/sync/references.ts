import { eachReference, relativeReference, underBaseUrl } from '../shared/references.ts';

const ABSOLUTE = /^https?:\/\//i;

/**
 * Absolute `http(s)://` references anywhere in a resource, except those under `remoteBase` (which
 * point at the remote already). Nothing tells whether one points at this store, so the sync holds a
 * row that has one rather than send a reference into the local side.
 */
export function absoluteReferences(value: unknown, remoteBase: string): string[] {
  const out: string[] = [];
  eachReference(value, (ref) => {
    if (ABSOLUTE.test(ref) && !ref.startsWith(`${remoteBase}/`)) out.push(ref);
  });
  return out;
}

/**
 * `value` with each reference under `remoteBase` (`<base>/Type/id`, versioned or not) as the relative
 * one it names there; the same object when there is none.
 */
export function relativeUnder<T>(value: T, remoteBase: string): T {
  let found = false;
  eachReference(value, (ref) => {
    if (!found && ABSOLUTE.test(ref) && underBaseUrl(ref, remoteBase)) found = true;
  });
  if (!found) return value;
  const copy = structuredClone(value);
  eachReference(copy, (ref, holder) => {
    const rest = ABSOLUTE.test(ref) ? underBaseUrl(ref, remoteBase) : undefined;
    if (rest) holder.reference = rest;
  });
  return copy;
}

/**
 * The `Type/id` every relative reference anywhere in a resource names (inside contained ones too),
 * versioned ones (`Type/id/_history/v`) by their resource.
 */
export function collectReferences(value: unknown): Set<string> {
  const out = new Set<string>();
  eachReference(value, (ref) => {
    const parts = relativeParts(ref);
    if (parts) out.add(parts.target);
  });
  return out;
}

/** The versioned relative references of a resource, as their resource and version. */
export function versionedReferences(value: unknown): Array<{ target: string; version: string }> {
  const out: Array<{ target: string; version: string }> = [];
  eachReference(value, (ref) => {
    const parts = relativeParts(ref);
    if (parts?.version !== undefined) out.push({ target: parts.target, version: parts.version });
  });
  return out;
}

/** `Type/id` or `Type/id/_history/v` as the resource it names and the version, if any. */
export function relativeParts(ref: string): { target: string; version?: string } | undefined {
  const r = relativeReference(ref);
  if (!r) return undefined;
  const target = `${r.type}/${r.id}`;
  return r.version === undefined ? { target } : { target, version: r.version };
}

/**
 * How one relative reference `Type/id` is carried to the other side: another literal reference, a
 * logical reference (the target's business identifier), or `undefined` when it cannot be translated.
 */
export type ReferenceTranslation =
  | { reference: string }
  | { identifier: { system: string; value: string }; type: string };

/**
 * `value` with its relative references (versioned ones included, as written) translated from one
 * side's ids to the other's through `translate`: a copy along the paths to translated references only
 * (the rest is shared with `value`, which is not changed). References it cannot translate are kept as they are and listed in
 * `untranslated` so a caller can refuse to send them.
 */
export function translateReferences<T>(
  value: T,
  translate: (ref: string) => ReferenceTranslation | undefined,
): { value: T; untranslated: string[] } {
  const untranslated: string[] = [];
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const x = walk(v[i]);
        if (x === v[i]) continue;
        out ??= v.slice();
        out[i] = x;
      }
      return out ?? v;
    }
    if (!v || typeof v !== 'object') return v;
    const obj = v as Record<string, unknown>;
    const ref = obj.reference;
    let t: ReferenceTranslation | undefined;
    if (typeof ref === 'string' && relativeParts(ref)) {
      t = translate(ref);
      if (!t) untranslated.push(ref);
    }
    let out: Record<string, unknown> | undefined;
    for (const k in obj) {
      if (k === 'reference' && t) continue;
      const x = walk(obj[k]);
      if (x === obj[k]) continue;
      out ??= { ...obj };
      out[k] = x;
    }
    if (!t) return out ?? v;
    // Keys keep their order: the reference's place takes the translation.
    const res: Record<string, unknown> = {};
    for (const k in obj) {
      if (k !== 'reference') res[k] = (out ?? obj)[k];
      else if ('reference' in t) res.reference = t.reference;
      else {
        res.type = t.type;
        res.identifier = t.identifier;
      }
    }
    return res;
  };
  return { value: walk(value) as T, untranslated };
}
