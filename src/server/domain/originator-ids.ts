import type { Identifier, Reference, Resource } from '@medplum/fhirtypes';
import { GLOBAL_IDENTIFIER_SYSTEM } from '../../domain/index.ts';
import { derivedBusinessId } from '../../mapping/index.ts';
import { eachReference } from '../../shared/references.ts';

/**
 * `incoming`, a new version of `stored` (found by its business identifier), with the local ids of the
 * sender that wrote `stored` kept. An object the SDK read from another sender's resources has a
 * carried id (`urn.uuid.<UUID>`): the SDK does not know that sender's local-id system, so it sends the
 * object, and its references, with the business identifier alone. Each identifier of `stored` that is
 * the local id a business identifier derives from (`derivedBusinessId`) is put back where `incoming`
 * names only that business identifier: after the resource's own business identifier, and as the
 * identifier of a reference naming it. So a record read elsewhere and sent back unchanged is
 * unchanged (no new version), and a changed one does not drop the originator's local ids.
 */
export function withOriginatorIds<T extends Resource>(incoming: T, stored: Resource): T {
  const local = new Map<string, Identifier>();
  const note = (id: Identifier | undefined) => {
    if (!id || id.system === GLOBAL_IDENTIFIER_SYSTEM) return;
    const business = derivedBusinessId(id);
    if (business !== undefined && !local.has(business)) local.set(business, id);
  };
  for (const id of identifierList(stored)) note(id);
  eachReference(stored, (_ref, holder) => note((holder as Reference).identifier));
  if (!local.size) return incoming;

  const out = structuredClone(incoming);
  const own = identifierList(out);
  const at = own.findIndex((i) => i.system === GLOBAL_IDENTIFIER_SYSTEM);
  const kept = at === -1 ? undefined : local.get(own[at]!.value ?? '');
  const list = (out as { identifier?: unknown }).identifier;
  if (kept && Array.isArray(list) && !own.some((i) => sameIdentifier(i, kept)))
    own.splice(at + 1, 0, { ...kept });
  eachReference(out, (_ref, holder) => {
    const id = (holder as Reference).identifier;
    const named = id?.system === GLOBAL_IDENTIFIER_SYSTEM ? local.get(id.value ?? '') : undefined;
    if (named) (holder as Reference).identifier = { ...named };
  });
  return out;
}

/** A resource's own identifiers (an array, or a QuestionnaireResponse's one) as a list. */
function identifierList(resource: Resource): Identifier[] {
  const ids = (resource as { identifier?: Identifier[] | Identifier }).identifier;
  return Array.isArray(ids) ? ids : ids ? [ids] : [];
}

function sameIdentifier(a: Identifier, b: Identifier): boolean {
  return a.system === b.system && a.value === b.value;
}
