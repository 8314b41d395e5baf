// FHIR XML input: conversion to FHIR JSON, then the same validation as JSON.
import { describe, expect, it } from 'vitest';
import { droppedContent } from '../../src/validation/xml-dropped.ts';
import { fhirXmlToJson } from '../../src/validation/xml.ts';
import { errors, validator } from './engine/helpers.ts';

const DIV = '<div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div>';

describe('fhirXmlToJson', () => {
  it('converts arrays, primitives, primitive extensions, decimals, contained resources and the narrative', () => {
    const json = fhirXmlToJson(`<?xml version="1.0" encoding="UTF-8"?>
<!-- leading comment -->
<Observation xmlns="http://hl7.org/fhir">
  <!-- a comment the JSON form cannot carry -->
  <id value="o1"/>
  <text><status value="generated"/>${DIV}</text>
  <contained><Patient><id value="p"/><active value="true"/></Patient></contained>
  <status value="final"><extension url="http://example.org/x"><valueBoolean value="false"/></extension></status>
  <code><coding><system value="http://loinc.org"/><code value="8867-4"/></coding></code>
  <subject><reference value="#p"/></subject>
  <valueQuantity><value value="72.50"/><unit value="/min"/></valueQuantity>
</Observation>`);
    expect(json).toEqual({
      resourceType: 'Observation',
      id: 'o1',
      text: { status: 'generated', div: DIV },
      contained: [{ resourceType: 'Patient', id: 'p', active: true }],
      status: 'final',
      _status: { extension: [{ url: 'http://example.org/x', valueBoolean: false }] },
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: '#p' },
      valueQuantity: { value: 72.5, unit: '/min' },
    });
  });

  it('rejects a root outside the FHIR namespace', () => {
    expect(() => fhirXmlToJson('<Patient><active value="true"/></Patient>')).toThrow(
      "the root element must be in the FHIR namespace 'http://hl7.org/fhir' (found 'none')",
    );
  });

  it('rejects malformed XML and untyped values, without quoting the value', () => {
    expect(() =>
      fhirXmlToJson('<Patient xmlns="http://hl7.org/fhir"><active value="true"></Patient>'),
    ).toThrow();
    expect(() =>
      fhirXmlToJson('<Patient xmlns="http://hl7.org/fhir"><active value="secret"/></Patient>'),
    ).toThrow(/^Value should be a boolean$/);
  });

  it('never reads a DTD: a DOCTYPE with an internal subset is skipped and its entities are not expanded', () => {
    const doctype = '<?xml version="1.0"?>\n<!DOCTYPE Patient [<!ENTITY e "expanded">]>\n';
    expect(
      fhirXmlToJson(`${doctype}<Patient xmlns="http://hl7.org/fhir"><active value="true"/></Patient>`),
    ).toEqual({
      resourceType: 'Patient',
      active: true,
    });
    expect(() =>
      fhirXmlToJson(
        `${doctype}<Patient xmlns="http://hl7.org/fhir"><name><family value="&e;"/></name></Patient>`,
      ),
    ).toThrow(/^a reference to an entity other than XML's five \(no DTD may declare one\)/);
  });

  it('feeds the validator: an invariant violated in XML is reported as in JSON', async () => {
    const v = await validator();
    const org = fhirXmlToJson(`<Organization xmlns="http://hl7.org/fhir"><id value="o"/>
      <text><status value="generated"/>${DIV}</text><name value="Org"/>
      <address><use value="home"/><text value="Street 1"/></address></Organization>`);
    expect(errors(v.validate(org))).toEqual([
      "Organization.address[0] | org-2: An address of an organization can never be of use 'home'",
    ]);
  });
});

describe('droppedContent: what the conversion leaves out', () => {
  const dropped = (xml: string) => droppedContent(xml, fhirXmlToJson(xml));
  it('nothing for a document the converter takes whole (arrays, primitives with extensions, contained, narrative)', () => {
    const xml = `<Observation xmlns="http://hl7.org/fhir">
  <id value="o1"/>
  <text><status value="generated"/>${DIV}</text>
  <contained><Patient><id value="p"/><active value="true"/><name><given value="A"/><given value="B"/></name></Patient></contained>
  <status value="final"><extension url="http://example.org/x"><valueBoolean value="false"/></extension></status>
  <code><coding><system value="http://loinc.org"/><code value="8867-4"/></coding></code>
  <subject><reference value="#p"/></subject>
  <valueQuantity><value value="72.50"/><unit value="/min"/></valueQuantity>
</Observation>`;
    expect(dropped(xml)).toEqual([]);
  });
  it('an unknown element, an unknown attribute, text in an element and a single element given twice', () => {
    const xml = `<Patient xmlns="http://hl7.org/fhir"><id value="p" foo="1"/>
  <name><family value="Testinen"/><nickname value="T"/></name>
  <gender value="male">text</gender><birthDate value="1980-01-01"/><birthDate value="1981-01-01"/>
</Patient>`;
    expect(dropped(xml)).toEqual([
      { expression: 'Patient.id', diagnostics: "Undefined attribute '@foo' on id" },
      { expression: 'Patient.name[0].nickname', diagnostics: "Undefined element 'nickname'" },
      { expression: 'Patient.gender', diagnostics: 'Text content is not allowed in the FHIR element gender' },
      { expression: 'Patient.birthDate', diagnostics: "The element 'birthDate' can appear only once" },
    ]);
  });
  it('an element under a prefix for the FHIR namespace (which the converter does not read) is named; other namespaces are left to the structure check', () => {
    const xml = `<Patient xmlns="http://hl7.org/fhir"><f:active xmlns:f="http://hl7.org/fhir" value="true"/><x:shoe xmlns:x="urn:example:x"/><text><status value="generated"/>${DIV}</text></Patient>`;
    expect(dropped(xml)).toEqual([
      {
        expression: 'Patient.active',
        diagnostics:
          "The element 'f:active' puts the FHIR namespace under a prefix, which this reader does not read: write it without a prefix",
      },
    ]);
  });
  it('inside a Bundle entry resource and in an XHTML-free string the paths follow the JSON', () => {
    const xml = `<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/>
  <entry><fullUrl value="urn:uuid:5e1c5a0e-8a39-4d4c-9a1e-2f0d3b4c5d6e"/><resource><Patient><name><text value="x"><script>alert(1)</script></text></name></Patient></resource></entry>
</Bundle>`;
    expect(dropped(xml)).toEqual([
      {
        expression: 'Bundle.entry[0].resource.name[0].text.script',
        diagnostics: "Undefined element 'script'",
      },
    ]);
  });
});

describe('Validator.validateXml: one path for XML (conversion, document rules, structure, validation)', () => {
  const patient = (body: string, head = '') =>
    `${head}<Patient xmlns="http://hl7.org/fhir"><id value="p"/><text><status value="generated"/>${DIV}</text>${body}</Patient>`;

  it('a valid document, as bytes or text, gives what validate() gives its JSON', async () => {
    const v = await validator();
    const xml = patient(
      '<active value="true"/><name><family value="Mäkelä"/></name>',
      '<?xml version="1.0" encoding="UTF-8"?>',
    );
    expect(v.validateXml(Buffer.from(xml))).toEqual(v.validate(fhirXmlToJson(xml)));
    expect(v.validateXml(xml)).toEqual(v.validate(fhirXmlToJson(xml)));
  });

  it('merges every XML rule with the validation issues; messages carry names and positions, not values', async () => {
    const v = await validator();
    const xml = patient(
      '<gender value="male"/><name><family value="Sec&#x1;ret"/></name><x:shoe xmlns:x="urn:example:x"/><nickname value="Secret"/><birthDate value="2024-02-30"/>',
      '<?xml version="1.0" encoding="ISO-8859-1"?><!DOCTYPE Patient>\n',
    );
    expect(errors(v.validateXml(Buffer.from(`${xml.slice(0, -10)}<!-- Mäkelä --></Patient>`)))).toEqual([
      "Patient | The document declares the encoding 'ISO-8859-1' but its bytes are UTF-8 (multi-byte characters)",
      'Patient | A DOCTYPE declaration is not allowed in FHIR XML (line 1, column 44); its DTD and entities are not read',
      "Patient | The character reference '&#x1;' is not allowed in XML 1.0 (line 2, column 195)",
      "Patient.name[0] | As specified by profile http://hl7.org/fhir/StructureDefinition/Patient, Element 'name' is out of order (it must come before 'gender')",
      "Patient.shoe | Wrong namespace - expected 'http://hl7.org/fhir' on the element 'x:shoe'",
      "Patient.nickname | Undefined element 'nickname'",
      "Patient.birthDate | The value '2024-02-30' is not a valid date (that month has 29 days)",
    ]);
  });

  it('a document that cannot be read is one fatal issue naming the source', async () => {
    const v = await validator();
    const oo = v.validateXml(patient('<active value="true">'), { source: 'in.xml' });
    expect(oo.issue).toEqual([
      expect.objectContaining({
        severity: 'fatal',
        diagnostics: expect.stringMatching(/^Cannot parse in\.xml: Unexpected close tag/),
      }),
    ]);
  });
});
