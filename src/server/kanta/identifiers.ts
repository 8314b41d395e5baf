// One resource per business identifier, every one of them, whatever its type: a create is made as a
// conditional create on one identifier, and each of its global identifiers (`urn:ietf:rfc:3986`) is
// looked up first in every type Kanta PHR holds, under one lock per identifier — taken by a resource
// of another type, or of its own that its criteria would not find, or claimed by an earlier create of
// the same batch of another type or on other criteria, it is a 409.
// An update keeps them all (update-rules.ts).
import type { Resource } from '@medplum/fhirtypes';
import { isGlobalIdentifier } from '../../domain/index.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import type { ReferenceTarget } from '../../store/index.ts';
import { assertCriteriaMatchBody } from '../fhir/interactions.ts';
import type { StoreWrites } from '../ports.ts';
import { kantaCapability } from './capability.ts';

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

/** The global identifiers of a create that its criteria do not name: looked up in its own type. */
const othersOf = (p: PreparedCreate) => p.tokens.filter((t) => p.ifNoneExist !== `identifier=${t}`);

/**
 * Whether any create needs a lookup (and so a transaction around lookup and write): every global
 * identifier is looked up in every other type Kanta PHR holds.
 */
export const needsLookup = (creates: readonly PreparedCreate[]) => creates.some((p) => p.tokens.length);

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

/** `system|value` as the store's identifier. */
function identOf(token: string): { system: string; value: string } {
  const bar = token.indexOf('|');
  return { system: token.slice(0, bar), value: token.slice(bar + 1) };
}

/**
 * The lock of one global identifier, whatever the type of the resource carrying it: every create
 * takes it for each of its global identifiers before it looks them up, so two creates of one
 * identifier — of one type or two — are one step after another. One lock per identifier, named apart
 * from the store's own (`StoreTx.lock`), not the store's per-type identifier lock in each of the
 * nine types: a 958-entry batch would take nine times as many, past PostgreSQL's default lock table.
 */
const identifierLock = (token: string) => `kanta-identifier:${token}`;

/** Per type, what to look up: its own creates' other identifiers, every other create's every one. */
function lookupsOf(creates: readonly PreparedCreate[]): Map<string, { k: number; token: string }[]> {
  const lookups = new Map<string, { k: number; token: string }[]>();
  for (const type of [...kantaCapability().types.keys()].sort()) {
    const list: { k: number; token: string }[] = [];
    creates.forEach((p, k) => {
      const tokens = p.resource.resourceType === type ? othersOf(p) : p.tokens;
      for (const token of tokens) list.push({ k, token });
    });
    if (list.length) lookups.set(type, list);
  }
  return lookups;
}

/**
 * Per create (in order), the 409 when one of its global identifiers is taken: held by a resource of
 * another type, or of its own that its criteria would not find (the one they find is the store's to
 * answer: a conditional create's match, a plain create's 409), or claimed by an earlier create here
 * of another type or on other criteria. Run in the same transaction as the write when `needsLookup`,
 * after taking each identifier's lock (`identifierLock`): a concurrent create carrying one of them
 * waits for this transaction, and then finds what it wrote. One lookup per type, in one order.
 * (Two creates whose criteria name local identifiers crossing — criteria A with B, criteria B with
 * A — can wait on each other; PostgreSQL ends one as a deadlock and the store runs it again.)
 */
export async function takenIdentifiers(
  store: Pick<StoreWrites, 'findByIdentifiers' | 'lock'>,
  creates: readonly PreparedCreate[],
): Promise<Array<FhirError | undefined>> {
  const refused: Array<FhirError | undefined> = creates.map(() => undefined);
  const claimed = new Map<string, { type: string; criteria?: string }>();
  creates.forEach((p, k) => {
    const type = p.resource.resourceType;
    for (const t of p.tokens) {
      const first = claimed.get(t);
      if (first && (first.type !== type || first.criteria !== p.ifNoneExist))
        refused[k] ??= taken(p, first.type);
    }
    for (const t of p.tokens) if (!claimed.has(t)) claimed.set(t, { type, criteria: p.ifNoneExist });
  });
  if (!claimed.size) return refused;
  await store.lock([...claimed.keys()].map(identifierLock));
  for (const [type, list] of lookupsOf(creates)) {
    const holders = await store.findByIdentifiers(
      type,
      list.map(({ token }) => identOf(token)),
    );
    list.forEach(({ k }, j) => {
      const p = creates[k] as PreparedCreate;
      const own = p.resource.resourceType === type;
      if ((holders[j] ?? []).some((h) => !own || !found(p.ifNoneExist, h))) refused[k] ??= taken(p, type);
    });
  }
  return refused;
}

/** The 409 of a create whose identifier a resource of `holder` (type) has. */
const taken = (p: PreparedCreate, holder: string) =>
  holder === p.resource.resourceType
    ? duplicateIdentifier(holder, p.at)
    : new FhirError(
        409,
        issue(
          'error',
          'duplicate',
          "kanta-identifier: a resource of another type already has this business identifier (Kanta PHR's global identifiers name one resource, whatever its type)",
          `${p.at}.identifier`,
        ),
      );
