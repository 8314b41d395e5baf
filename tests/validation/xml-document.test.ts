// FHIR XML document rules: no DOCTYPE, only characters XML allows, an encoding declaration that
// matches the bytes — and nothing flagged in a valid UTF-8 document.
import { describe, expect, it } from 'vitest';
import { documentProblems, withoutForbiddenReferences } from '../../src/validation/xml-document.ts';
import { decodeXml } from '../../src/validation/xml-encoding.ts';

const doc = (body: string, head = '') =>
  `${head}<Patient xmlns="http://hl7.org/fhir"><name><family value="${body}"/></name></Patient>`;
const decl = (encoding: string) => `<?xml version="1.0" encoding="${encoding}"?>`;

describe('documentProblems', () => {
  it('a DOCTYPE, with or without an internal subset, names its position', () => {
    expect(documentProblems(doc('F', `${decl('UTF-8')}\n<!DOCTYPE Patient [<!ENTITY e "x">]>\n`))).toEqual([
      'A DOCTYPE declaration is not allowed in FHIR XML (line 2, column 1); its DTD and entities are not read',
    ]);
    expect(documentProblems(doc('F', '<!-- <!DOCTYPE in a comment> -->'))).toEqual([]);
  });

  it('character references XML 1.0 forbids, and forbidden characters written as they are; never the value', () => {
    expect(documentProblems(doc('Se&#x1;cret&#0;'))).toEqual([
      "The character reference '&#x1;' is not allowed in XML 1.0 (line 1, column 61)",
      "The character reference '&#0;' is not allowed in XML 1.0 (line 1, column 70)",
    ]);
    expect(documentProblems(doc('a\u0007b'))).toEqual([
      'The character U+0007 is not allowed in XML (line 1, column 60)',
    ]);
    // XML 1.1 lets a reference name #x1 (never #x0); comments and CDATA hold no references.
    expect(documentProblems(doc('a&#x1;b', '<?xml version="1.1"?>'))).toEqual([]);
    expect(
      documentProblems(
        '<Patient xmlns="http://hl7.org/fhir"><!-- &#x1; --><id value="p"/><![CDATA[&#0;]]></Patient>',
      ),
    ).toEqual([]);
    expect(documentProblems(doc('a&#xA;&#9;&#x1F600;&#xE000;b'))).toEqual([]);
  });
});

describe('undeclared entities', () => {
  it('an entity other than the five of XML was never declared (no DTD may declare one): an error with its position', () => {
    expect(documentProblems(doc('A&reg;B&amp;C&lt;&gt;&quot;&apos;&#xE9;'))).toEqual([
      "The entity 'reg' was referenced, but not declared (line 1, column 60)",
    ]);
    expect(documentProblems(doc('x', '<!-- &nbsp; -->'))).toEqual([]);
  });
});

describe('withoutForbiddenReferences', () => {
  it('replaces the references documentProblems reports, so the readers (which refuse some) see the rest', () => {
    expect(withoutForbiddenReferences(doc('a&#0;&#x1;&#9;&#xE9;b'))).toBe(
      doc('a&#xFFFD;&#xFFFD;&#9;&#xE9;b'),
    );
    expect(withoutForbiddenReferences(doc('a&#x1;b', '<?xml version="1.1"?>'))).toBe(
      doc('a&#x1;b', '<?xml version="1.1"?>'),
    );
  });
});

describe('decodeXml', () => {
  const utf8 = (s: string) => Buffer.from(s, 'utf8');
  it('never flags valid UTF-8 declared UTF-8 (any case) or not declared, with or without a byte order mark', () => {
    for (const head of ['', decl('UTF-8'), decl('utf-8'), "<?xml version='1.0' encoding='Utf-8'?>"]) {
      for (const bom of ['', '\uFEFF']) {
        const r = decodeXml(utf8(`${bom}${doc('Mäkelä 😀', head)}`));
        expect(r).toEqual({ text: doc('Mäkelä 😀', head), problems: [] });
      }
    }
  });

  it('a declaration the bytes contradict: UTF-16 or ISO-8859-1 over UTF-8, UTF-8 that is not UTF-8', () => {
    expect(decodeXml(utf8(doc('Mäkelä', decl('UTF-16')))).problems).toEqual([
      "The document declares the encoding 'UTF-16' but its bytes are not UTF-16 (the declaration itself is single-byte)",
    ]);
    const latin1OverUtf8 = decodeXml(utf8(doc('Mäkelä', decl('ISO-8859-1'))));
    expect(latin1OverUtf8.problems).toEqual([
      "The document declares the encoding 'ISO-8859-1' but its bytes are UTF-8 (multi-byte characters)",
    ]);
    expect(latin1OverUtf8.text).toContain('Mäkelä');
    expect(decodeXml(Buffer.from(doc('Mäkelä', decl('UTF-8')), 'latin1')).problems).toEqual([
      'The document is not valid UTF-8 (the encoding it declares or XML assumes)',
    ]);
    expect(decodeXml(utf8(`\uFEFF${doc('F', decl('ISO-8859-1'))}`)).problems).toEqual([
      "The document starts with a UTF-8 byte order mark but declares the encoding 'ISO-8859-1'",
    ]);
  });

  it('a malformed encoding name, in bytes or in text', () => {
    const utf8Name = ["The XML declaration's encoding 'UTF8' is not a valid encoding name (write 'UTF-8')"];
    expect(decodeXml(utf8(doc('F', decl('UTF8')))).problems).toEqual(utf8Name);
    expect(decodeXml(doc('F', decl('UTF8'))).problems).toEqual(utf8Name);
    expect(decodeXml(utf8(doc('F', decl('UTF 8')))).problems).toEqual([
      "The XML declaration's encoding name 'UTF 8' is malformed",
    ]);
  });

  it('accepts what the bytes agree with: real ISO-8859-1, ASCII-only under a single-byte name, UTF-16 with its byte order mark', () => {
    expect(decodeXml(Buffer.from(doc('Mäkelä', decl('ISO-8859-1')), 'latin1'))).toEqual({
      text: doc('Mäkelä', decl('ISO-8859-1')),
      problems: [],
    });
    expect(decodeXml(utf8(doc('F', decl('US-ASCII')))).problems).toEqual([]);
    const utf16 = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from(doc('Mäkelä', decl('UTF-16')), 'utf16le'),
    ]);
    expect(decodeXml(utf16)).toEqual({ text: doc('Mäkelä', decl('UTF-16')), problems: [] });
    expect(decodeXml(doc('Mäkelä', decl('UTF-16'))).problems).toEqual([]); // text: decoded by the caller
  });
});
