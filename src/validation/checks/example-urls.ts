// Example URLs (example.org, acme.com: the domains the HL7 validator exempts; not example.com): the
// spec's own examples use them, so by default they are accepted as they are (the HL7 validator's
// "allow examples", which its test suite and the spec build use). With `allowExamples: false` (the HL7 validator's default outside spec
// mode) a url/uri/canonical value in an example domain is an error, and so is an unknown extension
// there.
import type { CheckContext } from './context.ts';

const EXAMPLE_HOST = /^https?:\/\/(?:[^/?#]+\.)?(?:example\.org|acme\.com)(?:[:/?#]|$)/;
const URL_TYPES = new Set(['uri', 'url', 'canonical']);

/** Whether `url` is in one of the example domains. */
export function isExampleUrl(url: string): boolean {
  return EXAMPLE_HOST.test(url);
}

/**
 * An example URL where examples are not allowed; `Extension.url` too, beside the extension check's
 * own report of an unknown extension (the HL7 validator reports both).
 */
export function checkExampleUrl(ctx: CheckContext, value: string, type: string): void {
  if (ctx.policy.allowExamples || !URL_TYPES.has(type)) return;
  if (!isExampleUrl(value)) return;
  ctx.report('error', 'invalid', `Example URLs are not allowed in this context (${value})`);
}
