import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { checkAttachment } from './attachment.ts';
import { checkExtensionContext } from './context.ts';
import { type CrossVersionExtension, crossVersionExtension, crossVersionValueTypes } from './crossversion.ts';
import type { ChildSlot, ElementPlan, PlanCompiler, StructurePlan, TypeRef } from './plan.ts';
import { isJsonKind, isPrimitiveCode } from './primitives.ts';
import { checkQuestionnaireResponse } from './questionnaire.ts';
import { checkReference } from './references.ts';
import { validateSliced } from './slicing.ts';
import { checkSystem } from './systems.ts';
import {
  type BindingIssue,
  type BindingStrength,
  type CompiledInvariant,
  type InvariantEnv,
  InvariantEvaluationError,
} from './types.ts';
import { compareTemporal, deepEqual, matchesPattern } from './values.ts';

type Severity = OperationOutcomeIssue['severity'];
type Code = OperationOutcomeIssue['code'];
type Json = Record<string, unknown>;

/** The terminology checks the engine needs (the colleague's `Terminology` satisfies it). */
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
}

/** Resources of the Bundle being validated, for reference resolution. */
export interface BundleScope {
  type: string;
  byUrl: Map<string, Json>;
}

/**
 * One validation run. Paths are kept as a stack of (segment, index) pairs and only turned into strings
 * when an issue is reported.
 */
export class Walk {
  readonly issues: OperationOutcomeIssue[] = [];
  private readonly seen = new Set<string>();
  private readonly segs: string[] = [];
  private readonly idxs: number[] = [];
  depth = 0;
  /** Profile URL when validating against a non-core definition (named in messages). */
  profile: string | undefined;
  resource: Json | undefined;
  rootResource: Json | undefined;
  /** Logical element path (e.g. `Patient.name`) of the element holding the current object, for extension contexts. */
  readonly hostTypes: string[] = [];
  /** Element definition path of each host on `hostTypes` (a contentReference's target path, e.g. `OperationDefinition.parameter` for `parameter.part`). */
  readonly hostPaths: string[] = [];
  /** The JSON node of each host on `hostTypes` (for extension contextInvariants). */
  readonly hostNodes: unknown[] = [];
  bundles: BundleScope[] = [];
  /** Stack of the current resource's contained resources by id. */
  containers: Array<Map<string, Json> | undefined> = [];
  errors = 0;
  private verdictCache: WeakMap<object, Map<string, boolean>> | undefined;
  /** Whether an object conforms to a profile (by URL), shared with scratch walks of the same run. */
  get verdicts(): WeakMap<object, Map<string, boolean>> {
    this.verdictCache ??= new WeakMap();
    return this.verdictCache;
  }
  set verdicts(cache: WeakMap<object, Map<string, boolean>>) {
    this.verdictCache = cache;
  }
  /** Depth of the CodeableConcept whose binding check covers its codings (-1: none). */
  private boundConcept = -1;
  private readonly env: InvariantEnv = {
    resource: undefined,
    rootResource: undefined,
    typeName: '',
    path: '',
  };

  constructor(
    readonly compiler: PlanCompiler,
    readonly terminology: TerminologyPort | undefined,
  ) {}

  push(seg: string, idx = -1): void {
    this.segs[this.depth] = seg;
    this.idxs[this.depth] = idx;
    this.depth++;
  }

  pop(): void {
    this.depth--;
  }

  path(extra?: string): string {
    let s = '';
    for (let i = 0; i < this.depth; i++) {
      if (i) s += '.';
      s += this.segs[i];
      if (this.idxs[i] >= 0) s += `[${this.idxs[i]}]`;
    }
    return extra ? (s ? `${s}.${extra}` : extra) : s;
  }

  /** Element path without indexes and type casts, e.g. `Patient.name.given`. */
  logicalPath(): string {
    let s = '';
    for (let i = 0; i < this.depth; i++) {
      const seg = this.segs[i];
      const cast = seg.indexOf('.ofType(');
      if (i) s += '.';
      s += cast >= 0 ? seg.slice(0, cast) : seg;
    }
    return s;
  }

  report(severity: Severity, code: Code, message: string, extra?: string): void {
    const expression = this.path(extra);
    const key = `${severity}|${expression}|${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const diagnostics = this.profile ? `${message} (from ${this.profile})` : message;
    this.issues.push(
      expression
        ? { severity, code, diagnostics, expression: [expression], location: [expression] }
        : { severity, code, diagnostics },
    );
    if (severity === 'error' || severity === 'fatal') this.errors++;
  }

  // ---------------------------------------------------------------- resources

  /**
   * Validates a resource node: its base definition, or the given/claimed profiles (whose snapshots
   * include the base rules) when any resolves.
   */
  resourceNode(value: unknown, explicitProfiles: string[] = [], contained = false): void {
    if (!isObject(value)) {
      this.report('error', 'structure', `A resource must be a JSON object (found ${kindOf(value)})`);
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
    const base = this.compiler.typePlan(rt);
    if (!base) return;
    const plans: StructurePlan[] = [];
    const meta = value.meta;
    const claimed = isObject(meta) && Array.isArray(meta.profile) ? (meta.profile as unknown[]) : [];
    const wanted = explicitProfiles.length ? [...explicitProfiles, ...claimed] : claimed;
    for (let i = 0; i < wanted.length; i++) {
      const url = wanted[i];
      if (typeof url !== 'string') continue;
      const p = this.compiler.plan(url);
      const fromMeta = i >= explicitProfiles.length;
      if (!p && this.compiler.registry.structureDefinition(url)) {
        // Differential-only definitions need a snapshot generator, which the engine does not have.
        this.report(
          'warning',
          'not-supported',
          `Profile '${url}' has no snapshot, so it has not been checked`,
          fromMeta ? `meta.profile[${i - explicitProfiles.length}]` : undefined,
        );
        continue;
      }
      if (!p) {
        this.report(
          fromMeta ? 'warning' : 'error',
          fromMeta ? 'informational' : 'not-found',
          `Profile reference '${url}' has not been checked because it could not be found`,
          fromMeta ? `meta.profile[${i - explicitProfiles.length}]` : undefined,
        );
        continue;
      }
      if (p.type !== rt || p.kind !== 'resource') {
        this.report(
          'error',
          'invalid',
          `Profile '${url}' is for type '${p.type}' and cannot apply to a ${rt}`,
        );
        continue;
      }
      if (!p.base && !plans.includes(p)) plans.push(p);
    }
    if (!plans.length) plans.push(base);

    const prevResource = this.resource;
    const prevRoot = this.rootResource;
    const prevProfile = this.profile;
    this.resource = value;
    // %rootResource: the container for a contained resource, else the resource itself (Bundle entries too).
    if (!contained || !this.rootResource) this.rootResource = value;
    this.containers.push(indexContained(value));
    const bundle = rt === 'Bundle' ? this.enterBundle(value) : undefined;
    for (const plan of plans) {
      this.profile = plan.base ? undefined : plan.url;
      this.hostTypes.push(rt);
      this.hostPaths.push(rt);
      this.hostNodes.push(value);
      this.object(value, plan.root, true);
      this.hostTypes.pop();
      this.hostPaths.pop();
      this.hostNodes.pop();
      this.runInvariants(plan.root, value, rt);
    }
    if (rt === 'QuestionnaireResponse') {
      this.profile = undefined;
      checkQuestionnaireResponse(this, value);
    }
    if (bundle) this.bundles.pop();
    this.containers.pop();
    this.profile = prevProfile;
    this.resource = prevResource;
    this.rootResource = prevRoot;
  }

  private enterBundle(bundle: Json): BundleScope {
    const type = typeof bundle.type === 'string' ? bundle.type : '';
    const scope: BundleScope = { type, byUrl: new Map() };
    const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
    const versions = new Map<string, Set<unknown>>();
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (!isObject(e)) continue;
      const fullUrl = e.fullUrl;
      const res = isObject(e.resource) ? e.resource : undefined;
      if (typeof fullUrl === 'string') {
        if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(fullUrl)) {
          this.report(
            'error',
            'invalid',
            `Bundle.entry.fullUrl must be an absolute URL (found '${fullUrl}')`,
            `entry[${i}].fullUrl`,
          );
        }
        const versionId = isObject(res?.meta) ? (res.meta as Json).versionId : undefined;
        const seen = versions.get(fullUrl);
        if (seen && type !== 'history' && (seen.has(versionId) || versionId === undefined)) {
          this.report(
            'error',
            'invariant',
            `bdl-7: FullUrl must be unique in a bundle, or else entries with the same fullUrl must have different meta.versionId (duplicate '${fullUrl}')`,
            `entry[${i}]`,
          );
        }
        if (seen) seen.add(versionId);
        else versions.set(fullUrl, new Set([versionId]));
        if (res) {
          scope.byUrl.set(fullUrl, res);
          const rel = relativeTail(fullUrl, res);
          if (rel && !scope.byUrl.has(rel)) scope.byUrl.set(rel, res);
        }
      } else if (res && typeof res.resourceType === 'string' && typeof res.id === 'string') {
        scope.byUrl.set(`${res.resourceType}/${res.id}`, res);
      }
      const needsRequest = type === 'transaction' || type === 'batch' || type === 'history';
      if (needsRequest && e.request === undefined) {
        this.report(
          'error',
          'invariant',
          `bdl-3: entry.request mandatory for batch/transaction/history (entry ${i} has none)`,
          `entry[${i}]`,
        );
      } else if (!needsRequest && type && e.request !== undefined) {
        this.report(
          'error',
          'invariant',
          `bdl-3: entry.request is not allowed in a ${type} Bundle`,
          `entry[${i}].request`,
        );
      }
    }
    this.bundles.push(scope);
    return scope;
  }

  // ---------------------------------------------------------------- objects and elements

  /** Validates the properties of `obj` against the children of `el` (a resource root, backbone or type root). */
  object(obj: Json, el: ElementPlan, isResource: boolean): void {
    const index = this.compiler.indexOf(el);
    let empty = true;
    for (const key in obj) {
      empty = false;
      const slot = index.get(key);
      if (slot === undefined) {
        if (key !== 'resourceType' || !isResource) this.unknownProperty(key, el);
        continue;
      }
      if (slot.underscore && obj[slot.key] !== undefined) continue; // validated with its value
      if (slot.el.choice && this.duplicateChoice(obj, key, slot, index)) continue;
      this.child(obj, slot);
    }
    if (empty) {
      this.report('error', 'structure', 'Object must have some content');
      return;
    }
    const required = this.compiler.requiredOf(el);
    for (let i = 0; i < required.length; i++) {
      const r = required[i];
      if (!isPresent(obj, r, index)) {
        this.cardinality(r, 0, r.name);
        if (r.slicing && r.slices.length)
          validateSliced(this, r, [], undefined, r.types[0]?.code ?? 'Element', r.name);
        else if (r.choice && r.slices.length) this.sliceMinimums(r, 0);
      }
    }
  }

  private unknownProperty(key: string, el: ElementPlan): void {
    // A choice type the profile excludes (`valueString` where only Quantity is allowed) gets a precise message.
    for (const child of this.compiler.childrenOf(el)) {
      if (!child.choice || !key.startsWith(child.jsonName)) continue;
      const suffix = key.slice(child.jsonName.length).replace(/^_/, '');
      const type = this.compiler.typeSuffixes.get(suffix);
      if (type) {
        const allowed = child.types.map((t) => t.code).join(', ');
        this.report(
          'error',
          'structure',
          `${child.path}: the type '${type}' is not allowed here (allowed: ${allowed})`,
          key,
        );
        return;
      }
    }
    this.report('error', 'structure', `Unrecognized property '${key}'`, key);
  }

  /** A second type for the same choice element (`valueString` and `valueInteger`) is reported, not validated. */
  private duplicateChoice(obj: Json, key: string, slot: ChildSlot, index: Map<string, ChildSlot>): boolean {
    for (const k in obj) {
      if (k === key) return false;
      const other = index.get(k);
      if (other && other.el === slot.el && other.key !== slot.key) {
        this.report(
          'error',
          'structure',
          `${slot.el.path}: only one type of value is allowed (found ${other.key} and ${slot.key})`,
          slot.key,
        );
        return true;
      }
    }
    return false;
  }

  private child(obj: Json, slot: ChildSlot): void {
    const { el, key, type, seg } = slot;
    const value = obj[key];
    const ext = slot.primitive ? obj[slot.ukey] : undefined;
    if (value === undefined && ext === undefined) return; // a JS object with an undefined property: absent, checked as required
    if (el.array) {
      if (value !== undefined && !Array.isArray(value)) {
        this.report(
          'error',
          'structure',
          `${el.path}: this property must be an array, not ${kindOf(value)}`,
          seg,
        );
        return;
      }
      if (ext !== undefined && !Array.isArray(ext)) {
        this.report(
          'error',
          'structure',
          `${el.path}: the primitive extension '_${key}' must be an array, not ${kindOf(ext)}`,
          `_${key}`,
        );
        return;
      }
      const values = value as unknown[] | undefined;
      const exts = ext as unknown[] | undefined;
      if ((values && values.length === 0) || (exts && exts.length === 0)) {
        this.report(
          'error',
          'structure',
          `${el.path}: array cannot be empty - the property should not be present if it has no values`,
          seg,
        );
        return;
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
      for (let i = 0; i < count; i++)
        this.value(values?.[i] ?? null, exts?.[i] ?? null, el, type, seg, i, true);
      if (el.pattern !== undefined && values && !values.some((v) => matchesPattern(v, el.pattern))) {
        this.report(
          'error',
          'value',
          `${el.path}: no element matches the pattern ${JSON.stringify(el.pattern)}`,
          seg,
        );
      }
    } else {
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
      if (el.choice && el.slices.length) this.choiceSlice(value, ext, el, type, seg);
    }
  }

  cardinality(el: ElementPlan, count: number, seg: string): void {
    if (count < el.min) {
      this.report('error', 'required', `${el.path}: minimum required = ${el.min}, but only found ${count}`);
    }
    if (count > el.max) {
      if (el.max === 0)
        this.report('error', 'structure', `${el.path}: this element is not allowed (max = 0)`, seg);
      else this.report('error', 'structure', `${el.path}: max allowed = ${el.max}, but found ${count}`, seg);
    }
  }

  private sliceMinimums(el: ElementPlan, count: number): void {
    for (const s of el.slices) {
      if (count < s.min)
        this.report(
          'error',
          'required',
          `${s.path}:${s.sliceName}: minimum required = ${s.min}, but only found ${count}`,
        );
    }
  }

  /** `value[x]:valueQuantity`-style slices: constraints for one type of a choice. */
  private choiceSlice(value: unknown, ext: unknown, el: ElementPlan, type: string, seg: string): void {
    for (const s of el.slices) {
      if (s.types.length === 1 && s.types[0].code === type)
        this.value(value ?? null, ext ?? null, s, type, seg, -1, false);
    }
  }

  /**
   * Validates one value of an element: primitive format, or the object against the element's children,
   * type profile or type definition; then fixed/pattern, binding, references and invariants.
   */
  value(
    value: unknown,
    ext: unknown,
    el: ElementPlan,
    type: string,
    seg: string,
    idx: number,
    inArray: boolean,
  ): void {
    this.push(seg, idx);
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
      this.pop();
    }
  }

  /** minValue/maxValue on date, dateTime, instant and time: an error only when the value is outside at any precision. */
  private temporalRange(value: string, el: ElementPlan): void {
    if (el.minTemporal !== undefined && compareTemporal(value, el.minTemporal) === -1) {
      this.report(
        'error',
        'value',
        `${el.path}: the value '${value}' is before the permitted minimum value of '${el.minTemporal}'`,
      );
    }
    if (el.maxTemporal !== undefined && compareTemporal(value, el.maxTemporal) === 1) {
      this.report(
        'error',
        'value',
        `${el.path}: the value '${value}' is after the permitted maximum value of '${el.maxTemporal}'`,
      );
    }
  }

  private primitive(value: unknown, ext: unknown, el: ElementPlan, type: string): void {
    if (value !== null) {
      const rule = this.compiler.primitive(type);
      const problem = rule?.check(value);
      if (problem) {
        this.report('error', rule && !isJsonKind(value, rule.json) ? 'structure' : 'value', problem);
        return;
      }
      if (el.maxLength !== undefined && typeof value === 'string' && value.length > el.maxLength) {
        this.report(
          'error',
          'value',
          `${el.path}: the value is longer than the permitted maximum length of ${el.maxLength}`,
        );
      }
      if (typeof value === 'number') {
        if (el.minValue !== undefined && value < el.minValue) {
          this.report(
            'error',
            'value',
            `${el.path}: the value ${value} is less than the permitted minimum value of ${el.minValue}`,
          );
        }
        if (el.maxValue !== undefined && value > el.maxValue) {
          this.report(
            'error',
            'value',
            `${el.path}: the value ${value} is greater than the permitted maximum value of ${el.maxValue}`,
          );
        }
      }
      if (typeof value === 'string' && (el.minTemporal !== undefined || el.maxTemporal !== undefined))
        this.temporalRange(value, el);
      if (el.fixed !== undefined && value !== el.fixed) {
        this.report(
          'error',
          'value',
          `${el.path}: value is '${String(value)}' but must be '${String(el.fixed)}'`,
        );
      }
      if (el.pattern !== undefined && !el.array && value !== el.pattern) {
        this.report(
          'error',
          'value',
          `${el.path}: value is '${String(value)}' but must be '${String(el.pattern)}'`,
        );
      }
      if (
        el.binding &&
        typeof value === 'string' &&
        (type === 'code' || type === 'string' || type === 'uri')
      ) {
        this.binding(el, () =>
          this.terminology?.checkCode(el.binding!.valueSet, el.binding!.strength, { code: value }),
        );
      }
    }
    if (ext !== null) {
      if (!isObject(ext)) {
        this.report(
          'error',
          'structure',
          `${el.path}: the primitive extension must be an object (found ${kindOf(ext)})`,
        );
        return;
      }
      const typePlan = this.compiler.typePlan(type);
      if (typePlan) {
        this.hostTypes.push(type);
        this.hostPaths.push(definitionPath(el));
        this.hostNodes.push(value);
        this.withCore(() => this.object(ext, typePlan.root, false));
        this.hostTypes.pop();
        this.hostPaths.pop();
        this.hostNodes.pop();
      }
    }
    if (value !== null && el.invariants.length) this.runInvariants(el, value, type);
  }

  private complex(value: unknown, el: ElementPlan, type: string): void {
    if (!isObject(value)) {
      this.report(
        'error',
        'structure',
        `${el.path}: expected an object of type ${type} (found ${kindOf(value)})`,
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
    const ref = typeRef(el, type);
    const ownChildren = this.compiler.childrenOf(el).length > 0;
    const bound = isChecked(el) && (type === 'CodeableConcept' || type === 'Coding' || type === 'Quantity');
    const prevBoundConcept = this.boundConcept;
    // The binding check of a CodeableConcept covers its codings' own code-system checks.
    if (bound && type === 'CodeableConcept') this.boundConcept = this.depth;
    this.hostTypes.push(type);
    this.hostPaths.push(definitionPath(el));
    this.hostNodes.push(value);
    if (ownChildren) this.object(value, el, false);
    let viaProfile = false;
    if (ref?.profiles.length) {
      for (const url of ref.profiles) {
        const p = this.compiler.plan(url);
        if (!p) {
          if (!ownChildren) {
            this.report(
              'warning',
              'not-found',
              `${el.path}: profile '${url}' could not be found, so it has not been checked`,
            );
          }
          continue;
        }
        viaProfile = true;
        if (type === 'Extension') checkExtensionContext(this, p);
        this.against(p, value, type, el);
      }
    }
    if (!ownChildren && !viaProfile) {
      if (type === 'Extension') this.extension(value, el);
      else {
        const tp = this.compiler.typePlan(type);
        if (tp) this.against(tp, value, type, el);
        else if (type !== 'Element' && type !== 'BackboneElement') {
          this.report('error', 'structure', `${el.path}: unknown type '${type}'`);
        }
      }
    } else if (ownChildren) {
      const tp = this.compiler.typePlan(type);
      if (tp?.root.invariants.length) {
        const prev = this.profile;
        this.profile = undefined;
        this.runInvariants(tp.root, value, type, el);
        this.profile = prev;
      }
    }
    this.hostTypes.pop();
    this.hostPaths.pop();
    this.hostNodes.pop();
    if (el.fixed !== undefined && !deepEqual(value, el.fixed)) {
      this.report(
        'error',
        'value',
        `${el.path}: value does not equal the fixed value ${JSON.stringify(el.fixed)}`,
      );
    }
    if (el.pattern !== undefined && !el.array && !matchesPattern(value, el.pattern)) {
      this.report(
        'error',
        'value',
        `${el.path}: value does not match the pattern ${JSON.stringify(el.pattern)}`,
      );
    }
    this.boundConcept = prevBoundConcept;
    if (bound) this.complexBinding(value, el, type);
    else if ((type === 'Coding' && this.boundConcept !== this.depth - 1) || type === 'Quantity')
      this.codeSystemCheck(value);
    if (type === 'Reference') checkReference(this, value, el, ref);
    else if (type === 'Attachment') checkAttachment(this, value);
    else if (type === 'Coding' || type === 'Identifier') checkSystem(this, value, type);
    if (el.invariants.length) this.runInvariants(el, value, type);
  }

  /** An extension with no profile on the element: resolve its definition from `url`. */
  private extension(value: Json, el: ElementPlan): void {
    const url = value.url;
    const plan = typeof url === 'string' ? this.compiler.plan(url.split('|')[0]) : undefined;
    if (plan && plan.type === 'Extension') {
      checkExtensionContext(this, plan);
      this.against(plan, value, 'Extension', el);
      return;
    }
    const cross =
      typeof url === 'string'
        ? crossVersionExtension(url, (t) => this.compiler.registry.structureDefinition(t))
        : undefined;
    if (cross) this.crossVersion(value, el, cross);
    else if (typeof url === 'string') {
      if (el.name === 'modifierExtension') {
        this.report(
          'error',
          'structure',
          `Unknown modifierExtension '${url}': it cannot be understood, so the resource cannot be processed safely`,
        );
      } else {
        this.report('warning', 'structure', `Unknown extension '${url}'`);
      }
    }
    const base = this.compiler.typePlan('Extension');
    if (base) {
      this.against(base, value, 'Extension', el);
    }
  }

  /** An implicit cross-version extension: checked against the R4 element it names, when it names one. */
  private crossVersion(value: Json, el: ElementPlan, ext: CrossVersionExtension): void {
    if (ext.unknownElement) {
      this.report(
        'warning',
        'structure',
        `Cross-version extension '${value.url}': ${ext.path} is not an element of FHIR ${ext.version}`,
      );
      return;
    }
    if (el.name === 'modifierExtension' && ext.element && !ext.element.isModifier) {
      this.report(
        'error',
        'structure',
        `Cross-version extension '${value.url}' is used as a modifierExtension, but ${ext.path} is not a modifier element`,
      );
    }
    const allowed = crossVersionValueTypes(ext);
    if (!allowed) return;
    for (const key in value) {
      if (!key.startsWith('value') || key.length <= 5) continue;
      const type = this.compiler.typeSuffixes.get(key.slice(5));
      if (type && !allowed.includes(type)) {
        this.report(
          'error',
          'structure',
          `Cross-version extension '${value.url}': the type '${type}' is not allowed (allowed: ${allowed.join(', ') || 'nested extensions'})`,
          key,
        );
      }
    }
  }

  private complexBinding(value: Json, el: ElementPlan, type: string): void {
    const b = el.binding!;
    if (b.strength !== 'required' && b.strength !== 'extensible') return;
    if (type === 'CodeableConcept') {
      const codings = Array.isArray(value.coding) ? (value.coding as Json[]).filter(isObject).map(coded) : [];
      const text = typeof value.text === 'string' ? value.text : undefined;
      this.binding(el, () => this.terminology?.checkCodeableConcept(b.valueSet, b.strength, codings, text));
    } else if (type === 'Coding') {
      this.binding(el, () => this.terminology?.checkCode(b.valueSet, b.strength, coded(value)));
    } else if (type === 'Quantity' && typeof value.code === 'string') {
      this.binding(el, () => this.terminology?.checkCode(b.valueSet, b.strength, coded(value)));
    }
  }

  /**
   * A Coding (or coded Quantity) outside any required/extensible binding: the code must still exist in
   * its CodeSystem when we hold that system (the reference validator checks every coding).
   */
  private codeSystemCheck(value: Json): void {
    if (!this.terminology || typeof value.code !== 'string' || typeof value.system !== 'string') return;
    for (const i of this.terminology.checkCode('', 'example', coded(value)))
      this.report(i.severity, i.code, i.message);
  }

  private binding(el: ElementPlan, run: () => BindingIssue[] | undefined): void {
    const b = el.binding!;
    if (b.strength !== 'required' && b.strength !== 'extensible') return;
    const found = run();
    if (!found) return;
    for (const i of found) this.report(i.severity, i.code, `${el.path}: ${i.message}`);
  }

  /** Validates an object against a whole definition (type, profile or extension) and its root invariants. */
  private against(plan: StructurePlan, value: Json, typeName: string, skipKeysOf?: ElementPlan): void {
    const prev = this.profile;
    this.profile = plan.base ? undefined : plan.url;
    this.object(value, plan.root, false);
    this.runInvariants(plan.root, value, typeName, skipKeysOf);
    this.profile = prev;
  }

  /** Runs the element's invariants; those `skipKeysOf` also has (ele-1 on type roots) run only once, there. */
  runInvariants(el: ElementPlan, node: unknown, typeName: string, skipKeysOf?: ElementPlan): void {
    const list = el.invariants;
    if (!list.length) return;
    const env = this.env;
    env.resource = this.resource;
    env.rootResource = this.rootResource;
    env.typeName = typeName;
    env.path = el.path;
    for (let i = 0; i < list.length; i++) {
      const inv = list[i];
      if (skipKeysOf?.invariantKeys.has(inv.key)) continue;
      let ok: boolean;
      try {
        ok = inv.check(node, env);
      } catch (e) {
        const failure = e instanceof InvariantEvaluationError ? e : new InvariantEvaluationError(inv.key, e);
        this.report('warning', 'processing', failure.message);
        continue;
      }
      if (!ok) this.report(inv.severity, 'invariant', `${inv.key}: ${inv.human}`);
    }
  }

  /** Runs `fn` with issues attributed to `plan` (profiles are named in messages, base definitions not). */
  inPlan(plan: StructurePlan, fn: () => void): void {
    const prev = this.profile;
    this.profile = plan.base ? undefined : plan.url;
    try {
      fn();
    } finally {
      this.profile = prev;
    }
  }

  private withCore(fn: () => void): void {
    const prev = this.profile;
    this.profile = undefined;
    try {
      fn();
    } finally {
      this.profile = prev;
    }
  }

  /** Validates `value` in a scratch walk and reports whether it has errors (profile discriminators, target profiles). */
  conforms(value: unknown, build: (w: Walk) => void): boolean {
    const w = new Walk(this.compiler, this.terminology);
    w.rootResource = this.rootResource;
    w.resource = this.resource;
    w.bundles = this.bundles;
    w.verdicts = this.verdicts;
    build(w);
    void value;
    return w.errors === 0;
  }
}

function typeRef(el: ElementPlan, type: string): TypeRef | undefined {
  for (const t of el.types) if (t.code === type) return t;
  return el.types[0];
}

function coded(v: Json): { system?: string; code?: string; display?: string } {
  return {
    system: typeof v.system === 'string' ? v.system : undefined,
    code: typeof v.code === 'string' ? v.code : undefined,
    display: typeof v.display === 'string' ? v.display : undefined,
  };
}

function indexContained(resource: Json): Map<string, Json> | undefined {
  const list = resource.contained;
  if (!Array.isArray(list) || !list.length) return undefined;
  const map = new Map<string, Json>();
  for (const c of list) if (isObject(c) && typeof c.id === 'string') map.set(c.id, c);
  return map;
}

/** `http://x/fhir/Patient/1` for a Patient with id 1 → `Patient/1` (relative references resolve to it). */
function relativeTail(fullUrl: string, res: Json): string | undefined {
  if (typeof res.resourceType !== 'string' || typeof res.id !== 'string') return undefined;
  const tail = `${res.resourceType}/${res.id}`;
  return fullUrl.endsWith(`/${tail}`) ? tail : undefined;
}

function isChecked(el: ElementPlan): boolean {
  const s = el.binding?.strength;
  return s === 'required' || s === 'extensible';
}

function isPresent(obj: Json, el: ElementPlan, index: Map<string, ChildSlot>): boolean {
  if (!el.choice) return obj[el.name] !== undefined || obj[`_${el.name}`] !== undefined;
  for (const k in obj) if (index.get(k)?.el === el && obj[k] !== undefined) return true;
  return false;
}

function isEmpty(v: Json): boolean {
  for (const _ in v) return false;
  return true;
}

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

/** The element's definition path; for a contentReference, the path it refers to. */
function definitionPath(el: ElementPlan): string {
  return el.contentRef ? el.contentRef.slice(el.contentRef.indexOf('#') + 1) : el.path;
}
