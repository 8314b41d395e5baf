// An extension whose url resolves to no definition: implicit cross-version extensions are judged by
// the element they name (cross-version.ts); any other unknown url is reported (an unknown
// modifierExtension is an error, as it cannot be understood).
import type { ElementPlan, StructurePlan } from '../plan.ts';
import type { Json } from '../util.ts';
import type { CheckContext } from './context.ts';
import {
  type CrossVersionExtension,
  crossVersionExtension,
  crossVersionValueTypes,
} from './cross-version.ts';

/** URLs of example domains: an unknown extension there is only a warning (the HL7 validator's exemption). */
const EXAMPLE_DOMAIN = /^https?:\/\/(?:[^/]+\.)?(?:example\.org|example\.com|acme\.com|acme\.org)(?:[:/]|$)/;

/**
 * `auto`: an error when the url lies under the canonical base of a package we hold (its definition
 * would be there if it existed), a warning when the package that defines it is not loaded.
 */
function unknownSeverity(ctx: CheckContext, url: string): 'error' | 'warning' {
  if (EXAMPLE_DOMAIN.test(url)) return 'warning';
  const policy = ctx.policy.unknownExtensions;
  if (policy !== 'auto') return policy;
  return ctx.compiler.registry.covers(url) ? 'error' : 'warning';
}

export function checkUnresolvedExtension(ctx: CheckContext, value: Json, el: ElementPlan): void {
  const url = value.url;
  if (typeof url !== 'string') return;
  const cross = crossVersionExtension(url, (t) => ctx.compiler.registry.structureDefinition(t));
  if (cross) {
    checkCrossVersion(ctx, value, url, el, cross);
  } else if (ctx.compiler.registry.structureDefinition(url.split('|')[0]!)) {
    // Known, but a differential the simple snapshot generator cannot expand (a complex extension).
    ctx.report('warning', 'not-supported', `Extension '${url}' has no snapshot, so it has not been checked`);
  } else if (el.name === 'modifierExtension') {
    ctx.report(
      'error',
      'structure',
      `Unknown modifierExtension '${url}': it cannot be understood, so the resource cannot be processed safely`,
    );
  } else {
    ctx.report(unknownSeverity(ctx, url), 'structure', `Unknown extension '${url}'`);
  }
}

/** An implicit cross-version extension: checked against the R4 element it names, when it names one. */
function checkCrossVersion(
  ctx: CheckContext,
  value: Json,
  url: string,
  el: ElementPlan,
  ext: CrossVersionExtension,
): void {
  if (ext.unknownElement) {
    ctx.report(
      'warning',
      'structure',
      `Cross-version extension '${url}': ${ext.path} is not an element of FHIR ${ext.version}`,
    );
    return;
  }
  if (el.name === 'modifierExtension' && ext.element && !ext.element.isModifier) {
    ctx.report(
      'error',
      'structure',
      `Cross-version extension '${url}' is used as a modifierExtension, but ${ext.path} is not a modifier element`,
    );
  }
  const allowed = crossVersionValueTypes(ext);
  if (!allowed) return;
  for (const key in value) {
    if (!key.startsWith('value') || key.length <= 5) continue;
    const type = ctx.compiler.typeSuffixes.get(key.slice(5));
    if (type && !allowed.includes(type)) {
      ctx.report(
        'error',
        'structure',
        `Cross-version extension '${url}': the type '${type}' is not allowed (allowed: ${allowed.join(', ') || 'nested extensions'})`,
        key,
      );
    }
  }
}

/** A modifier extension (its definition says isModifier) belongs in modifierExtension, and only it does. */
export function checkModifierUse(ctx: CheckContext, plan: StructurePlan, el: ElementPlan): void {
  const modifier = plan.root.isModifier;
  if (el.name === 'modifierExtension' && !modifier) {
    ctx.report(
      'error',
      'structure',
      `The extension '${plan.url}' is not a modifier extension, so it cannot be used in modifierExtension`,
    );
  } else if (el.name === 'extension' && modifier) {
    ctx.report(
      'error',
      'structure',
      `The extension '${plan.url}' is a modifier extension, so it must be used in modifierExtension`,
    );
  }
}
