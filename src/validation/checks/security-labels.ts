import { type Json, isObject } from '../util.ts';
import type { CheckContext } from './context.ts';

/**
 * `meta.security` is a set: the same label (system and code) twice is an error at the repeat, as the
 * HL7 validator's validateResourceRules reports it ("Duplicate Security Label system#code"; it names
 * the place `meta.profile[i]`, we the label itself). Labels name confidentiality and policy, not the
 * client, so the message may quote them.
 */
export function checkSecurityLabels(ctx: CheckContext, resource: Json): void {
  const meta = resource.meta;
  if (!isObject(meta) || !Array.isArray(meta.security) || meta.security.length < 2) return;
  const seen = new Set<string>();
  meta.security.forEach((label, i) => {
    if (!isObject(label)) return;
    const key = `${typeof label.system === 'string' ? label.system : ''}#${typeof label.code === 'string' ? label.code : ''}`;
    if (seen.has(key))
      ctx.report('error', 'business-rule', `Duplicate Security Label ${key}`, `meta.security[${i}]`);
    seen.add(key);
  });
}
