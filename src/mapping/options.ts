import { OrganizationSchema, type RelatedObjects, checkRelatedObjects, maskHetus } from '../domain/index.ts';
import { isSystemReference } from '../shared/system-uri.ts';
import type { IdentityOptions } from './identity.ts';
import { LANGUAGES, type Language } from './terminology.ts';

export interface MappingOptions extends IdentityOptions {
  /** Language of `Resource.language` and the generated narrative; Finnish by default. */
  language?: Language;
  /**
   * The creating application recorded in every resource as Kanta PHR's `fiphr-ext-creatingapplication`:
   * its name and the `applicationId` Kela assigns when the application is registered.
   */
  application?: { name: string; applicationId: string };
  /** Validate the domain input (ajv + rules) before mapping; on by default. */
  validate?: boolean;
  /**
   * For one object mapped alone (`toResources`, `workAbility.<kind>()`): the objects outside it that
   * its rules read, by local id — a referral's consent (`referral-consent`) and requester
   * (`referral-requester-role`); with their `clientId`, a consent, assessment, self-assessment or team
   * it names, which must be its client's (`reference`) — and that its resources name as a record's
   * would: a consent's receiving organisations (`organizations` with `party`), a team's professionals'
   * names. Without them those rules cannot be applied and those names are not written; a record
   * (`toFhir`) supplies its own.
   */
  related?: RelatedObjects;
}

/** Used when no application is configured; a deployment sets its Kela-assigned applicationId. */
export const DEFAULT_APPLICATION = {
  name: 'tyokyky-fhir',
  applicationId: 'tyokyky-fhir-unregistered',
} as const;

/**
 * The domain's free-text rule (its `Text` schema, as an organisation's name has it): what a FHIR string
 * and the narrative can carry, trimmed, of 1 to `maxLength` characters (counted as ajv counts them, by
 * code point, with the pattern compiled as ajv compiles it, with the `u` flag).
 */
const TEXT = OrganizationSchema.properties.name as unknown as {
  pattern: string;
  patternText: string;
  minLength: number;
  maxLength: number;
};
const TEXT_PATTERN = new RegExp(TEXT.pattern, 'u');
const TEXT_RULE = `${TEXT.patternText}, of ${TEXT.minLength} to ${TEXT.maxLength} characters (the domain's free-text rule`;

function isText(v: unknown): v is string {
  if (typeof v !== 'string' || v.length > 2 * TEXT.maxLength) return false;
  const length = v.length <= TEXT.maxLength ? v.length : [...v].length;
  return length >= TEXT.minLength && length <= TEXT.maxLength && TEXT_PATTERN.test(v);
}

/**
 * A base the local-id systems can be made of (`<base>/<kind>`): an absolute URI without whitespace or
 * a trailing slash, of a scheme an Identifier.system takes (`isSystemReference`). Not a `urn:oid:` or
 * `urn:uuid:`, which the added path would make invalid.
 */
const SYSTEM_BASE = /^(?!urn:(oid|uuid):)[A-Za-z][A-Za-z0-9+.-]*:[^\s]*[^\s/]$/i;

/** A wrong option's value as the error quotes it: a HETU in it masked, as in every other message. */
function quoted(value: unknown): string {
  return maskHetus(String(JSON.stringify(value)));
}

/**
 * Refuses options a JavaScript caller got wrong (no type check stops them there): an unknown
 * language, a local-id system base the identifiers' systems cannot be made of, or an application
 * without both `name` and `applicationId` as free text the domain takes (no control characters, no
 * white space around it, at most 10,000 characters) — which would write a creating-application
 * extension Kanta and our profiles reject.
 */
export function checkMappingOptions(opts: MappingOptions): void {
  if (opts.language !== undefined && !(LANGUAGES as readonly string[]).includes(opts.language))
    throw new TypeError(
      `options.language must be one of ${LANGUAGES.join(', ')}, got ${quoted(opts.language)}`,
    );
  const base = opts.localIdSystemBase;
  if (
    base !== undefined &&
    (typeof base !== 'string' || !SYSTEM_BASE.test(base) || !isSystemReference(base, 'Identifier'))
  )
    throw new TypeError(
      `options.localIdSystemBase must be an http:, https:, urn: or ldap: URI without whitespace or a trailing slash, such as https://ehr.example.fi/sid/local (not urn:oid: or urn:uuid:, which "/<kind>" after it would break), got ${quoted(base)}`,
    );
  if (opts.related !== undefined) checkRelatedObjects(opts.related);
  const app = opts.application as Record<string, unknown> | undefined;
  if (app === undefined) return;
  for (const key of ['name', 'applicationId'])
    if (!isText(app?.[key]))
      throw new TypeError(
        `options.application.${key} must be ${TEXT_RULE}; Kanta's creating-application extension requires name and applicationId)`,
      );
}
