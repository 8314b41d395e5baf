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

export function checkUnresolvedExtension(ctx: CheckContext, value: Json, el: ElementPlan): void {
  const url = value.url;
  if (typeof url !== 'string') return;
  const cross = crossVersionExtension(url, (t) => ctx.compiler.registry.structureDefinition(t));
  if (cross) {
    checkCrossVersion(ctx, value, url, el, cross);
  } else if (el.name === 'modifierExtension') {
    ctx.report(
      'error',
      'structure',
      `Unknown modifierExtension '${url}': it cannot be understood, so the resource cannot be processed safely`,
    );
  } else {
    ctx.report('warning', 'structure', `Unknown extension '${url}'`);
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
