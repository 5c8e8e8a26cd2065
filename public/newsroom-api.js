// The console's calls to the publisher API, and its answers put in words for an editor.
const KEY = 'newspush.publisherKey';
const num = new Intl.NumberFormat();

export const publisherKey = () => sessionStorage.getItem(KEY) ?? '';
export const setPublisherKey = (k) => sessionStorage.setItem(KEY, k);

/**
 * One call: `{ ok, status, json }`, or `{ ok: false, network }` when the server could not be reached.
 * The key goes along whenever one is set (the listing then includes retracted stories and their authors).
 */
export async function call(method, path, body) {
  const key = publisherKey();
  try {
    const res = await fetch(path, {
      method,
      headers: { ...(body ? { 'Content-Type': 'application/json' } : {}), ...(key ? { Authorization: `Bearer ${key}` } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { ok: res.ok, status: res.status, json: await res.json().catch(() => null) };
  } catch (err) {
    return { ok: false, status: 0, network: err };
  }
}

/** "2,314 live readers" in the editor's locale. */
export const count = (n, one, many) => `${num.format(n)} ${n === 1 ? one : many}`;

/** Where a version goes: "sent to 2,314 live readers and queued for 18,200 phones". */
export function reach(audience, { pushAsked }) {
  if (!audience) return '';
  const live = `sent to ${count(audience.live ?? 0, 'live reader', 'live readers')}`;
  if (audience.push > 0) return `${live} and queued for ${count(audience.push, 'phone', 'phones')}`;
  return `${live}; ${pushAsked ? 'no phone follows these topics with Web Push' : 'no Web Push alert (not asked for)'}`;
}

const DONE = { 'article.published': 'Published', 'article.updated': 'Updated', 'article.retracted': 'Retracted' };

/** The answer to a write, in words. */
export function describeWrite(json) {
  const a = json.article;
  if (!json.event) return `Nothing new to send: version ${num.format(a.version)} is already the current one.`;
  const what = DONE[json.event.type] ?? 'Done';
  const where = reach(json.audience, { pushAsked: a.notify || json.event.type === 'article.retracted' });
  return `${what} — version ${num.format(a.version)}${where ? `, ${where}` : ''}.`;
}

/** Why a call failed, in words (field errors are shown beside their fields as well). */
export function describeFailure(r) {
  if (r.network) return `Not sent: the server could not be reached (${r.network.message}). Check the connection and try again.`;
  const err = r.json?.error;
  switch (err?.code) {
    case 'validation_failed':
      return 'Not sent: check the fields marked below.';
    case 'stale_version':
      return `Not sent: someone else changed this story meanwhile${err.currentVersion ? ` (it is now version ${num.format(err.currentVersion)})` : ''}. Open it again from the list to see their change; your text is still in the form.`;
    case 'retracted':
      return 'Not sent: this story has been retracted and cannot be changed.';
    case 'unauthorized':
      return 'Not sent: the server did not accept the publisher key. Enter a valid key above.';
    case 'forbidden':
      return `Not sent: this publisher key may not do that (${err.message}).`;
    case 'rate_limited':
      return 'Not sent: too many requests just now. Wait a moment and try again.';
    case 'not_found':
      return 'Not found: this story no longer exists on the server.';
    default:
      return `Not sent: ${err?.message ?? `the server answered ${r.status}`}`;
  }
}
