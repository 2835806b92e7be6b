/**
 * The CSV reader keeps text as byte strings: one character per byte (latin1 decoding), so that
 * every byte of the input can be written back unchanged whatever its encoding. These convert
 * from that form to ordinary (Unicode) strings, for column names (matched against flags, written
 * to a stats file) and for text shown in messages.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true });
const NON_ASCII = /[^\x00-\x7f]/;

/** A byte string as text: decoded as UTF-8 when it is valid UTF-8, else read as Latin-1. */
export function shownText(bytes: string): string {
  if (!NON_ASCII.test(bytes)) return bytes;
  try {
    return utf8.decode(Buffer.from(bytes, 'latin1'));
  } catch {
    return bytes;
  }
}

/** A cell or id for a message: as text, cut short when long (a bad cell may be megabytes). */
export function cellForMessage(bytes: string, max = 80): string {
  const head = shownText(bytes.length > max * 4 ? bytes.slice(0, max * 4) : bytes);
  return head.length > max ? `${head.slice(0, max)}... (${bytes.length} bytes)` : head;
}
