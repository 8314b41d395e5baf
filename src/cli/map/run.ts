import { readFileSync } from 'node:fs';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { DOMAIN_KINDS, type DomainKind } from '../../domain/index.ts';
import { type Language, fromFhir, toFhir, toResources, transactionBundle } from '../../mapping/index.ts';
import { jsonSyntaxMessage } from '../../shared/json-error.ts';
import { FhirError } from '../../shared/outcome.ts';

export interface MapOptions {
  toFhir?: string;
  fromFhir?: string;
  language: Language;
}

function fail(message: string, code: number): number {
  process.stderr.write(`tyokyky map: ${message}\n`);
  return code;
}

function describe(oo: OperationOutcome): string {
  return (oo.issue ?? []).map((i) => `  ${i.severity}: ${i.diagnostics}`).join('\n');
}

/** Exit codes: 0 mapped, 1 invalid input (the issues go to stderr), 2 usage or I/O error. */
export function runMap(opts: MapOptions): number {
  const file = (opts.toFhir ?? opts.fromFhir)!;
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    return fail(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 2);
  }
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (e) {
    return fail(`${file} is not JSON: ${jsonSyntaxMessage(e)}`, 1);
  }
  try {
    const output = opts.toFhir !== undefined ? mapToFhir(input, opts.language) : fromFhir(input as never);
    process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    return 0;
  } catch (e) {
    if (e instanceof FhirError) return fail(`invalid input in ${file}:\n${describe(e.outcome)}`, 1);
    throw e;
  }
}

function mapToFhir(input: unknown, language: Language): unknown {
  if (input && typeof input === 'object' && 'kind' in input && 'value' in input) {
    const { kind, value } = input as { kind: DomainKind; value: never };
    if (!DOMAIN_KINDS.includes(kind))
      throw FhirError.badRequest(`kind: '${String(kind)}' is not one of ${DOMAIN_KINDS.join(', ')}`, 'kind');
    return transactionBundle(toResources(kind, value, { language }));
  }
  return toFhir(input as never, { language });
}
