/**
 * Builders for vendors who do not want to learn the profiles: hand over a typed domain object, get
 * conforming FHIR back.
 *
 * ```ts
 * const bundle = workAbility.assessment({ id: 'a1', clientId: 'c1', ... }).toBundle();
 * ```
 */
import type { Resource } from '@medplum/fhirtypes';
import {
  type DomainKind,
  type DomainTypes,
  type WorkAbilityRecord,
  validateDomain,
} from '../domain/index.ts';
import { transactionBundle } from './bundle.ts';
import type { ObjectBundle, RecordBundle } from './from-fhir.ts';
import type { MappingOptions } from './options.ts';
import { toFhir, toResources } from './to-fhir.ts';

export class DomainBuilder<K extends DomainKind> {
  constructor(
    readonly kind: K,
    readonly value: DomainTypes[K],
    private readonly opts: MappingOptions = {},
  ) {
    if (opts.validate !== false) validateDomain(kind, value, opts.related);
  }

  /** Same object, other options (language, application, …). */
  with(opts: MappingOptions): DomainBuilder<K> {
    return new DomainBuilder(this.kind, this.value, { ...this.opts, ...opts, validate: false });
  }

  /** All resources (scores before their assessment, goals before their plan). */
  toResources(): Resource[] {
    return toResources(this.kind, this.value, { ...this.opts, validate: false });
  }

  /** The main resource (the assessment Observation, the CarePlan, …). */
  toResource(): Resource {
    const all = this.toResources();
    return all[all.length - 1]!;
  }

  /**
   * A transaction Bundle; references to resources outside it become conditional references. `fromFhir`
   * reads it back as `{ kind, value }` (a client's, which holds its Patient, as its record).
   */
  toBundle(): K extends 'client' ? RecordBundle : ObjectBundle<K> {
    return transactionBundle(this.toResources()) as K extends 'client' ? RecordBundle : ObjectBundle<K>;
  }
}

export class RecordBuilder {
  constructor(
    readonly value: WorkAbilityRecord,
    private readonly opts: MappingOptions = {},
  ) {}
  toBundle(): RecordBundle {
    return toFhir(this.value, this.opts);
  }
}

function builder<K extends DomainKind>(kind: K) {
  return (value: DomainTypes[K], opts?: MappingOptions) => new DomainBuilder(kind, value, opts);
}

/** Entry point of the builders: `workAbility.<kind>({...}).toBundle()`. */
export const workAbility = {
  client: builder('client'),
  organization: builder('organization'),
  professional: builder('professional'),
  assessment: builder('assessment'),
  selfAssessment: builder('selfAssessment'),
  consent: builder('consent'),
  plan: builder('plan'),
  referral: builder('referral'),
  team: builder('team'),
  record: (value: WorkAbilityRecord, opts?: MappingOptions) => new RecordBuilder(value, opts),
};
