// The bytes of a FHIR XML document → its text, and what is clearly wrong with its encoding declaration.
// Conservative: a document in valid UTF-8 that declares UTF-8 (any case) or nothing, with or without
// a byte order mark, is never flagged; nor is a document whose bytes agree with what it declares.

import { withoutByteOrderMark } from '../shared/byte-order-mark.ts';

/** The `encoding` of the XML declaration at the start of `text`, if it has one. */
export function declaredEncoding(text: string): string | undefined {
  const decl = /^<\?xml\s([^?]*)\?>/.exec(text)?.[1];
  return decl ? /\bencoding\s*=\s*(["'])([^"']*)\1/.exec(decl)?.[2] : undefined;
}

/** What is wrong with the name itself (`UTF8`, `UTF 8`): XML's EncName syntax, UTF-8 misspelled. */
export function encodingNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9._-]*$/.test(name))
    return `The XML declaration's encoding name '${name}' is malformed`;
  if (/^utf[-_.]?8$/i.test(name) && name.toUpperCase() !== 'UTF-8')
    return `The XML declaration's encoding '${name}' is not a valid encoding name (write 'UTF-8')`;
  return undefined;
}

const SINGLE_BYTE = /^(iso-8859-1|iso_8859-1|latin1|l1|us-ascii|ascii|windows-1252|cp1252)$/i;

/** Decodes `input`; `problems` says what is clearly wrong with the encoding (no values quoted). */
export function decodeXml(input: string | Uint8Array): { text: string; problems: string[] } {
  if (typeof input === 'string') {
    // Decoded by the caller: only the declaration's name can be judged.
    const text = withoutByteOrderMark(input);
    const name = declaredEncoding(text);
    const problem = name === undefined ? undefined : encodingNameProblem(name);
    return { text, problems: problem ? [problem] : [] };
  }
  const bytes = input;
  const utf16 = utf16Order(bytes);
  if (utf16) return decodeUtf16(bytes, utf16);
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  const body = bom ? bytes.subarray(3) : bytes;
  const name = declaredEncoding(Buffer.from(body.subarray(0, 200)).toString('latin1'));
  const problems: string[] = [];
  const nameProblem = name === undefined ? undefined : encodingNameProblem(name);
  if (nameProblem) problems.push(nameProblem);
  const utf8 = strictUtf8(body);
  if (name === undefined || nameProblem || /^utf-8$/i.test(name) || bom) {
    if (bom && name !== undefined && !nameProblem && !/^utf-8$/i.test(name))
      problems.push(`The document starts with a UTF-8 byte order mark but declares the encoding '${name}'`);
    if (utf8 === undefined)
      problems.push('The document is not valid UTF-8 (the encoding it declares or XML assumes)');
    return { text: utf8 ?? Buffer.from(body).toString('utf8'), problems };
  }
  if (/^utf-16(le|be)?$/i.test(name)) {
    problems.push(
      `The document declares the encoding '${name}' but its bytes are not UTF-16 (the declaration itself is single-byte)`,
    );
    return { text: utf8 ?? Buffer.from(body).toString('utf8'), problems };
  }
  const ascii = body.every((b) => b < 0x80);
  if (SINGLE_BYTE.test(name) && !ascii) {
    if (utf8 !== undefined) {
      problems.push(
        `The document declares the encoding '${name}' but its bytes are UTF-8 (multi-byte characters)`,
      );
      return { text: utf8, problems };
    }
    if (/ascii/i.test(name))
      problems.push(`The document declares the encoding '${name}' but holds bytes over 127`);
  }
  return { text: decodeAs(body, name, problems), problems };
}

function decodeAs(body: Uint8Array, name: string, problems: string[]): string {
  if (/^(iso-8859-1|iso_8859-1|latin1|l1)$/i.test(name)) return Buffer.from(body).toString('latin1');
  try {
    return new TextDecoder(name, { fatal: true }).decode(body);
  } catch (e) {
    problems.push(
      e instanceof RangeError
        ? `The document declares the encoding '${name}', which this reader does not support`
        : `The document is not valid '${name}' (the encoding it declares)`,
    );
    return Buffer.from(body).toString('utf8');
  }
}

function strictUtf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** UTF-16 by its byte order mark, or by `<` followed or preceded by a zero byte (XML 1.0 appendix F). */
function utf16Order(b: Uint8Array): { le: boolean; bom: boolean } | undefined {
  if (b[0] === 0xff && b[1] === 0xfe) return { le: true, bom: true };
  if (b[0] === 0xfe && b[1] === 0xff) return { le: false, bom: true };
  if (b[0] === 0x3c && b[1] === 0 && b[2] === 0x3f && b[3] === 0) return { le: true, bom: false };
  if (b[0] === 0 && b[1] === 0x3c && b[2] === 0 && b[3] === 0x3f) return { le: false, bom: false };
  return undefined;
}

function decodeUtf16(
  bytes: Uint8Array,
  order: { le: boolean; bom: boolean },
): { text: string; problems: string[] } {
  const problems: string[] = [];
  const body = order.bom ? bytes.subarray(2) : bytes;
  let text: string;
  try {
    text = new TextDecoder(order.le ? 'utf-16le' : 'utf-16be', { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    problems.push('The document is not valid UTF-16 (as its first bytes say)');
    text = new TextDecoder(order.le ? 'utf-16le' : 'utf-16be', { ignoreBOM: true }).decode(body);
  }
  const name = declaredEncoding(text);
  if (name !== undefined && !/^utf-16(le|be)?$/i.test(name))
    problems.push(`The document is UTF-16 (as its first bytes say) but declares the encoding '${name}'`);
  else if (name === undefined && !order.bom)
    problems.push('The document is UTF-16 without a byte order mark or an encoding declaration');
  return { text, problems };
}
