import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parsePublisherKeys } from '../../src/config.ts';

const load = (env: Record<string, string>, files: Record<string, string> = {}) =>
  loadConfig(env, {
    randomKey: () => 'generated-key-0123456789',
    readFile: (p) => {
      if (!(p in files)) throw new Error(`ENOENT: ${p}`);
      return files[p]!;
    },
  });

function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('no ConfigError');
}

describe('publisher keys and their scopes', () => {
  it('name:key is every topic; name:key:scope is topics joined by |', () => {
    expect(load({ PUBLISHER_KEYS: 'cms:abcdefghijklmnop1234, sport:qrstuvwxyz0123456789:sport|culture/film' }).publisherKeys).toEqual([
      { name: 'cms', key: 'abcdefghijklmnop1234', scope: null },
      { name: 'sport', key: 'qrstuvwxyz0123456789', scope: ['sport', 'culture/film'] },
    ]);
  });

  it('a keys file takes one entry per line or comma-separated, with comments', () => {
    const c = load({ PUBLISHER_KEYS_FILE: '/run/keys' }, { '/run/keys': '# desks\ncms:abcdefghijklmnop1234\r\n\n  sport:qrstuvwxyz0123456789:sport , wire:0123456789abcdefghij\n' });
    expect(c.publisherKeysFile).toBe('/run/keys');
    expect(c.generatedPublisherKey).toBe(false);
    expect(c.publisherKeys.map((k) => [k.name, k.scope])).toEqual([['cms', null], ['sport', ['sport']], ['wire', null]]);
  });

  it.each([
    ['PUBLISHER_KEYS', { PUBLISHER_KEYS: 'sport:abcdefghijklmnop1234:Sport' }, /"Sport" is not a topic/],
    ['PUBLISHER_KEYS', { PUBLISHER_KEYS: 'sport:abcdefghijklmnop1234:' }, /not topics joined by "\|"/],
    ['PUBLISHER_KEYS', { PUBLISHER_KEYS: 'sport:abcdefghijklmnop1234:sport||world' }, /not a topic/],
    ['PUBLISHER_KEYS', { PUBLISHER_KEYS: 'cms:has:two:colons' }, /may not contain ":"/],
    ['PUBLISHER_KEYS', { PUBLISHER_KEYS: 'ok:abcdefghijklmnop1234,bad name:abcdefghijklmnop1234' }, /entry 2/],
    ['PUBLISHER_KEYS_FILE', { PUBLISHER_KEYS_FILE: '/missing' }, /cannot read \/missing/],
    ['PUBLISHER_KEYS_FILE', { PUBLISHER_KEYS_FILE: '/empty' }, /holds no keys/],
    ['PUBLISHER_KEYS_FILE', { PUBLISHER_KEYS_FILE: '/bad' }, /PUBLISHER_KEYS_FILE: entry 1/],
    ['PUBLISHER_KEYS_FILE', { PUBLISHER_KEYS_FILE: '/run/keys', PUBLISHER_KEYS: 'cms:abcdefghijklmnop1234' }, /not both/],
  ])('%s: %j stops start-up naming the variable', (variable, env, message) => {
    const err = configError(() => load(env, { '/empty': '# none yet\n', '/bad': 'cms:key:Not A Topic', '/run/keys': 'cms:abcdefghijklmnop1234' }));
    expect(err.variable).toBe(variable);
    expect(err.message).toMatch(message);
  });

  it('parses the same text the same way for the variable and the file (reloads use it)', () => {
    expect(parsePublisherKeys('a:k1:x|y/z', 'X')).toEqual([{ name: 'a', key: 'k1', scope: ['x', 'y/z'] }]);
    expect(parsePublisherKeys('', 'X')).toEqual([]);
  });
});
