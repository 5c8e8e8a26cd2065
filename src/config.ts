import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { topicSchema, type Topic } from './domain/topic.ts';

/** Where Web Push endpoints may point by default: the public push services. */
export const DEFAULT_PUSH_HOSTS = [
  'fcm.googleapis.com',
  '*.push.services.mozilla.com',
  '*.notify.windows.com',
  '*.push.apple.com',
];

export interface RedisSentinelConfig {
  sentinels: Array<{ host: string; port: number }>;
  /** The master group name the sentinels monitor. */
  name: string;
  password: string | null;
  sentinelPassword: string | null;
}

export interface PublisherKey {
  name: string;
  key: string;
  /** The topics this key may write (each with its subtopics); null: every topic. */
  scope: Topic[] | null;
}

/** The typed, validated configuration every part is built from. Only main.ts reads the environment. */
export interface Config {
  port: number;
  host: string;
  redisUrl: string | null;
  /** How long start-up waits for REDIS_URL to answer before giving up (exit 2). */
  redisConnectTimeoutSeconds: number;
  /** Redis found through Sentinel (REDIS_SENTINELS), instead of REDIS_URL. */
  redisSentinel: RedisSentinelConfig | null;
  /** A write is acknowledged only once this many replicas have it (WAIT); 0: on the primary's word. */
  redisMinReplicas: number;
  redisWaitTimeoutMs: number;
  publisherKeys: PublisherKey[];
  /** PUBLISHER_KEYS_FILE: where the keys are re-read from on SIGHUP or when the file changes; null: fixed keys. */
  publisherKeysFile: string | null;
  /** True when no PUBLISHER_KEYS were given and one key was made up at start. */
  generatedPublisherKey: boolean;
  /** Names of publishers whose keys are shorter than 16 characters (allowed, but warned about at start). */
  weakPublisherKeys: string[];
  vapid: { publicKey: string; privateKey: string; subject: string } | null;
  vapidSubject: string;
  pushEndpointHosts: string[];
  /** Hosts in pushEndpointHosts may resolve to private and loopback addresses (a push service inside the network). */
  pushAllowPrivateNetworks: boolean;
  /** With Redis: how long push work held by a node that stopped (an event read but not queued, a running job) waits before another node takes it. */
  pushTtlSeconds: number;
  /** With Redis: how long push work held by a node that stopped answering waits before another node takes it over. */
  pushTakeoverMs: number;
  historyMaxEvents: number;
  historyMaxAgeSeconds: number;
  articleTtlSeconds: number;
  ninjsHmacSecret: string | null;
  /** `scheme:code` or subject name -> topics. */
  ninjsTopicMap: Record<string, Topic[]>;
  ninjsDefaultTopic: Topic;
  topics: Topic[];
  /** Display names given in TOPICS (`world/middle-east=Middle East`), by topic. */
  topicNames: Record<Topic, string>;
  /** null: same origin only. */
  corsOrigins: string[] | null;
  rateLimitPublishPerSecond: number;
  rateLimitSubscribePerMinute: number;
  /** Alert receipts (POST /api/v1/push/receipts) per client address per minute. */
  rateLimitReceiptsPerMinute: number;
  /** Key of the receipt tokens' HMAC; null: one made once and kept in the store. */
  receiptSecret: string | null;
  /** History reads per client address per minute: /api/v1/events, and subscribes/streams opened with a cursor. */
  rateLimitHistoryPerMinute: number;
  /** Open Socket.IO and SSE connections per client address on a node; 0: no cap. */
  maxConnectionsPerAddress: number;
  /** Open Socket.IO and SSE connections on a node; 0: no cap. */
  maxConnections: number;
  /** A cursor with more matching events than this after it gets resync instead of a replay. */
  replayMaxEvents: number;
  /** Catch-ups running at once on a node; the others wait their turn. */
  replayConcurrency: number;
  /** A catching-up client that does not take a page within this many seconds is disconnected. */
  replayDrainTimeoutSeconds: number;
  trustProxy: boolean | number | string | undefined;
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number({ error: 'a whole number' }).int('a whole number').min(min).max(max);

const bool = z.enum(['true', 'false'], { error: 'true or false' }).transform((v) => v === 'true');

function read<T>(env: Env, name: string, schema: z.ZodType<T>, fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const r = schema.safeParse(raw.trim());
  if (!r.success) throw new ConfigError(name, r.error.issues.map((i) => i.message).join('; ') + ` (got ${JSON.stringify(raw)})`);
  return r.data;
}

function list(raw: string | undefined): string[] {
  return (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * Publisher keys from text: entries separated by commas or line breaks (blank lines and `#` comments are skipped),
 * each `name:key` (every topic) or `name:key:scope` with scope topics joined by `|` (`sport:<key>:sport|culture/film`).
 * A key may not contain `:`, `,`, `|` or whitespace. Throws a ConfigError naming `variable`.
 */
export function parsePublisherKeys(text: string, variable: string): PublisherKey[] {
  const entries = text.split(/[,\r\n]/).map((s) => s.trim()).filter((s) => s && !s.startsWith('#'));
  return entries.map((entry, i) => {
    const [name = '', key = '', scope, ...rest] = entry.split(':');
    const where = `entry ${i + 1} (${JSON.stringify(name)})`;
    if (rest.length > 0 || !/^[\w.-]+$/.test(name) || !/^[^\s|]+$/.test(key)) {
      throw new ConfigError(variable, `${where}: name:key or name:key:topic|topic pairs, e.g. cms:a-long-random-secret or sport:another-secret:sport|culture/film; a key may not contain ":", ",", "|" or spaces`);
    }
    if (scope === undefined) return { name, key, scope: null };
    const topics = scope.split('|').map((t) => t.trim());
    const bad = topics.filter((t) => !topicSchema.safeParse(t).success);
    if (bad.length > 0) throw new ConfigError(variable, `${where}: the scope ${JSON.stringify(scope)} is not topics joined by "|" (${bad.map((t) => JSON.stringify(t)).join(', ')} is not a topic)`);
    return { name, key, scope: [...new Set(topics)] };
  });
}

/** Names of publishers whose keys are shorter than 16 characters (allowed, but warned about). */
export function weakPublisherKeys(keys: readonly PublisherKey[]): string[] {
  return keys.filter((k) => k.key.length < 16).map((k) => k.name);
}

/** The keys in a PUBLISHER_KEYS_FILE: at least one, else a ConfigError naming the variable. */
export function readPublisherKeysFile(path: string, readFile: (path: string) => string): PublisherKey[] {
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    throw new ConfigError('PUBLISHER_KEYS_FILE', `cannot read ${path}: ${(e as Error).message}`);
  }
  const keys = parsePublisherKeys(text, 'PUBLISHER_KEYS_FILE');
  if (keys.length === 0) throw new ConfigError('PUBLISHER_KEYS_FILE', `${path} holds no keys`);
  return keys;
}

function publisherKeys(env: Env, randomKey: () => string, readFile: (path: string) => string): { keys: PublisherKey[]; generated: boolean; file: string | null } {
  const file = env.PUBLISHER_KEYS_FILE?.trim() || null;
  if (file) {
    if (env.PUBLISHER_KEYS?.trim()) throw new ConfigError('PUBLISHER_KEYS_FILE', 'set PUBLISHER_KEYS or PUBLISHER_KEYS_FILE, not both');
    return { keys: readPublisherKeysFile(file, readFile), generated: false, file };
  }
  const keys = parsePublisherKeys(env.PUBLISHER_KEYS ?? '', 'PUBLISHER_KEYS');
  if (keys.length === 0) return { keys: [{ name: 'default', key: randomKey(), scope: null }], generated: true, file: null };
  return { keys, generated: false, file: null };
}

const hostPattern = z.string().regex(/^(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/i, 'host or host:port, optionally starting with *.');

function topicMap(env: Env, readFile: (path: string) => string): Record<string, Topic[]> {
  const path = env.NINJS_TOPIC_MAP;
  if (!path) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFile(path));
  } catch (e) {
    throw new ConfigError('NINJS_TOPIC_MAP', `cannot read JSON from ${path}: ${(e as Error).message}`);
  }
  const r = z.record(z.string(), z.union([topicSchema, z.array(topicSchema).min(1)])).safeParse(parsed);
  if (!r.success) {
    throw new ConfigError('NINJS_TOPIC_MAP', 'a JSON object mapping "scheme:code" or names to a topic or a list of topics: ' + r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  return Object.fromEntries(Object.entries(r.data).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
}

/** TOPICS: comma-separated topics, each optionally with a display name (`world/middle-east=Middle East`). */
function siteTopics(raw: string | undefined): { topics: Topic[]; topicNames: Record<Topic, string> } {
  const topics: Topic[] = [];
  const topicNames: Record<Topic, string> = {};
  for (const entry of list(raw)) {
    const eq = entry.indexOf('=');
    const topic = (eq < 0 ? entry : entry.slice(0, eq)).trim();
    const name = eq < 0 ? '' : entry.slice(eq + 1).trim();
    if (!topicSchema.safeParse(topic).success) throw new ConfigError('TOPICS', `${JSON.stringify(topic)} is not a topic (1 to 4 lowercase slugs), in ${JSON.stringify(entry)}`);
    if (eq >= 0 && (name.length === 0 || name.length > 60 || /[\p{Cc}]/u.test(name))) {
      throw new ConfigError('TOPICS', `the name in ${JSON.stringify(entry)} must be 1 to 60 characters (topic=Name)`);
    }
    if (!topics.includes(topic)) topics.push(topic);
    if (name) topicNames[topic] = name;
  }
  return { topics, topicNames };
}

/** `host:port` (or `[v6]:port`, or a bare host on Sentinel's port 26379) entries of REDIS_SENTINELS. */
function sentinelAddresses(raw: string | undefined): RedisSentinelConfig['sentinels'] {
  return list(raw).map((entry) => {
    const m = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+))(?::(\d{1,5}))?$/i.exec(entry);
    const port = Number(m?.[3] ?? 26379);
    if (!m || port < 1 || port > 65535) throw new ConfigError('REDIS_SENTINELS', `${JSON.stringify(entry)} is not host:port (comma-separated, e.g. sentinel-1:26379,sentinel-2:26379)`);
    return { host: (m[1] ?? m[2])!, port };
  });
}

function redisSentinel(env: Env, redisUrl: string | null): RedisSentinelConfig | null {
  const sentinels = sentinelAddresses(env.REDIS_SENTINELS);
  const name = env.REDIS_SENTINEL_NAME?.trim() ?? '';
  const password = env.REDIS_PASSWORD ?? '';
  const sentinelPassword = env.REDIS_SENTINEL_PASSWORD ?? '';
  if (sentinels.length === 0) {
    if (name) throw new ConfigError('REDIS_SENTINEL_NAME', 'needs REDIS_SENTINELS (the sentinels to ask for that master)');
    if (password || sentinelPassword) {
      throw new ConfigError(password ? 'REDIS_PASSWORD' : 'REDIS_SENTINEL_PASSWORD', 'only used with REDIS_SENTINELS (with REDIS_URL, put the password in the URL)');
    }
    return null;
  }
  if (redisUrl) throw new ConfigError('REDIS_SENTINELS', 'set REDIS_URL or REDIS_SENTINELS, not both');
  if (!/^[\w.-]+$/.test(name)) throw new ConfigError('REDIS_SENTINEL_NAME', 'the master group name the sentinels monitor (e.g. mymaster), required with REDIS_SENTINELS');
  return { sentinels, name, password: password || null, sentinelPassword: sentinelPassword || null };
}

function trustProxy(raw: string | undefined): Config['trustProxy'] {
  if (raw === undefined || raw.trim() === '') return undefined;
  const v = raw.trim();
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return v; // an address list or a preset such as "loopback", as Express takes it
}

export interface ConfigSources {
  randomKey: () => string;
  readFile?: (path: string) => string;
}

/** Builds the configuration from an environment record; a bad value throws a ConfigError naming the variable. */
export function loadConfig(env: Env, sources: ConfigSources): Config {
  const redisUrl = read(env, 'REDIS_URL', z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL'), '') || null;
  const readFile = sources.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const sentinel = redisSentinel(env, redisUrl);
  const minReplicas = read(env, 'REDIS_MIN_REPLICAS', int(0, 100), 0);
  if (minReplicas > 0 && !redisUrl && !sentinel) throw new ConfigError('REDIS_MIN_REPLICAS', 'needs Redis (REDIS_URL or REDIS_SENTINELS)');
  const { keys, generated, file: keysFile } = publisherKeys(env, sources.randomKey, readFile);
  const vapidSubject = read(
    env,
    'VAPID_SUBJECT',
    z.string().regex(/^(mailto:[^@\s]+@[^@\s]+\.[^@\s]+|https:\/\/[^/\s]+\.[^/\s]+.*)$/, 'a mailto: address or an https: URL of a real domain (Apple refuses others)'),
    'mailto:newsroom@example.com',
  );
  const pub = env.VAPID_PUBLIC_KEY?.trim();
  const priv = env.VAPID_PRIVATE_KEY?.trim();
  if (Boolean(pub) !== Boolean(priv)) {
    throw new ConfigError(pub ? 'VAPID_PRIVATE_KEY' : 'VAPID_PUBLIC_KEY', 'set both VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY, or neither');
  }
  if (pub && !/^[A-Za-z0-9_-]{87}$/.test(pub)) throw new ConfigError('VAPID_PUBLIC_KEY', 'a base64url P-256 public key (87 characters)');
  if (priv && !/^[A-Za-z0-9_-]{43}$/.test(priv)) throw new ConfigError('VAPID_PRIVATE_KEY', 'a base64url P-256 private key (43 characters)');
  const hosts = list(env.PUSH_ENDPOINT_HOSTS).map((h) => {
    const r = hostPattern.safeParse(h);
    if (!r.success) throw new ConfigError('PUSH_ENDPOINT_HOSTS', `${JSON.stringify(h)} is not a host, host:port or *.domain`);
    return h.toLowerCase();
  });
  const { topics, topicNames } = siteTopics(env.TOPICS);
  const cors = list(env.CORS_ORIGINS);
  for (const o of cors) {
    if (o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o)) throw new ConfigError('CORS_ORIGINS', `${JSON.stringify(o)} is not an origin such as https://news.example.com`);
  }
  const logLevel = read(env, 'LOG_LEVEL', z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info');
  return {
    port: read(env, 'PORT', int(0, 65535), 3000),
    host: read(env, 'HOST', z.string().min(1), '0.0.0.0'),
    redisUrl,
    redisConnectTimeoutSeconds: read(env, 'REDIS_CONNECT_TIMEOUT_SECONDS', int(1, 600), 10),
    redisSentinel: sentinel,
    redisMinReplicas: minReplicas,
    redisWaitTimeoutMs: read(env, 'REDIS_WAIT_TIMEOUT_MS', int(1, 60_000), 1_000),
    publisherKeys: keys,
    publisherKeysFile: keysFile,
    generatedPublisherKey: generated,
    weakPublisherKeys: weakPublisherKeys(keys),
    vapid: pub && priv ? { publicKey: pub, privateKey: priv, subject: vapidSubject } : null,
    vapidSubject,
    pushEndpointHosts: hosts.length > 0 ? hosts : DEFAULT_PUSH_HOSTS,
    pushAllowPrivateNetworks: read(env, 'PUSH_ALLOW_PRIVATE_NETWORKS', bool, false),
    pushTtlSeconds: read(env, 'PUSH_TTL_SECONDS', int(0, 2_419_200), 21_600),
    pushTakeoverMs: read(env, 'PUSH_TAKEOVER_MS', int(1_000, 600_000), 10_000),
    historyMaxEvents: read(env, 'HISTORY_MAX_EVENTS', int(1, 10_000_000), 10_000),
    historyMaxAgeSeconds: read(env, 'HISTORY_MAX_AGE_SECONDS', int(1), 86_400),
    articleTtlSeconds: read(env, 'ARTICLE_TTL_SECONDS', int(1), 604_800),
    ninjsHmacSecret: env.NINJS_HMAC_SECRET ? env.NINJS_HMAC_SECRET : null,
    ninjsTopicMap: topicMap(env, readFile),
    ninjsDefaultTopic: read(env, 'NINJS_DEFAULT_TOPIC', topicSchema, 'news'),
    topics,
    topicNames,
    corsOrigins: cors.length > 0 ? cors : null,
    rateLimitPublishPerSecond: read(env, 'RATE_LIMIT_PUBLISH_PER_SECOND', int(0), 50),
    rateLimitSubscribePerMinute: read(env, 'RATE_LIMIT_SUBSCRIBE_PER_MINUTE', int(0), 20),
    rateLimitReceiptsPerMinute: read(env, 'RATE_LIMIT_RECEIPTS_PER_MINUTE', int(0), 60),
    receiptSecret: env.RECEIPT_SECRET ? env.RECEIPT_SECRET : null,
    rateLimitHistoryPerMinute: read(env, 'RATE_LIMIT_HISTORY_PER_MINUTE', int(0), 120),
    maxConnectionsPerAddress: read(env, 'MAX_CONNECTIONS_PER_ADDRESS', int(0), 200),
    maxConnections: read(env, 'MAX_CONNECTIONS', int(0), 0),
    replayMaxEvents: read(env, 'REPLAY_MAX_EVENTS', int(1, 1_000_000), 1_000),
    replayConcurrency: read(env, 'REPLAY_CONCURRENCY', int(1, 10_000), 32),
    replayDrainTimeoutSeconds: read(env, 'REPLAY_DRAIN_TIMEOUT_SECONDS', int(1, 3_600), 30),
    trustProxy: trustProxy(env.TRUST_PROXY),
    logLevel,
  };
}
