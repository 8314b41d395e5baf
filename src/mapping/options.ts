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
}

/** Used when no application is configured; a deployment sets its Kela-assigned applicationId. */
export const DEFAULT_APPLICATION = {
  name: 'tyokyky-fhir',
  applicationId: 'tyokyky-fhir-unregistered',
} as const;

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

/**
 * Refuses options a JavaScript caller got wrong (no type check stops them there): an unknown
 * language, or an application without both `name` and `applicationId` — which would write a
 * creating-application extension Kanta and our profiles reject.
 */
export function checkMappingOptions(opts: MappingOptions): void {
  if (opts.language !== undefined && !(LANGUAGES as readonly string[]).includes(opts.language))
    throw new TypeError(
      `options.language must be one of ${LANGUAGES.join(', ')}, got ${JSON.stringify(opts.language)}`,
    );
  const app = opts.application as Record<string, unknown> | undefined;
  if (app === undefined) return;
  for (const key of ['name', 'applicationId'])
    if (!nonEmpty(app?.[key]))
      throw new TypeError(
        `options.application.${key} must be a non-empty string (Kanta's creating-application extension requires name and applicationId)`,
      );
}
