// FHIR XML's element structure against the R4 definitions: definition order and namespaces.
import { describe, expect, it } from 'vitest';
import { compilePrimitive } from '../../src/validation/primitives.ts';
import { structureFindings } from '../../src/validation/xml-structure.ts';
import { readXmlTree, withValueAttributes } from '../../src/validation/xml-tree.ts';
import { validator } from './engine/helpers.ts';

const DIV = '<div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div>';
const FHIR = 'xmlns="http://hl7.org/fhir"';

async function findings(xml: string): Promise<string[]> {
  const v = await validator();
  const tree = readXmlTree(xml);
  if (!tree) throw new Error('test document not readable');
  const definitions = (t: string) => v.registry.structureDefinition(t);
  const primitives = (t: string) => {
    const sd = definitions(t);
    return sd?.kind === 'primitive-type' ? compilePrimitive(sd) : undefined;
  };
  return structureFindings(tree, { definitions, primitives }).map(
    (f) => `${f.expression} | ${f.diagnostics}`,
  );
}

const order = (sd: string, name: string, before: string) =>
  `As specified by profile http://hl7.org/fhir/StructureDefinition/${sd}, Element '${name}' is out of order (it must come before '${before}')`;

describe('element order (R4 xml.html: "elements must appear in the order given")', () => {
  it('nothing for a document in definition order: choices, primitives with extensions, contained, narrative, nested items', async () => {
    expect(
      await findings(`<Observation ${FHIR}><id value="o"/><meta><profile value="http://example.org/p"/></meta>
  <text><status value="generated"/>${DIV}</text>
  <contained><Patient><id value="p"/><extension url="http://example.org/x"><valueString value="a"/></extension><active value="true"/><name><family value="F"/><given value="A"/><given value="B"/></name></Patient></contained>
  <extension url="http://example.org/e"><extension url="a"><valueBoolean value="true"/></extension><extension url="b"><valueInteger value="1"/></extension></extension>
  <status value="final"><extension url="http://example.org/s"><valueCode value="x"/></extension></status>
  <code><coding><system value="http://loinc.org"/><code value="8867-4"/></coding><text value="t"/></code>
  <subject><reference value="#p"/></subject><effectiveDateTime value="2024-01-01"/>
  <valueQuantity><value value="72"/><unit value="/min"/></valueQuantity>
  <component><code><text value="c"/></code><valueString value="v"/></component>
</Observation>`),
    ).toEqual([]);
    expect(
      await findings(`<Questionnaire ${FHIR}><status value="draft"/>
  <item><linkId value="1"/><type value="group"/><item><linkId value="1.1"/><type value="string"/></item></item></Questionnaire>`),
    ).toEqual([]);
  });

  it('an element before one the definition puts earlier is an error at the element, in resources and datatypes alike', async () => {
    expect(
      await findings(
        `<Patient ${FHIR}><gender value="male"/><name><given value="A"/><family value="F"/><given value="B"/></name><active value="true"/></Patient>`,
      ),
    ).toEqual([
      `Patient.name[0] | ${order('Patient', 'name', 'gender')}`,
      `Patient.name[0].family | ${order('HumanName', 'family', 'given')}`,
      `Patient.active | ${order('Patient', 'active', 'gender')}`,
    ]);
  });

  it('extension and modifierExtension come where the definition puts them; an extension orders its own children as Extension', async () => {
    expect(
      await findings(
        `<Patient ${FHIR}><active value="true"/><extension url="http://example.org/x"><valueString value="a"/></extension><modifierExtension url="http://example.org/m"><valueBoolean value="true"/></modifierExtension></Patient>`,
      ),
    ).toEqual([
      `Patient.extension[0] | ${order('Patient', 'extension', 'active')}`,
      `Patient.modifierExtension[0] | ${order('Patient', 'modifierExtension', 'active')}`,
    ]);
    expect(
      await findings(
        `<Patient ${FHIR}><modifierExtension url="http://example.org/m"><valueBoolean value="true"/></modifierExtension><extension url="http://example.org/x"><valueString value="a"/><extension url="y"><valueBoolean value="true"/></extension></extension></Patient>`,
      ),
    ).toEqual([
      `Patient.extension[0] | ${order('Patient', 'extension', 'modifierExtension')}`,
      `Patient.extension[0].extension[0] | ${order('Extension', 'extension', 'value[x]')}`,
    ]);
  });

  it('a contained or Bundle entry resource is ordered as its own type; a contentReference element as the element it names', async () => {
    expect(
      await findings(`<Bundle ${FHIR}><type value="collection"/>
  <entry><resource><Patient><active value="true"/><id value="x"/></Patient></resource><fullUrl value="urn:uuid:5e1c5a0e-8a39-4d4c-9a1e-2f0d3b4c5d6e"/></entry></Bundle>`),
    ).toEqual([
      `Bundle.entry[0].resource.id | ${order('Patient', 'id', 'active')}`,
      `Bundle.entry[0].fullUrl | ${order('Bundle', 'fullUrl', 'resource')}`,
    ]);
    expect(
      await findings(
        `<Observation ${FHIR}><contained><Patient><name><family value="F"/></name><active value="true"/></Patient></contained><status value="final"/><code><text value="c"/></code></Observation>`,
      ),
    ).toEqual([`Observation.contained[0].active | ${order('Patient', 'active', 'name')}`]);
    expect(
      await findings(
        `<Questionnaire ${FHIR}><status value="draft"/><item><linkId value="1"/><type value="group"/><item><type value="string"/><linkId value="1.1"/></item></item></Questionnaire>`,
      ),
    ).toEqual([`Questionnaire.item[0].item[0].linkId | ${order('Questionnaire', 'linkId', 'type')}`]);
  });
});

describe('namespaces', () => {
  it('a child in another namespace than FHIR is an error, prefixed or by a default namespace', async () => {
    expect(
      await findings(
        `<Patient ${FHIR}><x:shoe xmlns:x="urn:example:x"/><active xmlns="urn:example:y" value="true"/><name><family xmlns="" value="F"/></name></Patient>`,
      ),
    ).toEqual([
      "Patient.shoe | Wrong namespace - expected 'http://hl7.org/fhir' on the element 'x:shoe'",
      "Patient.active | Wrong namespace - expected 'http://hl7.org/fhir' on the element 'active'",
      "Patient.name[0].family | Wrong namespace - expected 'http://hl7.org/fhir' on the element 'family'",
    ]);
  });

  it("the narrative's div must be XHTML's, and an XHTML div anywhere else is in the wrong namespace", async () => {
    expect(
      await findings(
        `<Patient ${FHIR}><text><status value="generated"/><div><p>x</p></div></text></Patient>`,
      ),
    ).toEqual([
      "Patient.text.div | Wrong namespace - expected 'http://www.w3.org/1999/xhtml' on the element 'div'",
    ]);
    expect(await findings(`<Patient ${FHIR}>${DIV}<active value="true"/></Patient>`)).toEqual([
      "Patient.div | Wrong namespace - expected 'http://hl7.org/fhir' on the element 'div'",
    ]);
  });

  it('a contained resource outside the FHIR namespace is not a FHIR resource', async () => {
    expect(
      await findings(
        `<Observation ${FHIR}><contained><Patient xmlns="urn:example:x"/></contained><status value="final"/></Observation>`,
      ),
    ).toEqual([
      "Observation.contained[0] | The element 'Patient' is not a FHIR resource in the namespace 'http://hl7.org/fhir'",
    ]);
  });
});

describe("a number's text as written (the JSON the converter makes keeps none)", () => {
  it('is held to its type regex: a leading zero is no integer; an exact decimal and -0 are fine', async () => {
    const obs = (value: string) =>
      `<Observation ${FHIR}><status value="final"/><code><text value="x"/></code>${value}</Observation>`;
    expect(await findings(obs('<valueInteger value="007"/>'))).toEqual([
      'Observation.value.ofType(integer) | The value as written is not a valid integer',
    ]);
    expect(await findings(obs('<valueInteger value="-0"/>'))).toEqual([]);
    expect(await findings(obs('<valueQuantity><value value="1.50"/></valueQuantity>'))).toEqual([]);
    expect(
      await findings(
        `<Questionnaire ${FHIR}><status value="draft"/><item><linkId value="1"/><type value="string"/><maxLength value="010"/></item></Questionnaire>`,
      ),
    ).toEqual(['Questionnaire.item[0].maxLength | The value as written is not a valid integer']);
  });
});

describe('values the converter refuses', () => {
  const obs = (inner: string) =>
    `<?xml version="1.0"?>\n<!-- a comment holding <valueInteger value="2"> -->\n<Observation ${FHIR}><status value="final"/><code><text value="x"/></code>${inner}</Observation>`;
  const errors = async (xml: string) =>
    (await validator())
      .validateXml(xml)
      .issue?.filter((i) => i.severity !== 'warning')
      .map((i) => `${i.severity} ${i.expression?.[0]} | ${i.diagnostics}`);

  it('a number or boolean not as its type is written is an error at its element, and the rest is still judged', async () => {
    for (const written of ['1.0', '1e2', '+1', '1.5', 'abc'])
      expect(
        await errors(
          obs(
            `<valueInteger value="${written}"/><note><time value="2020-13-01T00:00:00Z"/><text value="n"/></note>`,
          ),
        ),
        written,
      ).toEqual([
        'error Observation.value.ofType(integer) | The value as written is not a valid integer',
        "error Observation.note[0].time | The value '2020-13-01T00:00:00Z' is not a valid dateTime",
      ]);
    expect(
      await errors(obs('<component><code><text value="c"/></code><valueBoolean value="yes"/></component>')),
    ).toEqual([
      'error Observation.component[0].value.ofType(boolean) | The value as written is not a valid boolean',
    ]);
  });

  it("a choice element's finding is at `name.ofType(type)`, where the same problem in JSON is", async () => {
    const v = await validator();
    const xml = `<Observation ${FHIR}><id value="o1"/><text><status value="generated"/>${DIV}</text>
  <status value="final"/><code><text value="x"/></code>
  <valueQuantity><value value="1.50"/><unit value="kg"/></valueQuantity>
  <component><code><text value="c"/></code><valueInteger value="007"/></component>
  <component><code><text value="d"/></code><valueString value="  "/></component>
</Observation>`;
    const at = (oo: { issue?: { expression?: string[] }[] }) =>
      (oo.issue ?? []).map((i) => i.expression?.[0]);
    expect(at(v.validateXml(xml))).toEqual([
      'Observation.component[0].value.ofType(integer)',
      'Observation.component[1].value.ofType(string)',
    ]);
    const json = {
      resourceType: 'Observation',
      id: 'o1',
      text: { status: 'generated', div: DIV },
      status: 'final',
      code: { text: 'x' },
      component: [{ code: { text: 'c' }, valueInteger: 'x' }],
    };
    expect(at(v.validate(json))).toContain('Observation.component[0].value.ofType(integer)');
  });

  it('a decimal with an exponent is valid (the converter alone refuses it) and keeps its value', async () => {
    expect(await errors(obs("<valueQuantity><value value='1.5E2'/></valueQuantity>"))).toEqual([]);
    const tree = readXmlTree(obs('<valueQuantity><value value="1.5E2"/></valueQuantity>'));
    const value = tree?.elements.at(-1)?.elements[0];
    expect(value?.name).toBe('value');
    const text = withValueAttributes(
      obs('<valueQuantity><value value="1.5E2"/></valueQuantity>'),
      tree!,
      new Map([[value!, '150']]),
    );
    expect(text).toContain('<value value="150"/>');
    expect(text).toContain('<!-- a comment holding <valueInteger value="2"> -->');
  });

  it('keeps the other attributes as written, `$` included, and either quote around the value', () => {
    const xml = `<Observation ${FHIR}><valueInteger id="a$1$&amp;" value='1.0'/></Observation>`;
    const tree = readXmlTree(xml)!;
    expect(withValueAttributes(xml, tree, new Map([[tree.elements[0]!, '1']]))).toBe(
      `<Observation ${FHIR}><valueInteger id="a$1$&amp;" value="1"/></Observation>`,
    );
  });

  it('replaces nothing when the text and the tree do not line up', () => {
    const xml = obs('<valueInteger value="1.0"/>');
    const tree = readXmlTree(xml)!;
    const other = readXmlTree(obs('<valueString value="1.0"/>'))!;
    expect(withValueAttributes(xml, other, new Map([[other.elements.at(-1)!, '1']]))).toBeUndefined();
    expect(withValueAttributes(xml, tree, new Map([[tree.elements.at(-1)!, '1']]))).toContain(
      '<valueInteger value="1"/>',
    );
  });
});
