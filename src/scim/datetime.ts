// xsd:dateTime handling (RFC 7643 §2.3.5). Stored values are normalised to one UTC form
// (`toISOString`) so that the database can compare them as text, in both stores.

// Date, 'T', time, optional fraction, mandatory zone: xsd:dateTime as SCIM clients send it.
const XSD_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** The normalised UTC form of an xsd:dateTime, or undefined when the text is not one. */
export function normalizeDateTime(text: string): string | undefined {
  if (!XSD_DATETIME.test(text)) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return undefined;
  return new Date(ms).toISOString();
}
