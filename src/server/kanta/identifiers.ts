// One resource per business identifier, every one of them: a create is made as a conditional create
// on one identifier (the store's lock makes "is it taken?" and the insert one step), and each of its
// other global identifiers (`urn:ietf:rfc:3986`) is looked up first — taken by a resource its criteria
// would not find, or claimed by an earlier create of the same batch on other criteria, it is a 409.
// An update keeps them all (update-rules.ts).
import type { Resource } from '@medplum/fhirtypes';
import { isGlobalIdentifier } from '../../domain/index.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import type { ReferenceTarget } from '../../store/index.ts';
import { assertCriteriaMatchBody } from '../fhir/interactions.ts';
import type { StoreWrites } from '../ports.ts';

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

/** 409: a create would give a second resource one of these business identifiers. */
export function duplicateIdentifier(type: string, at: string): FhirError {
  return new FhirError(
    409,
    issue(
      'error',
      'duplicate',
      `kanta-identifier: another ${type} already has this business identifier`,
      `${at}.identifier`,
    ),
  );
}

/**
 * What a validated create asks of the store. A plain create becomes a conditional create on its first
 * global identifier whose match is a 409, not the 200 of a conditional create (`createOptions`).
 */
export interface PreparedCreate {
  resource: Resource;
  /** `identifier=…`: the client's criteria, else the resource's first global identifier. */
  ifNoneExist?: string;
  /** Whether the criteria are the client's own If-None-Exist (a match is then the answer). */
  conditional: boolean;
  /** Its global identifiers (`globalTokens`). */
  tokens: string[];
  /** Where it sits, for a refusal: `Observation`, or `Bundle.entry[3].resource`. */
  at: string;
  /** The references it must find (references.ts; none in the open sandbox). */
  targets: ReferenceTarget[];
}

/** The global identifiers of a create that its criteria do not name: looked up before it is written. */
const othersOf = (p: PreparedCreate) => p.tokens.filter((t) => p.ifNoneExist !== `identifier=${t}`);

/** Whether any create needs a lookup (and so a transaction around lookup and write). */
export const needsLookup = (creates: readonly PreparedCreate[]) => creates.some((p) => othersOf(p).length);

/** Whether `r` is what the criteria would find (it carries the identifier they name). */
function found(criteria: string | undefined, r: Resource): boolean {
  if (criteria === undefined) return false;
  try {
    assertCriteriaMatchBody(criteria, r);
    return true;
  } catch {
    return false;
  }
}

/**
 * Per create (in order), the 409 when one of its global identifiers is taken: held by a resource its
 * criteria would not find, or claimed by an earlier create here on other criteria. One lookup per type,
 * and none at all when every create's criteria name its only global identifier. Run in the same
 * transaction as the write when `needsLookup`: the lookup first takes the lock a conditional create on
 * each identifier it looks up takes, so a concurrent create carrying one of them (as its criteria or
 * as another identifier) waits for this transaction, and then finds what it wrote. (Two creates whose
 * identifiers cross — criteria A with B, criteria B with A — can wait on each other; PostgreSQL ends
 * one as a deadlock and the store runs its transaction again.)
 */
export async function takenIdentifiers(
  store: Pick<StoreWrites, 'findByIdentifiers'>,
  creates: readonly PreparedCreate[],
): Promise<Array<FhirError | undefined>> {
  const refused: Array<FhirError | undefined> = creates.map(() => undefined);
  const claimed = new Map<string, string | undefined>();
  creates.forEach((p, k) => {
    const key = (t: string) => `${p.resource.resourceType}|${t}`;
    for (const t of p.tokens) {
      if (claimed.has(key(t)) && claimed.get(key(t)) !== p.ifNoneExist) refused[k] ??= taken(p);
    }
    for (const t of p.tokens) if (!claimed.has(key(t))) claimed.set(key(t), p.ifNoneExist);
  });
  const lookups = new Map<string, { k: number; token: string }[]>();
  creates.forEach((p, k) => {
    const list = lookups.get(p.resource.resourceType) ?? [];
    for (const token of othersOf(p)) list.push({ k, token });
    lookups.set(p.resource.resourceType, list);
  });
  // Types in one order, so that two batches take their locks in the same order.
  for (const type of [...lookups.keys()].sort()) {
    const list = lookups.get(type) as { k: number; token: string }[];
    if (!list.length) continue;
    const idents = list.map(({ token }) => {
      const bar = token.indexOf('|');
      return { system: token.slice(0, bar), value: token.slice(bar + 1) };
    });
    const holders = await store.findByIdentifiers(type, idents, { lock: true });
    list.forEach(({ k }, j) => {
      const p = creates[k] as PreparedCreate;
      if ((holders[j] ?? []).some((h) => !found(p.ifNoneExist, h))) refused[k] ??= taken(p);
    });
  }
  return refused;
}

const taken = (p: PreparedCreate) => duplicateIdentifier(p.resource.resourceType, p.at);
