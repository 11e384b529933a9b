/** Raw HTTP to the GraphQL endpoint, for requests `TestApp.gql` cannot make (bad bodies, odd headers). */
export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body; undefined when it is not JSON. */
  json: unknown;
}

export interface GraphQLErrorBody {
  message?: unknown;
  extensions?: { code?: unknown; [key: string]: unknown };
}

export const send = async (
  url: string,
  {
    method = 'POST',
    body,
    headers = { 'content-type': 'application/json' },
    timeoutMs = 10_000,
  }: {
    method?: string;
    body?: string | Uint8Array | ReadableStream<Uint8Array>;
    headers?: Record<string, string>;
    timeoutMs?: number;
  } = {},
): Promise<RawResponse> => {
  const response = await fetch(url, {
    method,
    headers,
    ...(body === undefined ? {} : { body, duplex: 'half' }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
};

/** The `errors` of a GraphQL response body, or undefined when it has none. */
export const errorsOf = (json: unknown): GraphQLErrorBody[] | undefined => {
  if (typeof json !== 'object' || json === null || !('errors' in json)) return undefined;
  const { errors } = json;
  return Array.isArray(errors) ? (errors as GraphQLErrorBody[]) : undefined;
};

export const bearer = (token: string): Record<string, string> => ({
  'content-type': 'application/json',
  authorization: `Bearer ${token}`,
});
