// Bindings: required/extensible bindings through the terminology module (which sets the severity),
// and the code-system check of every other Coding, as the HL7 validator checks every coding.
import type { CompiledElement } from '../compiled.ts';
import type { CodedValue } from '../terminology/issues.ts';
import type { BindingIssue } from '../types.ts';
import { type Json, isObject } from '../util.ts';
import type { CheckContext } from './context.ts';

export function isCheckedBinding(el: CompiledElement): boolean {
  const s = el.binding?.strength;
  return s === 'required' || s === 'extensible';
}

/** A code, string or uri value under a binding. */
export function checkPrimitiveBinding(ctx: CheckContext, el: CompiledElement, value: string): void {
  const b = el.binding!;
  if (!ctx.terminology) return;
  if (isCheckedBinding(el))
    report(ctx, el, ctx.terminology.checkCode(b.valueSet, b.strength, { code: value }));
  // A preferred binding with a maximum (Resource.language: all languages): the code must be in that.
  else if (b.maxValueSet)
    report(ctx, el, ctx.terminology.checkCode(b.maxValueSet, 'required', { code: value }));
}

/**
 * A primitive holding only white space under a binding: no code at all. Under a required binding that
 * is an error, as the HL7 validator's checkPrimitive reports it (Terminology_TX_Code_ValueSet_MISSING);
 * otherwise nothing.
 */
export function checkBlankPrimitiveBinding(ctx: CheckContext, el: CompiledElement): void {
  const b = el.binding!;
  if (!ctx.terminology || b.strength !== 'required') return;
  report(ctx, el, ctx.terminology.checkCodeableConcept(b.valueSet, 'required', []));
}

/** A CodeableConcept, Coding or coded Quantity under a binding. */
export function checkComplexBinding(ctx: CheckContext, value: Json, el: CompiledElement, type: string): void {
  const b = el.binding!;
  const terminology = ctx.terminology;
  if (!terminology || !isCheckedBinding(el)) return;
  if (type === 'CodeableConcept') {
    const codings = Array.isArray(value.coding) ? (value.coding as Json[]).filter(isObject).map(coded) : [];
    const text = typeof value.text === 'string' ? value.text : undefined;
    report(ctx, el, terminology.checkCodeableConcept(b.valueSet, b.strength, codings, text));
  } else if (type === 'Coding' || (type === 'Quantity' && typeof value.code === 'string')) {
    report(ctx, el, terminology.checkCode(b.valueSet, b.strength, coded(value)));
  }
}

/**
 * A Coding (or coded Quantity) outside any required/extensible binding: the code must still exist in
 * its CodeSystem when we hold that system.
 */
export function checkCodeSystem(ctx: CheckContext, value: Json): void {
  if (!ctx.terminology || typeof value.code !== 'string' || typeof value.system !== 'string') return;
  for (const i of ctx.terminology.checkCode('', 'example', coded(value)))
    ctx.report(i.severity, i.code, i.message);
}

function report(ctx: CheckContext, el: CompiledElement, issues: BindingIssue[]): void {
  for (const i of issues) ctx.report(i.severity, i.code, `${el.path}: ${i.message}`);
}

/** A Coding's (or coded Quantity's) parts as the terminology module reads them. */
function coded(v: Json): CodedValue {
  return {
    system: typeof v.system === 'string' ? v.system : undefined,
    code: typeof v.code === 'string' ? v.code : undefined,
    display: typeof v.display === 'string' ? v.display : undefined,
    inCoding: true,
  };
}
