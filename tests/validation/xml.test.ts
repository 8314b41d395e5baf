// FHIR XML input: conversion to FHIR JSON, then the same validation as JSON.
import { describe, expect, it } from 'vitest';
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

  it('rejects malformed XML and untyped values', () => {
    expect(() =>
      fhirXmlToJson('<Patient xmlns="http://hl7.org/fhir"><active value="true"></Patient>'),
    ).toThrow();
    expect(() =>
      fhirXmlToJson('<Patient xmlns="http://hl7.org/fhir"><active value="yes"/></Patient>'),
    ).toThrow(/boolean/);
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
