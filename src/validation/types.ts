import type {
  CodeSystem,
  ConceptMap,
  ElementDefinitionConstraint,
  Resource,
  StructureDefinition,
  ValueSet,
} from '@medplum/fhirtypes';

/** Conformance resources loaded from FHIR packages, resolved by canonical URL (optionally `url|version`). */
export interface ConformanceRegistry {
  resolve<T extends Resource = Resource>(canonical: string): T | undefined;
  structureDefinition(urlOrTypeName: string): StructureDefinition | undefined;
  valueSet(canonical: string): ValueSet | undefined;
  codeSystem(canonical: string): CodeSystem | undefined;
  conceptMap(canonical: string): ConceptMap | undefined;
  /** Every loaded resource of one type, in load order. */
  all<T extends Resource = Resource>(resourceType: T['resourceType']): T[];
  /** Whether `url|version` names the version held (true without a version). */
  holdsVersion(canonical: string): boolean;
  /** The `extension-domain` parameters of the loaded ImplementationGuides, each once. */
  readonly extensionDomains: readonly string[];
}

/** What a terminology check reports; the engine turns it into an OperationOutcome issue. */
export interface BindingIssue {
  severity: 'error' | 'warning' | 'information';
  code: 'code-invalid' | 'not-supported' | 'invalid' | 'business-rule' | 'not-found';
  message: string;
}

export type BindingStrength = 'required' | 'extensible' | 'preferred' | 'example';

export interface CompiledInvariant {
  key: string;
  severity: 'error' | 'warning';
  human: string;
  /**
   * True when the node satisfies the constraint. `node` is the element the constraint sits on,
   * `typeName` its FHIR type, `path` its ElementDefinition path (e.g. `Observation.component`).
   */
  check(node: unknown, env: InvariantEnv): boolean;
  /**
   * For a constraint that fails per part of the node (dom-3: each unreferenced contained resource),
   * where and why, once `check` has said false; each is reported at `at` below the node, its message
   * after the key. Absent: the failure is reported at the node with `human`.
   */
  failures?(node: unknown, env: InvariantEnv): InvariantFailure[];
}

/** One place where a constraint fails: `at` is a path below the node (`contained[1]`). */
export interface InvariantFailure {
  at: string;
  message: string;
}

export interface InvariantEnv {
  resource: unknown;
  rootResource: unknown;
  typeName: string;
  path: string;
  /**
   * FHIRPath `memberOf(valueSet)`: whether a code, Coding or CodeableConcept is in the value set;
   * undefined when that cannot be told offline (the invariant is then not evaluated).
   */
  memberOf?: (value: unknown, valueSet: string) => boolean | undefined;
  /**
   * FHIRPath `conformsTo(url)`: the engine's verdict whether a node conforms to the profile;
   * undefined when the profile does not resolve (the invariant is then not evaluated).
   */
  conformsTo?: (value: unknown, url: string) => boolean | undefined;
}

export type ConstraintInput = ElementDefinitionConstraint;

/**
 * Thrown by `CompiledInvariant.check` when the expression cannot be evaluated (fhirpath.js cannot parse
 * it, or it fails on this node). The engine reports it as a warning on the node, never as an error:
 * a constraint we cannot evaluate is not evidence that the resource is wrong.
 */
export class InvariantEvaluationError extends Error {
  readonly key: string;
  /** What the evaluator said (its first line); it may quote the values it met. */
  readonly said: string;
  constructor(key: string, cause: unknown) {
    const said = cause instanceof Error ? (cause.message.split('\n')[0] ?? '') : String(cause);
    super(couldNotEvaluate(key, said));
    this.name = 'InvariantEvaluationError';
    this.key = key;
    this.said = said;
  }

  /** The message, with `said` in place of what the evaluator said (e.g. a note that it is left out). */
  saying(said: string): string {
    return couldNotEvaluate(this.key, said);
  }
}

const couldNotEvaluate = (key: string, said: string) => `${key}: could not be evaluated (${said})`;
