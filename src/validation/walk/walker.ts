// Traversal: walks a resource's JSON alongside the compiled element definitions (structures), keeping the
// path and host stacks, and calls the checks (checks/) at each node. The walker is the only
// implementation of CheckContext; the checks see nothing else of it.
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { writtenNumber } from '../../shared/json-text.ts';
import { checkAttachment } from '../checks/attachment.ts';
import {
  checkBlankPrimitiveBinding,
  checkCodeSystem,
  checkComplexBinding,
  checkPrimitiveBinding,
  isCheckedBinding,
} from '../checks/bindings.ts';
import { enterBundle, indexContained } from '../checks/bundle.ts';
import { checkCodeSystemSupplement } from '../checks/codesystem-supplement.ts';
import { checkContainedIds } from '../checks/contained.ts';
import type { BundleScope, CheckContext, TerminologyPort, WalkPolicy } from '../checks/context.ts';
import { checkCapabilityStatement, checkSearchParameter } from '../checks/definitions.ts';
import { checkElementIds } from '../checks/element-ids.ts';
import { checkComplexValue, checkFixedExtensions, checkPrimitiveValue } from '../checks/element-values.ts';
import { checkExtensionContext } from '../checks/extension-context.ts';
import { checkModifierUse, checkUnresolvedExtension } from '../checks/extensions.ts';
import { runInvariants } from '../checks/invariants.ts';
import { checkMeasureReport } from '../checks/measure-report.ts';
import { memberOf } from '../checks/member-of.ts';
import { checkNarrativeLinks } from '../checks/narrative-links.ts';
import { checkNarrativeLanguage, checkXhtmlEntities } from '../checks/narrative.ts';
import { checkQuestionnaire } from '../checks/questionnaire-targets.ts';
import { checkQuestionnaireResponse } from '../checks/questionnaire.ts';
import { checkReference } from '../checks/references.ts';
import { checkSecurityLabels } from '../checks/security-labels.ts';
import { checkStructureDefinition } from '../checks/structure-definition.ts';
import { checkSystem } from '../checks/systems.ts';
import type {
  ChildSlot,
  CompiledElement,
  CompiledStructure,
  StructureCompiler,
  TypeRef,
} from '../compiled.ts';
import { clip, isJsonKind, isPrimitiveCode, onlyWhitespace } from '../primitives.ts';
import type { InvariantEnv } from '../types.ts';
import { type Json, describeJsonValue, isEmpty, isObject } from '../util.ts';
import { PathStack } from './path.ts';
import { type IssueCode, Reporter, type Severity, showQuoted } from './report.ts';
import { resourceProfiles } from './resource-profiles.ts';
import { validateSliced } from './slicing.ts';
import { ProfileVerdicts } from './verdicts.ts';

export type { BundleScope, TerminologyPort };

/** Rules on a whole resource of one type, run once per resource after its definitions. */
const RESOURCE_RULES: Record<string, (ctx: CheckContext, resource: Json) => void> = {
  Questionnaire: checkQuestionnaire,
  QuestionnaireResponse: checkQuestionnaireResponse,
  SearchParameter: checkSearchParameter,
  CapabilityStatement: checkCapabilityStatement,
  MeasureReport: checkMeasureReport,
  StructureDefinition: checkStructureDefinition,
  CodeSystem: checkCodeSystemSupplement,
};

/**
 * `message` without `value`: quoted as the checks quote it (whole or clipped, or as the code of a
 * `system#code`, quoted or in a list), as `the value X is`, or as a value of the wrong JSON kind
 * (`found string "X"`, escaped as JSON).
 */
function withoutValue(message: string, value: unknown): string {
  const text = String(value);
  const json = JSON.stringify(value) ?? text;
  // Every form below holds the value's first characters, plain or JSON-escaped (a clipped quote too).
  const escaped = typeof value === 'string' ? json.slice(1, 51) : json.slice(0, 50);
  if (!message.includes(text.slice(0, 50)) && !message.includes(escaped)) return message;
  let out = message;
  for (const q of [`'${text}'`, `'${clip(text)}'`]) out = out.split(q).join("'…'");
  for (const end of ["'", ',', ')']) out = out.split(`#${text}${end}`).join(`#…${end}`);
  const kind = typeof value;
  if (kind === 'string' || kind === 'number' || kind === 'boolean')
    out = out.split(`found ${kind} ${json}`).join(`found a ${kind}`);
  return out.split(`the value ${text} is`).join('the value is');
}

/** Types whose own checks (bindings, code systems, identifier rules) may quote their leaves. */
const QUOTED_LEAVES: Record<string, (value: Json) => unknown[]> = {
  Coding: (c) => [c.code, c.display],
  CodeableConcept: (cc) => [
    cc.text,
    ...(Array.isArray(cc.coding) ? cc.coding.flatMap((c) => (isObject(c) ? [c.code, c.display] : [])) : []),
  ],
  Quantity: (q) => [q.value, q.code, q.unit],
  Identifier: (i) => [i.value],
  // A conditional reference (`Patient?identifier=…|<HETU>`) or a display (a person's name) is client data.
  Reference: (r) => [r.reference, r.display],
};

/** Shared empties for the common element without type profiles (this runs for every complex value). */
const NO_STRUCTURES: CompiledStructure[] = [];
const NO_URLS: string[] = [];

/** One validation run over one resource (and, in scratch walks, one profile verdict). */

/** R4's abstract resource type that the core definitions list as a resource (`Resource` is not listed). */
const ABSTRACT_RESOURCE = 'DomainResource';
export class Walk implements CheckContext {
  readonly at = new PathStack();
  private readonly out = new Reporter(this.at);
  resource: Json | undefined;
  rootResource: Json | undefined;
  bundles: BundleScope[] = [];
  readonly containers: Array<Map<string, Json> | undefined> = [];
  private sharedVerdicts: ProfileVerdicts | undefined;
  /** Created on first use: most runs never ask for a profile verdict. */
  get verdicts(): ProfileVerdicts {
    this.sharedVerdicts ??= new ProfileVerdicts();
    return this.sharedVerdicts;
  }
  set verdicts(v: ProfileVerdicts) {
    this.sharedVerdicts = v;
  }
  /** How many unresolved extensions enclose the current node. */
  private unresolvedDepth = 0;
  /**
   * With `valuesInMessages` off: the values being checked (a primitive, or a complex value's
   * leaves), kept out of messages.
   */
  private readonly unquoted: unknown[] = [];
  /**
   * How the number being checked was written, when the JSON text wrote a whole number with a fraction
   * or exponent (`1.0`): an integer must not be written so (src/shared/json-text.ts).
   */
  private written: string | undefined;
  /** Depth of the CodeableConcept whose binding check covers its codings (-1: none). */
  private boundConcept = -1;
  private readonly env: InvariantEnv = {
    resource: undefined,
    rootResource: undefined,
    typeName: '',
    path: '',
    memberOf: (value, valueSet) => memberOf(this.terminology, value, valueSet),
    conformsTo: (value, url) => (this.compiler.structure(url) ? this.conformsTo(value, url) : undefined),
  };

  constructor(
    readonly compiler: StructureCompiler,
    readonly terminology: TerminologyPort | undefined,
    readonly policy: WalkPolicy,
  ) {}

  get issues(): OperationOutcomeIssue[] {
    return this.out.issues;
  }

  get errors(): number {
    return this.out.errors;
  }

  report(severity: Severity, code: IssueCode, message: string, extra?: string): void {
    let text = showQuoted(message, this.policy.valuesInMessages);
    for (const v of this.unquoted) text = withoutValue(text, v);
    this.out.report(severity, code, text, extra);
  }

  inPlan(structure: CompiledStructure, fn: () => void): void {
    this.out.attributed(structure.base ? undefined : structure.url, fn);
  }

  conformsTo(value: unknown, url: string): boolean {
    if (!isObject(value)) return false;
    return this.verdicts.decide(value, url, () => {
      const structure = this.compiler.structure(url);
      if (!structure) return false;
      const w = new Walk(this.compiler, this.terminology, this.policy);
      w.rootResource = this.rootResource;
      w.resource = this.resource;
      w.bundles = this.bundles;
      w.verdicts = this.verdicts;
      if (structure.kind === 'resource') w.resourceNode(value, [url]);
      else w.inPlan(structure, () => w.object(value, structure.root, false));
      return w.errors === 0;
    });
  }

  // ---------------------------------------------------------------- resources

  /**
   * Validates a resource node: its base definition, or the given/claimed profiles (whose snapshots
   * include the base rules) when any resolves.
   */
  resourceNode(value: unknown, explicitProfiles: string[] = [], contained = false): void {
    if (!isObject(value)) {
      this.report(
        'error',
        'structure',
        `A resource must be a JSON object (found ${describeJsonValue(value)})`,
      );
      return;
    }
    const rt = value.resourceType;
    if (typeof rt !== 'string') {
      this.report('error', 'structure', 'Unable to find resourceType property');
      return;
    }
    if (!this.compiler.resourceTypes.has(rt)) {
      this.report('error', 'structure', `Unknown resource type '${rt}'`);
      return;
    }
    if (rt === ABSTRACT_RESOURCE) {
      this.report('error', 'structure', `Resource type '${rt}' is abstract: no instance can have it`);
      return;
    }
    const structures = resourceProfiles(this, value, rt, explicitProfiles);
    if (!structures) return;
    const prevResource = this.resource;
    const prevRoot = this.rootResource;
    this.resource = value;
    // %rootResource: the container for a contained resource, else the resource itself (Bundle entries too).
    if (!contained || !this.rootResource) this.rootResource = value;
    this.containers.push(indexContained(value));
    const bundle = rt === 'Bundle';
    if (bundle) this.bundles.push(enterBundle(this, value));
    for (const structure of structures) {
      const prev = this.out.enter(structure.base ? undefined : structure.url);
      try {
        this.at.pushHost(rt, rt, value);
        this.object(value, structure.root, true);
        this.at.popHost();
        this.invariants(structure.root, value, rt);
      } finally {
        this.out.profile = prev;
      }
    }
    this.out.attributed(undefined, () => {
      checkElementIds(this, value, rt);
      checkContainedIds(this, value);
      checkSecurityLabels(this, value);
    });
    const resourceRule = RESOURCE_RULES[rt];
    if (resourceRule) this.out.attributed(undefined, () => resourceRule(this, value));
    if (bundle) this.bundles.pop();
    this.containers.pop();
    this.resource = prevResource;
    this.rootResource = prevRoot;
  }

  // ---------------------------------------------------------------- objects and elements

  /** Validates the properties of `obj` against the children of `el` (a resource root, backbone or type root). */
  object(obj: Json, el: CompiledElement, isResource: boolean): void {
    const index = this.compiler.indexOf(el);
    let empty = true;
    // Choice properties seen so far, in order: a second type of the same choice is a duplicate.
    let choices: ChildSlot[] | undefined;
    // Whether any `_name` companion is present: most objects have none, so no look-up of `_name`.
    let underscored: boolean | undefined;
    // Choice elements given in a type the profile excludes: present all the same (HL7 matches by name).
    let excluded: CompiledElement[] | undefined;
    for (const key in obj) {
      empty = false;
      const slot = index.get(key);
      if (slot === undefined) {
        const choice = key !== 'resourceType' || !isResource ? this.unknownProperty(key, el) : undefined;
        if (choice) {
          excluded ??= [];
          excluded.push(choice);
        }
        continue;
      }
      if (slot.el.choice) {
        const other = choices && otherChoice(choices, slot);
        if (choices) choices.push(slot);
        else choices = [slot];
        if (slot.underscore && obj[slot.key] !== undefined) continue; // validated with its value
        if (other) {
          this.duplicateChoice(other, slot);
          continue;
        }
      } else if (slot.underscore && obj[slot.key] !== undefined) continue; // validated with its value
      if (slot.primitive) underscored ??= hasUnderscoreKey(obj);
      this.child(obj, slot, underscored === true);
    }
    if (empty) {
      this.report('error', 'structure', 'Object must have some content');
      return;
    }
    for (const r of this.compiler.requiredOf(el)) {
      if (isPresent(obj, r, index)) continue;
      // A value of an excluded type is there (no minimum error) but matches no slice.
      if (!excluded?.includes(r)) this.cardinality(r, 0, r.name);
      if (r.slicing && r.slices.length)
        validateSliced(this, r, [], undefined, r.types[0]?.code ?? 'Element', r.name);
      else if (r.choice && r.slices.length) this.sliceMinimums(r, 0);
    }
  }

  /**
   * Reports a property `el` does not define. A choice type the profile excludes (`valueString` where
   * only Quantity is allowed) gets a precise message, and its choice element is returned: the value
   * is there, of the wrong type.
   */
  private unknownProperty(key: string, el: CompiledElement): CompiledElement | undefined {
    for (const child of this.compiler.childrenOf(el)) {
      if (!child.choice || !key.startsWith(child.jsonName)) continue;
      const type = this.compiler.typeSuffixes.get(key.slice(child.jsonName.length).replace(/^_/, ''));
      if (type) {
        const allowed = child.types.map((t) => t.code).join(', ');
        this.report(
          'error',
          'structure',
          `${child.path}: the type '${type}' is not allowed here (allowed: ${allowed})`,
          key,
        );
        return child;
      }
    }
    this.report('error', 'structure', `Unrecognized property '${key}'`, key);
    return undefined;
  }

  /** A second type for the same choice element (`valueString` and `valueInteger`) is reported, not validated. */
  private duplicateChoice(other: ChildSlot, slot: ChildSlot): void {
    this.report(
      'error',
      'structure',
      `${slot.el.path}: only one type of value is allowed (found ${other.key} and ${slot.key})`,
      slot.key,
    );
  }

  private child(obj: Json, slot: ChildSlot, underscored: boolean): void {
    const value = obj[slot.key];
    const ext = underscored && slot.primitive ? obj[slot.ukey] : undefined;
    if (value === undefined && ext === undefined) return; // a JS object with an undefined property: absent, checked as required
    if (slot.el.array) this.repeating(slot, value, ext);
    else {
      this.written = typeof value === 'number' ? writtenNumber(obj, slot.key) : undefined;
      this.single(slot, value, ext);
      this.written = undefined;
    }
  }

  private repeating({ el, key, type, seg, primitive }: ChildSlot, value: unknown, ext: unknown): void {
    if (value !== undefined && !Array.isArray(value)) {
      this.report(
        'error',
        'structure',
        `${el.path}: this property must be an array, not ${describeJsonValue(value)}`,
        seg,
      );
      return;
    }
    if (ext !== undefined && !Array.isArray(ext)) {
      this.report(
        'error',
        'structure',
        `${el.path}: the primitive extension '_${key}' must be an array, not ${describeJsonValue(ext)}`,
        `_${key}`,
      );
      return;
    }
    const values = value as unknown[] | undefined;
    const exts = ext as unknown[] | undefined;
    if ((values && values.length === 0) || (exts && exts.length === 0)) {
      // By default as the HL7 validator's JSON reader: an error for a complex element
      // (JsonParser.parseChildComplex), while it does not look at a primitive's array, where a warning
      // says what is odd. The element then has no values (its minimum cardinality still applies, and an
      // object left empty fails ele-1).
      this.report(
        this.policy.emptyArrays ?? (primitive ? 'warning' : 'error'),
        'structure',
        `${el.path}: array cannot be empty - the property should not be present if it has no values`,
        seg,
      );
    }
    if (values && exts && values.length !== exts.length) {
      this.report(
        'error',
        'structure',
        `${el.path}: the arrays '${key}' (${values.length}) and '_${key}' (${exts.length}) must have the same length`,
        seg,
      );
    }
    const count = Math.max(values?.length ?? 0, exts?.length ?? 0);
    this.cardinality(el, count, seg);
    if (el.slicing && el.slices.length) {
      validateSliced(this, el, values ?? new Array(count).fill(null), exts, type, seg);
      return;
    }
    for (let i = 0; i < count; i++) {
      this.written = values && typeof values[i] === 'number' ? writtenNumber(values, i) : undefined;
      this.value(values?.[i] ?? null, exts?.[i] ?? null, el, type, seg, i, true);
    }
    this.written = undefined;
  }

  private single({ el, key, type, seg }: ChildSlot, value: unknown, ext: unknown): void {
    if (Array.isArray(value)) {
      this.report(
        'error',
        'structure',
        `${el.path}: this property must be a single value, not an array`,
        seg,
      );
      return;
    }
    if (Array.isArray(ext)) {
      this.report(
        'error',
        'structure',
        `${el.path}: the primitive extension '_${key}' must be a single value, not an array`,
        `_${key}`,
      );
      return;
    }
    this.cardinality(el, 1, seg);
    this.value(value ?? null, ext ?? null, el, type, seg, -1, false);
    // `value[x]:valueQuantity`-style slices: constraints for one type of a choice.
    if (el.choice && el.slices.length) {
      for (const s of el.slices)
        if (s.types.length === 1 && s.types[0].code === type)
          this.value(value ?? null, ext ?? null, s, type, seg, -1, false);
    }
  }

  cardinality(el: CompiledElement, count: number, seg: string): void {
    if (count < el.min) {
      this.report('error', 'required', `${el.path}: minimum required = ${el.min}, but only found ${count}`);
    }
    if (count > el.max) {
      if (el.max === 0)
        this.report('error', 'structure', `${el.path}: this element is not allowed (max = 0)`, seg);
      else this.report('error', 'structure', `${el.path}: max allowed = ${el.max}, but found ${count}`, seg);
    }
  }

  private sliceMinimums(el: CompiledElement, count: number): void {
    for (const s of el.slices) {
      if (count < s.min)
        this.report(
          'error',
          'required',
          `${s.path}:${s.sliceName}: minimum required = ${s.min}, but only found ${count}`,
        );
    }
  }

  /**
   * Validates one value of an element: primitive format, or the object against the element's children,
   * type profile or type definition; then fixed/pattern, binding, references and invariants.
   */
  value(
    value: unknown,
    ext: unknown,
    el: CompiledElement,
    type: string,
    seg: string,
    idx: number,
    inArray: boolean,
  ): void {
    this.at.push(seg, idx);
    try {
      if (value === null && ext === null) {
        this.report(
          'error',
          'structure',
          inArray ? `${el.path}: array items cannot be null` : `${el.path}: null is not a valid value`,
        );
        return;
      }
      if (isPrimitiveCode(type)) this.primitive(value, ext, el, type);
      else this.complex(value, el, type);
    } finally {
      this.at.pop();
    }
  }

  private primitive(value: unknown, ext: unknown, el: CompiledElement, type: string): void {
    if (value !== null && !this.policy.valuesInMessages) {
      // Every issue reported while this value (and any primitive in its extensions) is checked drops
      // it from its message, and the number's text as written too.
      const before = this.unquoted.length;
      this.unquoted.push(value);
      if (this.written !== undefined) this.unquoted.push(this.written);
      try {
        this.primitiveChecks(value, ext, el, type);
      } finally {
        this.unquoted.length = before;
      }
      return;
    }
    this.primitiveChecks(value, ext, el, type);
  }

  private primitiveChecks(value: unknown, ext: unknown, el: CompiledElement, type: string): void {
    // A value that is not valid skips what depends on it (fixed/pattern, binding, value invariants);
    // its extensions are walked all the same, as the HL7 validator walks them.
    let valid = value !== null;
    if (typeof value === 'string' && onlyWhitespace(value)) this.blankPrimitive(ext, el);
    else if (value !== null) valid = this.primitiveValue(value, ext, el, type);
    this.primitiveExtensions(value, ext, el, type);
    if (valid && el.invariants.length) {
      el.valueInvariants ??= el.invariants.filter((inv) => inv.key !== 'ele-1');
      if (el.valueInvariants.length)
        runInvariants(this, this.env, el, value, type, undefined, el.valueInvariants);
    }
  }

  /** A primitive's value: its format, then (when valid) fixed/pattern, narrative and binding; false when not valid. */
  private primitiveValue(value: unknown, ext: unknown, el: CompiledElement, type: string): boolean {
    const rule = this.compiler.primitive(type);
    // A number from JSON text is judged as written first (`1.0` is no integer), as the HL7 validator
    // judges the text; a value of the wrong JSON kind is `check`'s to report.
    const written = this.written;
    const lexical =
      written !== undefined && rule && isJsonKind(value, rule.json)
        ? rule.lexical(written, this.policy.valuesInMessages)
        : undefined;
    if (lexical) {
      this.report('error', 'value', lexical);
      return false;
    }
    const problem = rule?.check(value, written);
    if (problem) {
      this.report('error', rule && !isJsonKind(value, rule.json) ? 'structure' : 'value', problem);
      return false;
    }
    const caution = rule?.caution(value, written);
    if (caution) this.report('warning', 'value', caution);
    checkPrimitiveValue(this, el, value, type);
    checkFixedExtensions(this, el, ext);
    if (type === 'xhtml' && typeof value === 'string') {
      checkXhtmlEntities(this, el, value);
      checkNarrativeLinks(this, el.path, value);
      checkNarrativeLanguage(this, value);
    }
    if (el.binding && typeof value === 'string' && (type === 'code' || type === 'string' || type === 'uri'))
      checkPrimitiveBinding(this, el, value);
    return true;
  }

  /**
   * A primitive's `_name` object (id and extensions), walked against its type. Only extensions (a
   * data-absent-reason, say): no value, so no binding to check (the HL7 validator's
   * checkPrimitiveBinding returns early for a primitive without a value).
   */
  private primitiveExtensions(value: unknown, ext: unknown, el: CompiledElement, type: string): void {
    if (ext !== null) {
      if (!isObject(ext)) {
        this.report(
          'error',
          'structure',
          `${el.path}: the primitive extension must be an object (found ${describeJsonValue(ext)})`,
        );
        return;
      }
      // ele-1 on a primitive given only by its `_name` object: an id alone is neither value nor child.
      if (value === null && !(Array.isArray(ext.extension) && ext.extension.length > 0))
        this.report('error', 'invariant', 'ele-1: All FHIR elements must have a @value or children');
      const typeStructure = this.compiler.typeStructure(type);
      if (typeStructure) {
        this.at.pushHost(type, definitionPath(el), value, ext);
        const prev = this.out.enter(undefined);
        try {
          this.object(ext, typeStructure.root, false);
        } finally {
          this.out.profile = prev;
        }
        this.at.popHost();
      }
    }
  }

  /**
   * A value of nothing but white space: the HL7 validator's checkPrimitive warns (unless its `_name`
   * object gives the element children: an id or extensions) and judges neither its format nor its
   * fixed value; under a required binding it is no code.
   */
  private blankPrimitive(ext: unknown, el: CompiledElement): void {
    if (!isObject(ext) || isEmpty(ext))
      this.report('warning', 'value', 'Primitive types should not only be whitespace');
    if (el.binding) checkBlankPrimitiveBinding(this, el);
  }

  private complex(value: unknown, el: CompiledElement, type: string): void {
    if (!isObject(value)) {
      this.report(
        'error',
        'structure',
        `${el.path}: expected an object of type ${type} (found ${describeJsonValue(value)})`,
      );
      return;
    }
    if (type === 'Resource' || this.compiler.resourceTypes.has(type)) {
      this.resourceNode(value, [], el.name === 'contained');
      return;
    }
    if (isEmpty(value)) {
      this.report('error', 'structure', 'Object must have some content');
      return;
    }
    const bound =
      isCheckedBinding(el) && (type === 'CodeableConcept' || type === 'Coding' || type === 'Quantity');
    const prevBoundConcept = this.boundConcept;
    // The binding check of a CodeableConcept covers its codings' own code-system checks.
    if (bound && type === 'CodeableConcept') this.boundConcept = this.at.depth;
    this.at.pushHost(type, definitionPath(el), value);
    this.structure(value, el, type);
    this.at.popHost();
    this.boundConcept = prevBoundConcept;
    const leaves = this.policy.valuesInMessages ? undefined : QUOTED_LEAVES[type]?.(value);
    if (!leaves) {
      this.complexChecks(value, el, type, bound);
      return;
    }
    // As for a primitive: issues reported while this value is checked drop its leaves' values.
    const before = this.unquoted.length;
    for (const leaf of leaves)
      if (leaf !== undefined && leaf !== null && leaf !== '') this.unquoted.push(leaf);
    try {
      this.complexChecks(value, el, type, bound);
    } finally {
      this.unquoted.length = before;
    }
  }

  private complexChecks(value: Json, el: CompiledElement, type: string, bound: boolean): void {
    checkComplexValue(this, el, value);
    if (bound) checkComplexBinding(this, value, el, type);
    else if ((type === 'Coding' && this.boundConcept !== this.at.depth - 1) || type === 'Quantity')
      checkCodeSystem(this, value);
    if (type === 'Reference') checkReference(this, value, el, typeRef(el, type));
    else if (type === 'Attachment') checkAttachment(this, value);
    else if (type === 'Coding' || type === 'Identifier') checkSystem(this, value, type);
    if (el.invariants.length) this.invariants(el, value, type);
  }

  /** The object's own children (backbone), its type profiles, or its type definition. */
  private structure(value: Json, el: CompiledElement, type: string): void {
    const ownChildren = this.compiler.childrenOf(el).length > 0;
    if (ownChildren) this.object(value, el, false);
    const urls = typeRef(el, type)?.profiles;
    const profiles: CompiledStructure[] = urls?.length ? [] : NO_STRUCTURES;
    for (const url of urls ?? NO_URLS) {
      const p = this.compiler.structure(url);
      if (p) profiles.push(p);
      else if (!ownChildren) {
        // Missing from a package we hold: an error (the HL7 validator's verdict); from one we do not
        // hold: a warning, as the defining package may simply not be loaded.
        const registry = this.compiler.registry;
        const missing = registry.covers(url) && !registry.structureDefinition(url);
        this.report(
          missing ? 'error' : 'warning',
          'not-found',
          `${el.path}: profile '${url}' could not be found, so it has not been checked`,
        );
      }
    }
    // Several type profiles are alternatives: the value conforms to one of them (the first that does
    // is checked for its warnings; with none, the first one's errors say why).
    const chosen =
      profiles.length > 1
        ? (profiles.find((p) => this.conformsTo(value, p.url)) ?? profiles[0])
        : profiles[0];
    const viaProfile = chosen !== undefined;
    if (chosen) {
      if (profiles.length > 1 && !this.conformsTo(value, chosen.url))
        this.report(
          'error',
          'structure',
          `${el.path}: Unable to find a match for the specified profile among choices: ${profiles.map((p) => p.url).join(', ')}`,
        );
      if (type === 'Extension') checkExtensionContext(this, chosen);
      this.against(chosen, value, type, el);
    }
    if (ownChildren) {
      const tp = this.compiler.typeStructure(type);
      if (tp?.root.invariants.length) {
        const prev = this.out.enter(undefined);
        try {
          this.invariants(tp.root, value, type, el);
        } finally {
          this.out.profile = prev;
        }
      }
    } else if (!viaProfile) {
      if (type === 'Extension') this.extension(value, el);
      else {
        const tp = this.compiler.typeStructure(type);
        if (tp) this.against(tp, value, type, el);
        else if (type !== 'Element' && type !== 'BackboneElement')
          this.report('error', 'structure', `${el.path}: unknown type '${type}'`);
      }
    }
  }

  /** An extension with no profile on the element: resolve its definition from `url`. */
  private extension(value: Json, el: CompiledElement): void {
    const url = value.url;
    const structure = typeof url === 'string' ? this.compiler.structure(url.split('|')[0]) : undefined;
    if (structure && structure.type === 'Extension') {
      checkExtensionContext(this, structure);
      checkModifierUse(this, structure, el);
      this.against(structure, value, 'Extension', el);
      return;
    }
    // Inside an extension we cannot resolve, its sub-extensions are not reported again.
    if (this.unresolvedDepth === 0) checkUnresolvedExtension(this, value, el);
    const base = this.compiler.typeStructure('Extension');
    this.unresolvedDepth++;
    if (base) this.against(base, value, 'Extension', el);
    this.unresolvedDepth--;
  }

  /** Validates an object against a whole definition (type, profile or extension) and its root invariants. */
  private against(
    structure: CompiledStructure,
    value: Json,
    typeName: string,
    skipKeysOf?: CompiledElement,
  ): void {
    const prev = this.out.enter(structure.base ? undefined : structure.url);
    try {
      this.object(value, structure.root, false);
      this.invariants(structure.root, value, typeName, skipKeysOf);
    } finally {
      this.out.profile = prev;
    }
  }

  private invariants(
    el: CompiledElement,
    node: unknown,
    typeName: string,
    skipKeysOf?: CompiledElement,
  ): void {
    runInvariants(this, this.env, el, node, typeName, skipKeysOf);
  }
}

function typeRef(el: CompiledElement, type: string): TypeRef | undefined {
  for (const t of el.types) if (t.code === type) return t;
  return el.types[0];
}

/** The first earlier property of the same choice element holding another type, if any. */
function otherChoice(seen: ChildSlot[], slot: ChildSlot): ChildSlot | undefined {
  for (const other of seen) if (other.el === slot.el && other.key !== slot.key) return other;
  return undefined;
}

function hasUnderscoreKey(obj: Json): boolean {
  for (const k in obj) if (k.charCodeAt(0) === 95) return true;
  return false;
}

function isPresent(obj: Json, el: CompiledElement, index: Map<string, ChildSlot>): boolean {
  if (!el.choice) return obj[el.name] !== undefined || obj[`_${el.name}`] !== undefined;
  for (const k in obj) if (index.get(k)?.el === el && obj[k] !== undefined) return true;
  return false;
}

/** The element's definition path; for a contentReference, the path it refers to. */
function definitionPath(el: CompiledElement): string {
  return el.contentRef ? el.contentRef.slice(el.contentRef.indexOf('#') + 1) : el.path;
}
