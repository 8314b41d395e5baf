import type { CompiledElement, CompiledStructure } from '../compiled.ts';
// An extension whose url resolves to no definition: implicit cross-version extensions are judged by
// the element they name (cross-version.ts); nema.org and HL7's tools space are known to the HL7
// validator whatever they are, so an extension there is not reported; under an extension domain a
// loaded ImplementationGuide declares it is information (the HL7 validator's hint, as the IG Publisher
// runs it); any other unknown url is reported (an unknown modifierExtension is an error, as it cannot
// be understood, except in an example domain while examples are allowed, in a declared extension
// domain, or in those known spaces: a warning; the HL7 validator lets them pass, modifiers too).
import { FI_BASE } from '../packages.ts';
import type { Json } from '../util.ts';
import type { CheckContext } from './context.ts';
import {
  type CrossVersionExtension,
  crossVersionExtension,
  crossVersionValueTypes,
} from './cross-version.ts';
import { isExampleUrl } from './example-urls.ts';

/**
 * Urls the HL7 validator always takes as known extensions (isKnownExtension, allowUnknownExtension):
 * any containing `nema.org` (DICOM), and HL7's tools space. No warning, no error.
 */
function alwaysKnown(url: string): boolean {
  return url.includes('nema.org') || url.startsWith('http://hl7.org/fhir/tools/StructureDefinition/');
}
/** HL7's own test space: no package defines it, so an unknown extension there is simply unknown. */
const HL7_TEST_SPACE = 'http://hl7.org/fhir/test/';

/**
 * Canonical bases of packages we know of: HL7's own (the HL7 validator fetches HL7 IGs as needed), FI
 * Base, Kanta PHR and our IG. An unknown url there, when that package is not loaded, means the package
 * is missing, not that the extension does not exist: a warning, so a valid resource is not refused.
 */
const KNOWN_PACKAGE_BASES = [
  'http://hl7.org/fhir/',
  'http://terminology.hl7.org/',
  FI_BASE.canonical,
  'http://phr.kanta.fi/',
  'https://tyokyky-fhir.org/fhir/',
];

/**
 * An extension domain a loaded ImplementationGuide declares (`extension-domain`, collected by the
 * registry), except under a loaded package's own canonical base: a definition there would be loaded
 * if it existed, so a url nothing defines is a slip (the HL7 validator gives its hint there too).
 */
function inDeclaredDomain(ctx: CheckContext, url: string): boolean {
  const registry = ctx.compiler.registry;
  return registry.inExtensionDomain(url) && !registry.covers(url);
}

/**
 * `auto`: an error (the HL7 validator's verdict without `-allow-any-extensions`), except in example
 * domains while examples are allowed and under the canonical base of a known package that is not
 * loaded (a warning). Under a loaded package's base it is always an error: the definition would be
 * there if it existed; so it is in HL7's test space (`http://hl7.org/fhir/test/`). Example domains:
 * the HL7 validator says nothing there while it allows examples (`-allow-example-urls`, whose default
 * has changed between its releases) and errs otherwise; we keep a warning while they are allowed, so a
 * url nothing defines is still pointed out. A declared extension domain: information, whatever the
 * policy (the guide's authors say extensions there are used without being defined in it).
 */
function unknownSeverity(ctx: CheckContext, url: string): 'error' | 'warning' | 'information' {
  if (isExampleUrl(url)) return ctx.policy.allowExamples ? 'warning' : 'error';
  if (inDeclaredDomain(ctx, url)) return 'information';
  const policy = ctx.policy.unknownExtensions;
  if (policy !== 'auto') return policy;
  if (ctx.compiler.registry.covers(url) || url.startsWith(HL7_TEST_SPACE)) return 'error';
  return KNOWN_PACKAGE_BASES.some((base) => url.startsWith(base)) ? 'warning' : 'error';
}

export function checkUnresolvedExtension(ctx: CheckContext, value: Json, el: CompiledElement): void {
  const url = value.url;
  if (typeof url !== 'string') return;
  const cross = crossVersionExtension(url, (t) => ctx.compiler.registry.structureDefinition(t));
  if (cross) {
    checkCrossVersion(ctx, value, url, el, cross);
  } else if (ctx.compiler.registry.structureDefinition(url.split('|')[0]!)) {
    // Known, but a differential the simple snapshot generator cannot expand (a complex extension).
    ctx.report('warning', 'not-supported', `Extension '${url}' has no snapshot, so it has not been checked`);
  } else if (el.name === 'modifierExtension') {
    // Exempt domains too: a modifier nothing here defines cannot be understood, so it is pointed out.
    ctx.report(
      (isExampleUrl(url) && ctx.policy.allowExamples) || alwaysKnown(url) || inDeclaredDomain(ctx, url)
        ? 'warning'
        : 'error',
      'structure',
      `Unknown modifierExtension '${url}': it cannot be understood, so the resource cannot be processed safely`,
    );
  } else if (!alwaysKnown(url)) {
    ctx.report(unknownSeverity(ctx, url), 'structure', `Unknown extension '${url}'`);
  }
}

/** An implicit cross-version extension: checked against the R4 element it names, when it names one. */
function checkCrossVersion(
  ctx: CheckContext,
  value: Json,
  url: string,
  el: CompiledElement,
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
export function checkModifierUse(ctx: CheckContext, structure: CompiledStructure, el: CompiledElement): void {
  const modifier = structure.root.isModifier;
  if (el.name === 'modifierExtension' && !modifier) {
    ctx.report(
      'error',
      'structure',
      `The extension '${structure.url}' is not a modifier extension, so it cannot be used in modifierExtension`,
    );
  } else if (el.name === 'extension' && modifier) {
    ctx.report(
      'error',
      'structure',
      `The extension '${structure.url}' is a modifier extension, so it must be used in modifierExtension`,
    );
  }
}
