import type { OperationOutcomeIssue, Reference, Resource } from '@medplum/fhirtypes';
import { type DomainObject, fromFhir } from '../../mapping/index.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import { relativeReference } from '../../shared/references.ts';
import type { StoreWrites } from '../ports.ts';

/** What reading back needs of a store: reads of the resources the objects refer to. */
type ReadBackStore = Pick<StoreWrites, 'read' | 'vread'>;

/**
 * Stored resources read back as domain objects for a GET view, through the caller's store (so a
 * target the caller may not read stays unresolved, as for any read of its own). Stored data is not
 * domain input: whatever was written through `/fhir` (or pulled by the sync) passed the profiles, so
 * it is mapped without re-running the domain's input validation (a title with a trailing space is a
 * valid FHIR string), and a plain literal reference (`Patient/123`, no identifier) is resolved by
 * reading its target. One instance serves one request: each target is read once.
 *
 * What the domain cannot hold and refuses as input (`ELEMENTS` in src/mapping/unheld.ts: a goal
 * target's measure, a referral's performer, a linked client…), a modifier extension or implicitRules
 * does not fail the view: the object is read without it and `warnings` names each element left out (an
 * OperationOutcome issue, `not-supported`), which the view answers with (`answer`), so its caller
 * knows the object does not say all the record says. An object read so is for showing: a write made
 * from it would drop what it left out (`strict` refuses instead, as `fromFhir` does input).
 */
export class ReadBack {
  readonly #store: ReadBackStore;
  readonly #strict: boolean;
  /** What the objects read so far were read without, one issue per element. */
  readonly #warnings: OperationOutcomeIssue[] = [];
  /** Targets by reference, as read (undefined: missing or not readable by this caller). */
  readonly #targets = new Map<string, Promise<Resource | undefined>>();
  readonly #read = new Map<string, Resource | undefined>();

  constructor(store: ReadBackStore, known: Resource[] = [], opts: { strict?: boolean } = {}) {
    this.#store = store;
    this.#strict = opts.strict === true;
    for (const r of known) this.#read.set(`${r.resourceType}/${r.id}`, r);
  }

  /** What the objects read so far leave out of their resources: a warning naming each element. */
  get warnings(): readonly OperationOutcomeIssue[] {
    return this.#warnings;
  }

  /** A view's `body`, with `warnings` when an object read leaves something out. */
  answer<T extends object>(body: T): T & { warnings?: OperationOutcomeIssue[] } {
    return this.#warnings.length ? { ...body, warnings: [...this.#warnings] } : body;
  }

  /**
   * The domain object of a stored resource of our profiles (422 naming the element it cannot map).
   * The mapping asks for the targets it needs; those not read yet are read and the mapping runs again,
   * so only what it asks for is read (each round reads what the last asked; a target's own
   * references are asked in the same round, so two or three rounds suffice).
   */
  async domainOf(resource: Resource): Promise<DomainObject['value']> {
    const read = await this.#map(resource, !this.#strict);
    if (read.failure !== undefined) throw read.failure;
    this.#warnings.push(...read.warnings);
    return read.value as DomainObject['value'];
  }

  /**
   * What a domain object read from `resource` leaves out of it: the warnings a view gives for it, one
   * per element of the resource itself (not of the targets it refers to, which are their own
   * resources), whether or not the rest of it maps. Kept out of `warnings`.
   */
  async unheldIn(resource: Resource): Promise<OperationOutcomeIssue[]> {
    const { warnings } = await this.#map(resource, true);
    return warnings.filter((w) => holdsElement(resource, w.expression?.[0]));
  }

  /** `resource` mapped, reading the targets the mapping asks for; `unheld`: collect warnings. */
  async #map(
    resource: Resource,
    unheld: boolean,
  ): Promise<{ value?: DomainObject['value']; failure?: unknown; warnings: OperationOutcomeIssue[] }> {
    for (;;) {
      const missing = new Set<string>();
      const resolve = (ref: Reference) => {
        const key = ref.reference;
        if (key === undefined) return undefined;
        if (!this.#read.has(key)) missing.add(key);
        return this.#read.get(key);
      };
      // Only the last round's (the one that read the object) are kept.
      const warnings: OperationOutcomeIssue[] = [];
      const onUnheld = unheld
        ? (u: { expression: string; diagnostics: string }) =>
            warnings.push(issue('warning', 'not-supported', u.diagnostics, u.expression))
        : undefined;
      try {
        const { value } = fromFhir(resource, { validate: false, resolve, unheld: onUnheld });
        if (!missing.size) return { value, warnings };
      } catch (failure) {
        if (!missing.size) return { failure, warnings };
      }
      await Promise.all([...missing].map(async (ref) => this.#read.set(ref, await this.#target(ref))));
    }
  }

  /**
   * The resource a relative reference names, read once per request; undefined for any other reference
   * (another server's, a conditional one) and when the caller cannot read it.
   */
  #target(ref: string): Promise<Resource | undefined> {
    const parsed = relativeReference(ref);
    if (!parsed) return Promise.resolve(undefined);
    const key = parsed.version === undefined ? `${parsed.type}/${parsed.id}` : ref;
    const known = this.#read.get(key);
    if (known) return Promise.resolve(known);
    let pending = this.#targets.get(key);
    if (!pending) {
      const { type, id, version } = parsed;
      pending = (
        version === undefined ? this.#store.read(type, id) : this.#store.vread(type, id, version)
      ).catch((err: unknown) => {
        // Missing, deleted or withheld from this caller: the reference stays unresolved.
        if (err instanceof FhirError && [403, 404, 410].includes(err.status)) return undefined;
        throw err;
      });
      this.#targets.set(key, pending);
    }
    return pending;
  }
}

/**
 * Whether `expression` (`Goal.target[0].measure`, as the mapping names an element it reads without)
 * is an element of `resource` itself: one under a reference the mapping resolved
 * (`CarePlan.goal[0].target[0].measure`) is of the target, not of this resource.
 */
function holdsElement(resource: Resource, expression: string | undefined): boolean {
  const steps = expression?.split('.').slice(1) ?? [];
  let node: unknown = resource;
  for (const step of steps) {
    const m = /^([^[]+)(?:\[(\d+)\])?$/.exec(step);
    if (!m || typeof node !== 'object' || node === null) return false;
    node = (node as Record<string, unknown>)[m[1]!];
    if (m[2] !== undefined) node = Array.isArray(node) ? node[Number(m[2])] : undefined;
  }
  return steps.length > 0 && node !== undefined;
}
