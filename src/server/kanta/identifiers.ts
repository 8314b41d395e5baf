// A Kanta PHR resource's business identifiers. That each global one names one resource is the facade's
// rule `tyk-id-4` (`identifiersHeldAlone` in the mapping, held by the store with the write); an update
// keeps them all (update-rules.ts).
import type { Resource } from '@medplum/fhirtypes';
import { isGlobalIdentifier } from '../../domain/index.ts';

interface Ident {
  system?: string;
  value?: string;
}

/** A resource's identifiers, whether the type has one or many. */
export function identifiersOf(r: Resource): Ident[] {
  const v = (r as { identifier?: Ident | Ident[] }).identifier;
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Every global business identifier of `r` as a search token `system|value`, each once, in order. */
export function globalTokens(r: Resource): string[] {
  const tokens = identifiersOf(r)
    .filter((i) => isGlobalIdentifier(i.system, i.value))
    .map((i) => `${i.system}|${i.value}`);
  return [...new Set(tokens)];
}
