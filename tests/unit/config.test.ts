import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_PUSH_HOSTS, loadConfig } from '../../src/config.ts';

const load = (env: Record<string, string>, files: Record<string, string> = {}) =>
  loadConfig(env, { randomKey: () => 'generated-key-0123456789', readFile: (p) => {
    if (!(p in files)) throw new Error(`ENOENT: ${p}`);
    return files[p]!;
  } });

describe('configuration from the environment', () => {
  it('has the contract defaults', () => {
    const c = load({});
    expect(c).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      redisUrl: null,
      generatedPublisherKey: true,
      publisherKeys: [{ name: 'default', key: 'generated-key-0123456789' }],
      pushEndpointHosts: DEFAULT_PUSH_HOSTS,
      pushAllowPrivateNetworks: false,
      pushTakeoverMs: 10_000,
      pushTtlSeconds: 21_600,
      historyMaxEvents: 10_000,
      historyMaxAgeSeconds: 86_400,
      articleTtlSeconds: 604_800,
      ninjsHmacSecret: null,
      ninjsDefaultTopic: 'news',
      topics: [],
      corsOrigins: null,
      rateLimitPublishPerSecond: 50,
      rateLimitSubscribePerMinute: 20,
      rateLimitHistoryPerMinute: 120,
      replayMaxEvents: 1_000,
      replayConcurrency: 32,
      replayDrainTimeoutSeconds: 30,
      logLevel: 'info',
    });
  });

  it('reads the replay bounds and the history read budget', () => {
    expect(load({ REPLAY_MAX_EVENTS: '200', REPLAY_CONCURRENCY: '4', REPLAY_DRAIN_TIMEOUT_SECONDS: '10', RATE_LIMIT_HISTORY_PER_MINUTE: '0' })).toMatchObject({
      replayMaxEvents: 200, replayConcurrency: 4, replayDrainTimeoutSeconds: 10, rateLimitHistoryPerMinute: 0,
    });
  });

  it('reads every variable', () => {
    const c = load(
      {
        PORT: '8080', HOST: '127.0.0.1', REDIS_URL: 'redis://cache:6379/2', PUBLISHER_KEYS: 'cms:abcdefghijklmnop1234,wire:qrstuvwxyz0123456789',
        PUSH_ENDPOINT_HOSTS: 'push.example.com, *.push.example.org:8443', PUSH_TTL_SECONDS: '60', HISTORY_MAX_EVENTS: '50',
        HISTORY_MAX_AGE_SECONDS: '600', ARTICLE_TTL_SECONDS: '3600', NINJS_HMAC_SECRET: 's3cret', NINJS_TOPIC_MAP: '/etc/map.json',
        NINJS_DEFAULT_TOPIC: 'wire', TOPICS: 'world,sport/football', CORS_ORIGINS: 'https://news.example.com', RATE_LIMIT_PUBLISH_PER_SECOND: '0',
        RATE_LIMIT_SUBSCRIBE_PER_MINUTE: '5', TRUST_PROXY: '1', LOG_LEVEL: 'debug', VAPID_SUBJECT: 'https://news.example.com',
        PUSH_ALLOW_PRIVATE_NETWORKS: 'true', PUSH_TAKEOVER_MS: '2500',
      },
      { '/etc/map.json': JSON.stringify({ 'medtop:20000002': 'culture/arts', Sport: ['sport'] }) },
    );
    expect(c).toMatchObject({
      port: 8080, host: '127.0.0.1', redisUrl: 'redis://cache:6379/2', generatedPublisherKey: false,
      publisherKeys: [{ name: 'cms', key: 'abcdefghijklmnop1234' }, { name: 'wire', key: 'qrstuvwxyz0123456789' }],
      pushEndpointHosts: ['push.example.com', '*.push.example.org:8443'], pushTtlSeconds: 60, historyMaxEvents: 50,
      historyMaxAgeSeconds: 600, articleTtlSeconds: 3600, ninjsHmacSecret: 's3cret',
      ninjsTopicMap: { 'medtop:20000002': ['culture/arts'], Sport: ['sport'] }, ninjsDefaultTopic: 'wire',
      topics: ['world', 'sport/football'], corsOrigins: ['https://news.example.com'], rateLimitPublishPerSecond: 0,
      rateLimitSubscribePerMinute: 5, trustProxy: 1, logLevel: 'debug', vapidSubject: 'https://news.example.com',
      pushAllowPrivateNetworks: true, pushTakeoverMs: 2_500,
    });
  });

  it('reads display names in TOPICS', () => {
    const c = load({ TOPICS: 'world, world/middle-east=Middle East ,sport=Sport & games' });
    expect(c.topics).toEqual(['world', 'world/middle-east', 'sport']);
    expect(c.topicNames).toEqual({ 'world/middle-east': 'Middle East', sport: 'Sport & games' });
  });

  it.each([
    ['TOPICS', 'world=,sport'],
    ['TOPICS', 'World=World news'],
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['REDIS_URL', 'localhost:6379'],
    ['PUBLISHER_KEYS', 'no-colon-here'],
    ['PUBLISHER_KEYS', 'cms:'],
    ['VAPID_SUBJECT', 'newsroom@example.com'],
    ['PUSH_ENDPOINT_HOSTS', 'https://push.example.com/'],
    ['PUSH_ALLOW_PRIVATE_NETWORKS', 'yes'],
    ['PUSH_TAKEOVER_MS', '500'],
    ['HISTORY_MAX_EVENTS', '0'],
    ['HISTORY_MAX_AGE_SECONDS', '-5'],
    ['NINJS_TOPIC_MAP', '/missing.json'],
    ['NINJS_DEFAULT_TOPIC', 'Top Stories'],
    ['TOPICS', 'world,Sport'],
    ['CORS_ORIGINS', 'news.example.com'],
    ['RATE_LIMIT_PUBLISH_PER_SECOND', 'lots'],
    ['RATE_LIMIT_HISTORY_PER_MINUTE', '-1'],
    ['MAX_CONNECTIONS_PER_ADDRESS', '-1'],
    ['MAX_CONNECTIONS', 'plenty'],
    ['REPLAY_MAX_EVENTS', '0'],
    ['REPLAY_CONCURRENCY', 'many'],
    ['REPLAY_DRAIN_TIMEOUT_SECONDS', '0'],
    ['LOG_LEVEL', 'verbose'],
  ])('%s=%s stops start-up with a message naming the variable', (name, value) => {
    let err: unknown;
    try {
      load({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(name);
    expect((err as Error).message).toContain(name);
  });

  it('accepts short publisher keys but names them so start-up can warn', () => {
    expect(load({ PUBLISHER_KEYS: 'cms:short,wire:a-long-enough-secret' }).weakPublisherKeys).toEqual(['cms']);
  });

  it('finds Redis through Sentinel instead of a URL, and asks for replicas only with Redis', () => {
    expect(load({})).toMatchObject({ redisSentinel: null, redisMinReplicas: 0, redisWaitTimeoutMs: 1000 });
    expect(
      load({
        REDIS_SENTINELS: 'sentinel-1:26380, 10.0.0.7,[::1]:26381', REDIS_SENTINEL_NAME: 'newsroom', REDIS_PASSWORD: 'p', REDIS_SENTINEL_PASSWORD: 's',
        REDIS_MIN_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '250',
      }),
    ).toMatchObject({
      redisUrl: null,
      redisSentinel: {
        sentinels: [{ host: 'sentinel-1', port: 26380 }, { host: '10.0.0.7', port: 26379 }, { host: '::1', port: 26381 }],
        name: 'newsroom', password: 'p', sentinelPassword: 's',
      },
      redisMinReplicas: 1,
      redisWaitTimeoutMs: 250,
    });
    const refused: Array<[Record<string, string>, string]> = [
      [{ REDIS_URL: 'redis://cache:6379', REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_NAME: 'm' }, 'REDIS_SENTINELS'],
      [{ REDIS_SENTINELS: 's:26379' }, 'REDIS_SENTINEL_NAME'],
      [{ REDIS_SENTINELS: 'http://s:26379', REDIS_SENTINEL_NAME: 'm' }, 'REDIS_SENTINELS'],
      [{ REDIS_SENTINELS: 's:99999', REDIS_SENTINEL_NAME: 'm' }, 'REDIS_SENTINELS'],
      [{ REDIS_SENTINEL_NAME: 'm' }, 'REDIS_SENTINEL_NAME'],
      [{ REDIS_URL: 'redis://cache:6379', REDIS_PASSWORD: 'p' }, 'REDIS_PASSWORD'],
      [{ REDIS_MIN_REPLICAS: '1' }, 'REDIS_MIN_REPLICAS'],
      [{ REDIS_URL: 'redis://cache:6379', REDIS_MIN_REPLICAS: '-1' }, 'REDIS_MIN_REPLICAS'],
      [{ REDIS_URL: 'redis://cache:6379', REDIS_WAIT_TIMEOUT_MS: '0' }, 'REDIS_WAIT_TIMEOUT_MS'],
    ];
    for (const [env, variable] of refused) {
      expect(() => load(env), JSON.stringify(env)).toThrow(ConfigError);
      expect(() => load(env), JSON.stringify(env)).toThrow(new RegExp(`^${variable}:`));
    }
  });

  it('refuses half a VAPID pair and a topic map that is not topics', () => {
    expect(() => load({ VAPID_PUBLIC_KEY: 'B'.repeat(87) })).toThrow(/VAPID_PRIVATE_KEY/);
    expect(() => load({ VAPID_PUBLIC_KEY: 'abc', VAPID_PRIVATE_KEY: 'k'.repeat(43) })).toThrow(/VAPID_PUBLIC_KEY/);
    expect(() => load({ NINJS_TOPIC_MAP: '/m.json' }, { '/m.json': '{"x": "Not A Topic"}' })).toThrow(/NINJS_TOPIC_MAP/);
  });
});
