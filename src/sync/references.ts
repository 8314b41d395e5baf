/** Reference strings of the form Type/id found anywhere in a resource (inside contained ones too). */
export function collectReferences(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) collectReferences(v, out);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string' && RELATIVE.test(v)) out.add(v);
      else collectReferences(v, out);
    }
  }
  return out;
}

/**
 * How one relative reference `Type/id` is carried to the other side: another literal reference, a
 * logical reference (the target's business identifier), or `undefined` when it cannot be translated.
 */
export type ReferenceTranslation =
  | { reference: string }
  | { identifier: { system: string; value: string }; type: string };

/**
 * A copy of `value` whose relative references are translated from one side's ids to the other's
 * through `translate`. References it cannot translate are kept as they are and listed in `untranslated`
 * so a caller can refuse to send them.
 */
export function translateReferences<T>(
  value: T,
  translate: (ref: string) => ReferenceTranslation | undefined,
): { value: T; untranslated: string[] } {
  const untranslated: string[] = [];
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!v || typeof v !== 'object') return v;
    const out: Record<string, unknown> = {};
    const ref = (v as { reference?: unknown }).reference;
    const t = typeof ref === 'string' && RELATIVE.test(ref) ? translate(ref) : undefined;
    if (typeof ref === 'string' && RELATIVE.test(ref) && !t) untranslated.push(ref);
    for (const [k, x] of Object.entries(v)) {
      if (k === 'reference' && t) {
        if ('reference' in t) out.reference = t.reference;
        else {
          out.type = t.type;
          out.identifier = t.identifier;
        }
      } else out[k] = walk(x);
    }
    return out;
  };
  return { value: walk(value) as T, untranslated };
}

const RELATIVE = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/;
