/**
 * The grammar of a dataset URI, and how one is shown. Pure, so the API, the activities and the
 * workflows share it. What a URI may reach is decided in activities/source-policy.ts.
 */

/** `dataset://<hash>`: an uploaded or earlier ingested version, named by the sha256 of its bytes */
export const DATASET_SCHEME = 'dataset://';
export const DATASET_HASH_PATTERN = /^[0-9a-f]{64}$/;
/** `sql://<name>`: a connection an admin configured in PERENNIAL_SQL_SOURCES */
export const SQL_SCHEME = 'sql://';
export const SQL_SOURCE_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;
export const MAX_DATASET_URI_LENGTH = 4096;

export const datasetUri = (hash: string) => `${DATASET_SCHEME}${hash}`;

/** The scheme of a URI (`http`, `file`, ...), or undefined for a path. */
export function schemeOf(uri: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1].toLowerCase();
}

/** Query parameters whose value is a credential: signed-URL signatures, tokens, keys, passwords. */
const SECRET_PARAM = /^(x-amz-.*|x-goog-.*|sig|signature|token|access_token|id_token|refresh_token|session_token|key|api_key|apikey|api-key|secret|client_secret|password|passwd|pwd|auth|authorization|credential|credentials|code)$/i;
const SECRET_WORD = /(token|secret|passw|signature|credential)/i;

/**
 * A source URI as it may be printed or stored: no user-info, and every query parameter that looks
 * like a credential replaced by REDACTED. A path comes back as it is.
 */
export function redactUri(uri: string): string {
  if (!schemeOf(uri)) return uri;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    // not parseable, so it cannot be taken apart: keep the scheme only
    return `${schemeOf(uri)}://REDACTED`;
  }
  if (url.username || url.password) {
    url.username = '';
    url.password = '';
  }
  for (const name of [...new Set(url.searchParams.keys())]) {
    if (SECRET_PARAM.test(name) || SECRET_WORD.test(name)) url.searchParams.set(name, 'REDACTED');
  }
  return url.toString();
}
