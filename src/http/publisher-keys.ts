import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ConfigError, readPublisherKeysFile, weakPublisherKeys, type PublisherKey } from '../config.ts';
import type { Logger } from '../ops/logger.ts';

export type ReloadTrigger = 'SIGHUP' | 'file changed';

export interface ReloadResult {
  /** False when the file could not be read or was invalid: the keys in use stay as they were. */
  ok: boolean;
  /** True when the keys in use changed. */
  changed: boolean;
}

/** How long file events settle before the file is read: an editor's save or a secret swap is several events. */
const DEBOUNCE_MS = 200;

/**
 * The publisher keys in force. Fixed when they come from PUBLISHER_KEYS; with PUBLISHER_KEYS_FILE they are re-read
 * on `reload()` (SIGHUP, wired in main.ts) and when the file changes, so keys can be rotated without a restart. A
 * file that cannot be read or holds an invalid entry never takes keys away: the old ones stay and the reason is
 * logged.
 */
export class PublisherKeyRing {
  private keys: readonly PublisherKey[];
  private lastText: string | null = null;
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    initial: readonly PublisherKey[],
    private readonly file: string | null,
    private readonly logger: Logger,
  ) {
    this.keys = initial;
    if (file) {
      try {
        this.lastText = readFileSync(file, 'utf8');
      } catch {
        // read again on the first reload
      }
    }
  }

  /** The keys to check a request against, as of now. */
  current(): readonly PublisherKey[] {
    return this.keys;
  }

  /** Re-reads PUBLISHER_KEYS_FILE (nothing to do without one). */
  reload(trigger: ReloadTrigger): ReloadResult {
    if (!this.file) {
      this.logger.info({ trigger }, 'publisher keys come from PUBLISHER_KEYS: nothing to reload');
      return { ok: true, changed: false };
    }
    let text: string;
    let keys: PublisherKey[];
    try {
      text = readFileSync(this.file, 'utf8');
      // A file event with the same content (a touch, a neighbour in the directory) is not news.
      if (trigger === 'file changed' && text === this.lastText) return { ok: true, changed: false };
      keys = readPublisherKeysFile(this.file, () => text);
    } catch (err) {
      const reason = err instanceof ConfigError ? err.message : `PUBLISHER_KEYS_FILE: cannot read ${this.file}: ${(err as Error).message}`;
      this.logger.error({ trigger, file: this.file, reason, publishers: this.keys.map((k) => k.name) }, 'publisher keys NOT reloaded; the previous keys stay in force');
      return { ok: false, changed: false };
    }
    const changed = text !== this.lastText;
    this.lastText = text;
    this.keys = keys;
    this.logger.info({ trigger, file: this.file, changed, publishers: keys.map((k) => ({ name: k.name, scope: k.scope })) }, 'publisher keys reloaded');
    const weak = weakPublisherKeys(keys);
    if (weak.length > 0) this.logger.warn({ publishers: weak }, 'publisher keys shorter than 16 characters are easy to guess');
    return { ok: true, changed };
  }

  /**
   * Follows the file's directory rather than the file: editors and secret stores replace the file (a rename or a
   * symlink swap), which a watch on the old file would miss.
   */
  watch(): void {
    if (!this.file || this.watcher) return;
    const name = basename(this.file);
    try {
      this.watcher = watch(dirname(this.file), { persistent: false }, (_event, filename) => {
        if (filename !== null && filename !== name && !filename.startsWith('..')) return;
        if (this.timer) clearTimeout(this.timer);
        this.timer = setTimeout(() => {
          this.timer = null;
          this.reload('file changed');
        }, DEBOUNCE_MS);
        this.timer.unref();
      });
      this.watcher.on('error', (err) => this.logger.warn({ err, file: this.file }, 'stopped watching PUBLISHER_KEYS_FILE; reload with SIGHUP'));
    } catch (err) {
      this.logger.warn({ err, file: this.file }, 'cannot watch PUBLISHER_KEYS_FILE; reload with SIGHUP');
    }
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.watcher?.close();
    this.watcher = null;
  }
}
