// The one path from a FHIR XML document to what the validator needs: decoded text, the document's own
// problems, the resource converted to JSON, and what the conversion cannot show (dropped content,
// namespaces, element order). `Validator.validateXml` validates the resource and merges these in.
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { issue } from '../shared/outcome.ts';
import { MAX_NESTING, NESTING_MESSAGE } from './checks/nesting.ts';
import { documentProblems, withoutForbiddenReferences } from './xml-document.ts';
import { droppedFromTree } from './xml-dropped.ts';
import { decodeXml } from './xml-encoding.ts';
import { type PrimitiveRules, type TypeDefinitions, structureFindings } from './xml-structure.ts';
import { type XmlElement, elementPastLimit, readXmlTree, withValueAttributes } from './xml-tree.ts';
import { fhirXmlToJson } from './xml.ts';

export interface ReadXmlResult {
  /**
   * The resource as FHIR JSON; undefined when the document cannot be read at all (a fatal issue says
   * why) or nests too deep to be read (val-depth-1, `checks/nesting.ts`).
   */
  resource?: unknown;
  issues: OperationOutcomeIssue[];
}

/**
 * Reads a FHIR XML document (bytes, whose encoding is checked, or text already decoded). Every problem
 * is an issue naming elements, attributes and positions only, never the document's values; `source`
 * names the document in a fatal issue (default "the XML document").
 */
export function readFhirXml(
  xml: string | Uint8Array,
  look: { definitions: TypeDefinitions; primitives: PrimitiveRules },
  source = 'the XML document',
): ReadXmlResult {
  const decoded = decodeXml(xml);
  const problems = [...decoded.problems, ...documentProblems(decoded.text)];
  const text = withoutForbiddenReferences(decoded.text);
  // The readers below recurse over the elements: a document nested too deep is not read further.
  const tooDeep = elementPastLimit(text, MAX_NESTING);
  if (tooDeep !== undefined) {
    const root = tooDeep.split('.')[0];
    return {
      issues: [
        ...problems.map((p) => issue('error', 'structure', p, root)),
        issue('error', 'structure', NESTING_MESSAGE, tooDeep),
      ],
    };
  }
  // The element tree first: its walk finds the numbers and booleans the converter would refuse, and
  // they reach it as stand-ins (reported as written by the walk), not as a fatal error.
  const tree = readXmlTree(text);
  const standIns = new Map<XmlElement, string>();
  const structure = tree ? structureFindings(tree, { ...look, standIns }) : [];
  const readable = tree && standIns.size ? (withValueAttributes(text, tree, standIns) ?? text) : text;
  let resource: unknown;
  try {
    resource = fhirXmlToJson(readable);
  } catch (e) {
    const fatal = issue('fatal', 'structure', `Cannot parse ${source}: ${(e as Error).message}`);
    return { issues: [...problems.map((p) => issue('error', 'structure', p)), fatal] };
  }
  const root = String((resource as { resourceType?: unknown }).resourceType);
  const findings = tree ? [...structure, ...droppedFromTree(tree, resource)] : [];
  return {
    resource,
    issues: [
      ...problems.map((p) => issue('error', 'structure', p, root)),
      ...findings.map((f) => issue('error', 'structure', f.diagnostics, f.expression)),
    ],
  };
}
