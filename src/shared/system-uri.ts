/**
 * The schemes the HL7 validator takes as a system reference (InstanceValidator.isSystemReferenceValid:
 * `http:`, `https:`, `urn:`; for an Identifier also `ldap:`). Any other absolute URI (`ftp:`, `tag:`,
 * `mailto:`) is "not an absolute reference" there too: the validator judges systems by it, and the
 * mapper's local-id system base must pass it.
 */
export function isSystemReference(system: string, type: 'Coding' | 'Identifier'): boolean {
  return (
    system.startsWith('http:') ||
    system.startsWith('https:') ||
    system.startsWith('urn:') ||
    (type === 'Identifier' && system.startsWith('ldap:'))
  );
}
