import type { OperationOutcomeIssue, Reference, Resource } from '@medplum/fhirtypes';
import { type DomainKind, type DomainTypes, KIND_LABEL, linksOf } from '../../domain/index.ts';
import { idIdentifier } from '../../mapping/index.ts';
import { eachReference } from '../../shared/references.ts';

/**
 * The stored version a change was made from, which the write must replace (`same-version`): a
 * handover's team as it read it (`id` given), or the version a caller's `If-Match` names of the object
 * it posts alone (no `id`: the stored one its business identifier finds).
 */
export interface BasedOn {
  versionId: string;
  id?: string;
}

/** A stored version of a resource (a handover's team, as it was read). */
export interface StoredVersion extends BasedOn {
  resourceType: string;
  id: string;
}

/**
 * The domain object a write came from, when it was sent alone: what a refusal is told in terms of.
 * `basedOn`: the stored version of the object's own resource (its CarePlan, not its Goals) it was made
 * from; without it, the version found when writing.
 */
export interface DomainSource<K extends DomainKind = DomainKind> {
  kind: K;
  value: DomainTypes[K];
  basedOn?: BasedOn;
}

/**
 * The fields of `source` that name the target of `ref`, as `SupportPlan.authorId`: the SDK writes a
 * reference's identifier as the identifier its target's domain id names (`idIdentifier`), so the
 * fields linking to it are those of the domain's link table whose target names that identifier.
 */
export function fieldsNaming(source: DomainSource, ref: Reference): string[] {
  const { system, value } = ref.identifier ?? {};
  if (!system || !value) return [];
  return linksOf(source.kind, source.value)
    .filter((l) => {
      const named = idIdentifier(l.target, l.id);
      return named.system === system && named.value === value;
    })
    .map((l) => `${KIND_LABEL[source.kind]}.${l.field}`);
}

const IN_ENTRY = /^(Bundle\.entry\[(\d+)\]\.resource)\./;

/**
 * A write refusal about a reference of one of the transaction's entries (`Bundle.entry[2].resource.author`:
 * a conditional reference that matches no resource), told as the domain field that made it
 * (`SupportPlan.authorId`): the caller sent that object, never the Bundle. Other issues stay as they are.
 */
export function inDomainTerms(
  issues: OperationOutcomeIssue[],
  entries: readonly { resource?: Resource }[],
  source: DomainSource,
): OperationOutcomeIssue[] {
  return issues.map((i) => {
    const at = i.expression?.[0];
    const m = at === undefined ? null : IN_ENTRY.exec(at);
    if (!m) return i;
    let holder: Reference | undefined;
    eachReference(
      entries[Number(m[2])]?.resource,
      (_ref, obj, path) => {
        if (path === at) holder = obj as Reference;
      },
      m[1],
    );
    const fields = holder ? fieldsNaming(source, holder) : [];
    if (!fields.length) return i;
    const why = (i.diagnostics ?? '').replace(/^entry\[\d+\]: /, '');
    return { ...i, diagnostics: `${fields.join(', ')}: ${why}`, expression: fields, location: fields };
  });
}

/**
 * `issues` with those naming only fields among `from` told as the field `to` instead (a handover's
 * new team member's `professionalId` is the request's `HandoverRequest.professionalId`): what the
 * caller sent, not what the server made of it.
 */
export function retold(
  issues: OperationOutcomeIssue[],
  from: ReadonlySet<string>,
  to: string,
): OperationOutcomeIssue[] {
  return issues.map((i) => {
    const named = i.expression ?? [];
    if (!named.length || !named.every((e) => from.has(e))) return i;
    const prefix = `${named.join(', ')}: `;
    const why = i.diagnostics?.startsWith(prefix) ? i.diagnostics.slice(prefix.length) : i.diagnostics;
    return { ...i, diagnostics: `${to}: ${why ?? ''}`, expression: [to], location: [to] };
  });
}
