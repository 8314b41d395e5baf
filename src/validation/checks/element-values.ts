// Value rules an element definition states: maxLength, minValue[x]/maxValue[x] (numbers and
// temporal types), fixed[x] and pattern[x].
import { isUrnUuid } from '../../shared/references.ts';
import type { CompiledElement } from '../compiled.ts';
import { compareQuantities } from '../quantity.ts';
import { type Json, isAbsoluteUri, isObject } from '../util.ts';
import { compareTemporal, deepEqual, matchesPattern } from '../values.ts';
import type { CheckContext } from './context.ts';
import { checkExampleUrl } from './example-urls.ts';

/** FHIR strings are limited to 1 MB (datatypes.html#string). */
const MAX_STRING = 1024 * 1024;
const URI_TYPES = new Set(['uri', 'url', 'canonical', 'uuid']);

/** Space or a control character: what Java's String.trim() removes, as the reference validator trims. */
const trimmed = (code: number) => code <= 0x20;

/**
 * The reference validator's warnings on a `string` (not markdown, where edges can matter): all white
 * space, or white space at either end. Unlike it, the value is not quoted (it may be client data).
 */
function stringWhitespace(ctx: CheckContext, value: string): void {
  if (!value.length) return;
  let all = true;
  for (let i = 0; i < value.length && all; i++) all = trimmed(value.charCodeAt(i));
  if (all) ctx.report('warning', 'value', 'value should not be all whitespace');
  else if (trimmed(value.charCodeAt(0)) || trimmed(value.charCodeAt(value.length - 1)))
    ctx.report('warning', 'value', 'value should not start or finish with whitespace');
}

/** Below U+0020 only tab, LF and CR can be written in XML 1.0, FHIR's other form. */
const xmlIllegal = (code: number) => code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d;

/**
 * The reference validator's warning on control characters FHIR's XML form cannot carry (its
 * UNICODE_XML_BAD_CHARS): each named once by its code point, which is no client data.
 */
function xmlIllegalCharacters(ctx: CheckContext, value: string): void {
  let found: Set<number> | undefined;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (!xmlIllegal(code)) continue;
    found ??= new Set();
    found.add(code);
  }
  if (!found) return;
  const names = [...found].map((c) => `U+${c.toString(16).toUpperCase().padStart(4, '0')}`);
  ctx.report(
    'warning',
    'invalid',
    `The value includes the character${names.length > 1 ? 's' : ''} ${names.join(', ')}: illegal in FHIR's XML form, and of no valid use`,
  );
}

/** The rules on a primitive value (already known to be well formed). */
export function checkPrimitiveValue(
  ctx: CheckContext,
  el: CompiledElement,
  value: unknown,
  type: string,
): void {
  if (typeof value === 'string') {
    if (value.length > MAX_STRING) {
      ctx.report(
        'error',
        'value',
        `${el.path}: the value is longer than the permitted maximum of 1 MB (${MAX_STRING} characters)`,
      );
    }
    if (URI_TYPES.has(type) && value.startsWith('urn:uuid:') && !isUrnUuid(value)) {
      ctx.report(
        'error',
        'value',
        `${el.path}: '${value}' is not a valid urn:uuid (a UUID in lowercase hexadecimal)`,
      );
    }
    xmlIllegalCharacters(ctx, value);
  }
  if (type === 'string' && typeof value === 'string') stringWhitespace(ctx, value);
  if (type === 'base64Binary' && typeof value === 'string' && /\s/.test(value)) {
    // Valid (primitives.ts strips it), but RFC 4648 has none: the HL7 validator warns in R4.
    ctx.report(
      'warning',
      'invalid',
      `${el.path}: the base64 value contains white space, which RFC 4648 does not allow (readers are expected to ignore it)`,
    );
  }
  if (typeof value === 'string') checkExampleUrl(ctx, value, type);
  if (type === 'canonical' && typeof value === 'string') {
    // Every canonical, not only a conformance resource's own url (the reference validator's rule).
    if (!isAbsoluteUri(value) && !value.startsWith('#'))
      ctx.report(
        'error',
        'invalid',
        `${el.path}: canonical URLs must be absolute URLs if they are not fragment references ('${value}')`,
      );
    else canonicalTarget(ctx, el, value);
  }
  if ((URI_TYPES.has(type) || type === 'oid') && typeof value === 'string') uriScheme(ctx, el, value);
  if (type === 'uri' && typeof value === 'string' && isResourceUrl(ctx, el) && !isAbsoluteUri(value)) {
    ctx.report(
      'error',
      'invalid',
      `${el.path}: a canonical URL must be absolute ('${value}'); only references to it may be '#fragment' ones`,
    );
  }
  if (el.maxLength !== undefined && typeof value === 'string' && value.length > el.maxLength) {
    ctx.report(
      'error',
      'value',
      `${el.path}: the value is longer than the permitted maximum length of ${el.maxLength}`,
    );
  }
  if (typeof value === 'number') numericRange(ctx, el, value);
  if (typeof value === 'string' && (el.minTemporal !== undefined || el.maxTemporal !== undefined))
    temporalRange(ctx, el, value);
  if (el.fixed !== undefined && value !== el.fixed) {
    ctx.report(
      'error',
      'value',
      `${named(el)}: value is '${String(value)}' but must be '${String(el.fixed)}'`,
    );
  }
  // A pattern binds every repetition of a repeating element, as the HL7 validator checks it.
  if (el.pattern !== undefined && value !== el.pattern) {
    ctx.report(
      'error',
      'value',
      `${named(el)}: value is '${String(value)}' but must be '${String(el.pattern)}'`,
    );
  }
}

/**
 * A primitive with a fixed value carries no extensions (its `_name` object), as the fixed value has
 * none: the HL7 validator's checkFixedValue (EXTENSION_EXT_FIXED_BANNED). A pattern allows them. A
 * complex fixed value is compared whole (`deepEqual`), extensions included, by `checkComplexValue`.
 */
export function checkFixedExtensions(ctx: CheckContext, el: CompiledElement, ext: unknown): void {
  if (el.fixed === undefined || !isObject(ext) || !Array.isArray(ext.extension) || !ext.extension.length)
    return;
  ctx.report(
    'error',
    'value',
    `${named(el)}: No extensions allowed, as the specified fixed value doesn't contain any extensions`,
  );
}

/** fixed[x] (exact) and pattern[x] (containment) on a complex value; Quantity min/max after UCUM conversion. */
export function checkComplexValue(ctx: CheckContext, el: CompiledElement, value: Json): void {
  if (el.minQuantity && compareQuantities(value, el.minQuantity) === -1) {
    ctx.report(
      'error',
      'value',
      `${el.path}: ${theQuantity(ctx, value)} is less than the permitted minimum value of ${showQuantity(el.minQuantity)}`,
    );
  }
  if (el.maxQuantity && compareQuantities(value, el.maxQuantity) === 1) {
    ctx.report(
      'error',
      'value',
      `${el.path}: ${theQuantity(ctx, value)} is greater than the permitted maximum value of ${showQuantity(el.maxQuantity)}`,
    );
  }
  if (el.fixed !== undefined && !deepEqual(value, el.fixed)) {
    ctx.report(
      'error',
      'value',
      `${named(el)}: value does not equal the fixed value ${JSON.stringify(el.fixed)}`,
    );
  }
  if (el.pattern !== undefined && !matchesPattern(value, el.pattern)) {
    ctx.report(
      'error',
      'value',
      `${named(el)}: value does not match the pattern ${JSON.stringify(el.pattern)}`,
    );
  }
}

/** The element as a rule names it: a slice with its name (`Patient.identifier:hetu`). */
function named(el: CompiledElement): string {
  return el.sliceName ? `${el.path}:${el.sliceName}` : el.path;
}

function numericRange(ctx: CheckContext, el: CompiledElement, value: number): void {
  if (el.minValue !== undefined && value < el.minValue) {
    ctx.report(
      'error',
      'value',
      `${el.path}: the value ${value} is less than the permitted minimum value of ${el.minValue}`,
    );
  }
  if (el.maxValue !== undefined && value > el.maxValue) {
    ctx.report(
      'error',
      'value',
      `${el.path}: the value ${value} is greater than the permitted maximum value of ${el.maxValue}`,
    );
  }
}

/** minValue/maxValue on date, dateTime, instant and time: an error only when outside at any precision. */
function temporalRange(ctx: CheckContext, el: CompiledElement, value: string): void {
  if (el.minTemporal !== undefined && compareTemporal(value, el.minTemporal) === -1) {
    ctx.report(
      'error',
      'value',
      `${el.path}: the value '${value}' is before the permitted minimum value of '${el.minTemporal}'`,
    );
  }
  if (el.maxTemporal !== undefined && compareTemporal(value, el.maxTemporal) === 1) {
    ctx.report(
      'error',
      'value',
      `${el.path}: the value '${value}' is after the permitted maximum value of '${el.maxTemporal}'`,
    );
  }
}

/** "the value 130 mm[Hg]", or only "the value" where values stay out of messages. */
const theQuantity = (ctx: CheckContext, q: Json) =>
  ctx.policy.valuesInMessages ? `the value ${showQuantity(q)}` : 'the value';

function showQuantity(q: Json): string {
  return `${String(q.value)} ${String(q.code ?? q.unit ?? '')}`.trim();
}

/**
 * A canonical that resolves here must resolve to a resource of a type its element allows
 * (`canonical(Questionnaire)` naming a ValueSet is an error, as the HL7 validator reports it). One that
 * does not resolve is not judged here.
 */
function canonicalTarget(ctx: CheckContext, el: CompiledElement, value: string): void {
  const targets = el.types.find((t) => t.code === 'canonical')?.targetProfiles;
  if (!targets?.length) return;
  const held = ctx.compiler.registry.typesAt(value);
  if (!held) return;
  const allowed = targets.map((u) => ctx.compiler.structure(u)?.type ?? u.slice(u.lastIndexOf('/') + 1));
  if (allowed.includes('Resource') || allowed.includes('DomainResource')) return;
  if (allowed.some((t) => held.has(t))) return;
  ctx.report(
    'error',
    'structure',
    `${el.path}: the canonical URL '${value}' refers to a ${[...held].join(' / ')}, expecting one of [${allowed.join(', ')}]`,
  );
}

/**
 * `oid:` and `uuid:` are not URI schemes (the URN forms are `urn:oid:`, `urn:uuid:`); an OID URN holds
 * an OID, judged by the R4 `oid` type's own rule.
 */
function uriScheme(ctx: CheckContext, el: CompiledElement, value: string): void {
  const bare = /^(oid|uuid):/i.exec(value)?.[1];
  if (bare)
    ctx.report(
      'error',
      'invalid',
      `${el.path}: URI values cannot start with ${bare.toLowerCase()}: (write urn:${bare.toLowerCase()}:)`,
    );
  else if (value.startsWith('urn:oid:') && ctx.compiler.primitive('oid')?.check(value))
    ctx.report(
      'error',
      'invalid',
      `${el.path}: '${value}' is not a valid OID URN (urn:oid: and then an OID)`,
    );
  else if (value.startsWith('urn:oid:') && !namespaceOid(value.slice(8)))
    ctx.report(
      'error',
      'invalid',
      `${el.path}: '${value}' is not a valid OID URN (an OID this short names no namespace)`,
    );
}

/**
 * The HL7 validator takes an OID root shorter than `1.2.3.4` (its last dot before the fifth character)
 * for a mistake, except under 1.3.
 */
function namespaceOid(oid: string): boolean {
  return oid.lastIndexOf('.') >= 4 || oid.startsWith('1.3');
}

/** `<Resource>.url`: the canonical URL of a conformance resource, which SHALL be absolute (resource.html#canonical). */
function isResourceUrl(ctx: CheckContext, el: CompiledElement): boolean {
  const dot = el.path.indexOf('.');
  return dot > 0 && el.path.slice(dot) === '.url' && ctx.compiler.resourceTypes.has(el.path.slice(0, dot));
}
