// The narrow interface every check module and the slicing traversal get: where we are, how to
// report, what the run knows (definitions, terminology, the resource, Bundle and contained scopes),
// and the traversal entry points a check may need to descend. The walker implements it; no module
// imports the walker.
import type { CompiledElement, CompiledStructure, StructureCompiler } from '../compiled.ts';
import type { BindingIssue, BindingStrength } from '../types.ts';
import type { Json } from '../util.ts';
import type { PathStack } from '../walk/path.ts';
import type { IssueCode, Severity } from '../walk/report.ts';

/** The terminology checks the engine needs (the terminology module's `Terminology` satisfies it). */
export interface TerminologyPort {
  checkCode(
    valueSet: string,
    strength: BindingStrength,
    value: { system?: string; code?: string; display?: string },
  ): BindingIssue[];
  checkCodeableConcept(
    valueSet: string,
    strength: BindingStrength,
    codings: Array<{ system?: string; code?: string; display?: string }>,
    text?: string,
  ): BindingIssue[];
  /**
   * The members of a ValueSet (a canonical URL, or the resource itself, e.g. a contained one) when they
   * can all be enumerated offline: every include lists its concepts or names a complete CodeSystem we
   * hold, and every import resolves. Undefined otherwise (membership cannot be refuted).
   */
  members(valueSet: string | Json): ValueSetMembers | undefined;
}

/** A fully enumerated ValueSet: `system` undefined asks whether any of its systems has the code. */
export interface ValueSetMembers {
  has(system: string | undefined, code: string): boolean;
}

/** Resources of the Bundle being validated, for reference resolution. */
export interface BundleScope {
  type: string;
  byUrl: Map<string, Json>;
  /** Every entry with a resource, in order. */
  entries: Array<{ fullUrl: string | undefined; resource: Json }>;
  /** The fullUrl of each entry's resource (relative references resolve against its base). */
  fullUrlOf: Map<Json, string>;
  /** `entries` indexed for reference resolution, made on the first reference (bundle-references.ts). */
  index?: EntryIndex;
}

/** Positions in `BundleScope.entries` by fullUrl and by `Type/id`, in entry order. */
export interface EntryIndex {
  byFullUrl: Map<string, number[]>;
  byTypeId: Map<string, number[]>;
}

/** Choices the caller makes for a whole run. */
export interface WalkPolicy {
  /** Severity of an extension url that resolves to no definition (see ValidatorOptions). */
  unknownExtensions: 'auto' | 'error' | 'warning';
  /** Whether example URLs (example.org, acme.com ...) are accepted (see ValidatorOptions). */
  allowExamples: boolean;
  /** Severity of a wrongly typed reference that does not resolve here (see ValidateOptions). */
  unresolvedReferenceTypes: 'warning' | 'error';
  /**
   * Severity of every empty JSON array; unset, the HL7 validator's: an error for a complex element, a
   * warning for a primitive (see ValidateOptions).
   */
  emptyArrays?: 'warning' | 'error';
  /** Whether diagnostics about a primitive may quote its value (see ValidateOptions). */
  valuesInMessages: boolean;
}

export interface CheckContext {
  readonly compiler: StructureCompiler;
  readonly policy: WalkPolicy;
  readonly terminology: TerminologyPort | undefined;
  /** The path and host stacks. */
  readonly at: PathStack;
  /** Enclosing Bundles, innermost last. */
  readonly bundles: BundleScope[];
  /** Contained resources by id of each enclosing resource, innermost last. */
  readonly containers: Array<Map<string, Json> | undefined>;
  /** The resource being validated and the root resource (`%resource`, `%rootResource`). */
  readonly resource: Json | undefined;
  readonly rootResource: Json | undefined;
  report(severity: Severity, code: IssueCode, message: string, extra?: string): void;
  /** Runs `fn` with issues attributed to `structure` (profiles are named in messages, base definitions not). */
  inPlan(structure: CompiledStructure, fn: () => void): void;
  /** Whether `value` conforms to the profile `url` (decided once per run; see walk/verdicts.ts). */
  conformsTo(value: unknown, url: string): boolean;
  /** Traversal: validates one value of an element (used by the slicing traversal). */
  value(
    value: unknown,
    ext: unknown,
    el: CompiledElement,
    type: string,
    seg: string,
    idx: number,
    inArray: boolean,
  ): void;
}
