import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { issue, outcome } from '../../shared/outcome.ts';
import type { Validator } from '../../validation/index.ts';
import { type InputItem, UsageError, listFiles, readItems } from './input.ts';
import { createProgress } from './progress.ts';
import { type Format, type Totals, createReporter } from './report.ts';

export interface ValidateOptions {
  profile: string[];
  package: string[];
  ig?: string[];
  format: Format;
  /** Which severity makes a resource fail (and the exit code 1): `error` (default) or `warning`. */
  failOn?: 'error' | 'warning';
  /** Draw progress on stderr: default only when stderr is a terminal. */
  progress?: boolean;
  /** Accept example URLs (default true; `--no-allow-examples`). */
  allowExamples?: boolean;
  /** Severity of an unknown extension (`--unknown-extensions`, default `auto`). */
  unknownExtensions?: 'auto' | 'error' | 'warning';
  /** Quote the resources' values in the issues (default true; `--no-values-in-messages`). */
  valuesInMessages?: boolean;
  /** Severity of a Coding display that is not its code's (`--display-issues`, default `warning`). */
  displayIssues?: 'error' | 'warning';
  /** Refuse (UsageError) rather than validate without FI Base's own rules (`--require-fi-base`). */
  requireFiBase?: boolean;
}

export { UsageError };

/**
 * Validates everything under `paths`; returns the exit code: 0 nothing fails, 1 some resource fails
 * (`--fail-on`), 2 usage or I/O error — including paths that hold no resources at all. Without FI Base
 * one stderr line says so after the results (`requireFiBase`: a UsageError before any is validated).
 */
export async function runValidate(paths: string[], opts: ValidateOptions): Promise<number> {
  const files = await listFiles(paths);
  if (!files.length) throw new UsageError(`no FHIR resources found in ${paths.join(', ')}`);
  const validator = await openValidator([...opts.package, ...(opts.ig ?? [])], opts);
  // As the loaded validator has it: FI Base given as a package, or found in the search folders.
  const noFiBase = (await import('../../validation/index.ts')).fiBaseMissing(validator);
  if (noFiBase && opts.requireFiBase) throw new UsageError(noFiBase);
  const progress = createProgress(
    files.reduce((n, f) => n + f.size, 0),
    opts.progress ?? process.stderr.isTTY === true,
  );
  const reporter = createReporter(opts.format, (s) => process.stdout.write(s));
  const totals: Totals = { resources: 0, invalid: 0, failed: 0, errors: 0, warnings: 0 };
  const checks: CheckOptions = {
    ...(opts.profile.length ? { profile: opts.profile } : {}),
    ...(opts.valuesInMessages === false ? { valuesInMessages: false } : {}),
  };
  for (const file of files) {
    for await (const item of readItems(file.path, (n) => progress.bytes(n))) {
      const oo = check(validator, item, checks);
      const errors = count(oo, 'error') + count(oo, 'fatal');
      const warnings = count(oo, 'warning');
      const failed = errors > 0 || (opts.failOn === 'warning' && warnings > 0);
      totals.resources++;
      totals.errors += errors;
      totals.warnings += warnings;
      if (errors) totals.invalid++;
      if (failed) totals.failed++;
      progress.resource(file.path);
      progress.clear();
      reporter.result({ source: item.source, file: item.file, outcome: oo, errors, warnings, failed });
    }
  }
  progress.done();
  if (!totals.resources) throw new UsageError(`no FHIR resources found in ${paths.join(', ')}`);
  reporter.end(totals);
  // After the results, where it is seen; not after an error, which stays the one line.
  if (noFiBase) process.stderr.write(`tyokyky validate: ${noFiBase}\n`);
  return totals.failed > 0 ? 1 : 0;
}

/** What each resource is validated with: the `--profile`s and whether issues may quote values. */
interface CheckOptions {
  profile?: string[];
  valuesInMessages?: false;
}

function check(validator: Validator, item: InputItem, opts: CheckOptions): OperationOutcome {
  if (item.parseError)
    return outcome([issue('fatal', 'structure', `Cannot parse ${item.source}: ${item.parseError}`)]);
  if (item.xml) return validator.validateXml(item.xml, { ...opts, source: item.source });
  return validator.validate(item.resource, opts);
}

async function openValidator(extraPackages: string[], opts: ValidateOptions): Promise<Validator> {
  const { statSync } = await import('node:fs');
  const { fsErrorText } = await import('../../shared/fs-error.ts');
  // Worded as every package load error starts (src/validation/packages.ts), before the engine loads.
  for (const p of extraPackages) {
    try {
      statSync(p);
    } catch (err) {
      throw new UsageError(`cannot load package ${p}: ${fsErrorText(err)}`);
    }
  }
  const validation = await import('../../validation/index.ts');
  const policy = {
    allowExamples: opts.allowExamples ?? true,
    unknownExtensions: opts.unknownExtensions ?? 'auto',
    wrongDisplay: opts.displayIssues ?? 'warning',
  } as const;
  // loadProjectValidator's validator is the library's defaults; any other policy needs its own.
  const defaults =
    policy.allowExamples && policy.unknownExtensions === 'auto' && policy.wrongDisplay === 'warning';
  const validator =
    extraPackages.length || !defaults
      ? await validation.createValidator({
          packages: [...extraPackages, ...validation.projectPackages()],
          ...policy,
        })
      : await validation.loadProjectValidator();
  for (const p of opts.profile) {
    if (validator.registry.structureDefinition(p)) continue;
    const noFiBase = p.startsWith(FI_BASE_CANONICAL) ? validation.fiBaseMissing(validator) : undefined;
    if (noFiBase) throw new UsageError(`unknown profile '${p}': it is in FI Base, and ${noFiBase}`);
    throw new UsageError(`unknown profile '${p}' (not in any loaded package)`);
  }
  return validator;
}

const FI_BASE_CANONICAL = 'https://hl7.fi/fhir/finnish-base-profiles/';

function count(oo: OperationOutcome, severity: OperationOutcomeIssue['severity']): number {
  return (oo.issue ?? []).filter((i) => i.severity === severity).length;
}
