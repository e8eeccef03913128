/**
 * Removes the user name and password from every URL in a text (`http://user:pass@host` →
 * `http://***@host`), so no output of the bucket setup ever shows URL credentials.
 */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi;

export function redactUrls(text: string): string {
  return text.replace(USERINFO, '$1***@');
}

/** True when the text holds a URL with userinfo. */
export function hasUrlCredentials(text: string): boolean {
  USERINFO.lastIndex = 0;
  const found = USERINFO.test(text);
  USERINFO.lastIndex = 0;
  return found;
}
