// A Kanta PHR write's references. The open sandbox models no `referencePolicy` (Kanta's example batch
// refers to a Patient it does not contain), so nothing is checked there. Behind authentication there
// are receiving parties, and an accepted write about a Patient a party may not read would tell it
// that the Patient exists: there each literal reference to a resource here must name one the caller
// may see (store-ref-1, a hidden target refused as a missing one), as the ordinary facade's writes do.
import type { Resource } from '@medplum/fhirtypes';
import type { FhirError } from '../../shared/outcome.ts';
import { type ReferenceTarget, requireTargets } from '../../store/index.ts';
import { targetsOf } from '../fhir/references.ts';
import type { StoreWrites } from '../ports.ts';

export interface ReferenceCheck {
  /** The references a write must find (checked by the guarded store with the write); none when off. */
  checkReferences?: boolean;
  base: string;
}

/** The targets of `resource` (reported at `path`, e.g. `Observation` or `Bundle.entry[2].resource`). */
export function writeTargets(ctx: ReferenceCheck, resource: Resource, path: string): ReferenceTarget[] {
  return ctx.checkReferences ? targetsOf(resource, ctx.base, path) : [];
}

/**
 * Each write's store-ref-1 refusal ahead of the writes, from one look-up of all their targets (as the
 * caller sees them): a batch's entry fails alone, where the guarded store refuses a whole `createMany`
 * for one entry's hidden target. The store checks again with the write.
 */
export async function refusedTargets(
  store: Pick<StoreWrites, 'absent'>,
  targets: ReadonlyArray<readonly ReferenceTarget[]>,
): Promise<Array<FhirError | undefined>> {
  const refs = [...new Set(targets.flatMap((list) => list.map((t) => t.ref)))];
  if (!refs.length) return targets.map(() => undefined);
  const gone = await store.absent(refs);
  return Promise.all(
    targets.map((list) =>
      requireTargets(list, async () => gone).then(
        () => undefined,
        (err: FhirError) => err,
      ),
    ),
  );
}
