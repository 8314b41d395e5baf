import type { OperationOutcomeIssue, Reference, Resource } from '@medplum/fhirtypes';
import { type DomainKind, type DomainTypes, KIND_LABEL, linksOf } from '../../domain/index.ts';
import { idIdentifier } from '../../mapping/index.ts';
import { eachReference } from '../../shared/references.ts';

/** The domain object a write came from, when it was sent alone: what a refusal is told in terms of. */
export interface DomainSource<K extends DomainKind = DomainKind> {
  kind: K;
  value: DomainTypes[K];
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
