import webpush from 'web-push';
import type { Config } from '../config.ts';
import type { Store } from '../storage/store.ts';

export interface Vapid {
  publicKey: string;
  privateKey: string;
  subject: string;
}

/**
 * The Web Push identity: from VAPID_* when set, else one pair made once and kept in the store, so every node and
 * every restart signs with the same key (subscriptions are bound to it in the browser).
 */
export async function loadVapid(config: Config, store: Store): Promise<Vapid> {
  if (config.vapid) return config.vapid;
  const fresh = webpush.generateVAPIDKeys();
  const kept = JSON.parse(await store.setIfAbsent('vapid-keys', JSON.stringify(fresh))) as { publicKey: string; privateKey: string };
  return { publicKey: kept.publicKey, privateKey: kept.privateKey, subject: config.vapidSubject };
}
