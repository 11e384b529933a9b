/** The path of a request URL, without the query string (persisted query hashes, anything a client puts there). */
export const pathOf = (url: string): string => {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
};
