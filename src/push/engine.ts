import { Counter, Histogram, type Registry } from 'prom-client';
import { systemClock, type Clock } from '../domain/clock.ts';
import type { Article } from '../domain/article.ts';
import type { NewsEvent } from '../domain/event.ts';
import { audienceOf } from '../domain/topic.ts';
import type { Logger } from '../ops/logger.ts';
import { fallbackFor, refusal, wantsWithdrawal } from './match.ts';
import type { ReceiptTokens } from '../reports/receipts.ts';
import type { ReportRecorder } from '../reports/recorder.ts';
import { C, failedField, type FailureClass } from '../reports/view.ts';
import { buildPayload, pushTopic, pushUrgency, RECEIPT_RESERVE, withReceipt } from './payload.ts';
import type { JobQueue } from './queue.ts';
import type { PushSender, SendResult } from './sender.ts';
import type { SubscriptionStore } from './subscriptions.ts';
import type { Subscription } from './types.ts';

/** Queued work: expand an event into batches; send a batch; retry one delivery later. */
export type PushJob =
  | { kind: 'fanout'; event: NewsEvent }
  | { kind: 'batch'; event: NewsEvent; ids: string[] }
  | { kind: 'retry'; event: NewsEvent; id: string; attempt: number };

export interface EngineOptions {
  ttlSeconds: number;
  /** The article as it is now (to stop sending an alert for an article retracted or superseded meanwhile). */
  current: (articleId: string) => Promise<Article | { status: string; supersededBy?: string | null } | null>;
  /** How long to remember who got an article (for its retraction): the article TTL. */
  articleTtlSeconds: number;
  /** Alert reports: counts gathered per event (flushed once per batch) and receipt tokens in each payload. */
  reports?: { recorder: ReportRecorder; tokens: ReceiptTokens };
  /** newspush_publication_to_acceptance_seconds */
  acceptance?: Histogram;
}

const BATCH = 250;
/** How long a withdrawal waits, so alerts already on their way land first and are replaced by it. */
const RETRACTION_DELAY_MS = 1_000;
/**
 * Requests in flight per batch; with WORKERS batches at a time that is 32 in flight per node. Measured
 * (docs/benchmarks.md): 8x the naive loop's throughput, while Socket.IO fan-out p99 stays within 1.6x of its
 * figure without a push run; 128 in flight pushed only 1.4x more alerts per second and tripled that p99.
 */
const CONCURRENCY = 16;
/** How often a running batch looks again whether its article was withdrawn or replaced. */
const RECHECK_MS = 250;
const WORKERS = 2;
/** Statuses that say: this subscription is gone. */
const GONE = new Set([404, 410]);
/** Statuses worth trying again later. */
const retryable = (r: SendResult) => r.status === 0 || r.status === 429 || r.status >= 500;

/**
 * The Web Push delivery engine. The node that the history group (storage/history-group.ts) hands an event to
 * queues its fan-out job; whichever node takes that job finds the audience through the topic index, applies each
 * subscriber's preferences and queues batches; batches send with bounded concurrency, record what is done (so a
 * batch re-run after a crash skips it), remove gone subscriptions, and queue a delayed retry for 429, 5xx and
 * network errors until the alert's TTL runs out.
 */
export class PushEngine {
  private readonly sent: Counter<'outcome' | 'status'>;
  private readonly latency: Histogram;

  constructor(
    private readonly subs: SubscriptionStore,
    private readonly queue: JobQueue<PushJob>,
    private readonly sender: PushSender,
    private readonly logger: Logger,
    private readonly opts: EngineOptions,
    registry: Registry,
    /** The time for quiet hours, expiry and latency. */
    private readonly clock: Clock = systemClock,
  ) {
    this.sent = new Counter({ name: 'newspush_push_requests_total', help: 'Push requests by outcome (delivered, gone, retry, rejected, expired, blocked, obsolete) and HTTP status', labelNames: ['outcome', 'status'] as const, registers: [registry] });
    this.latency = new Histogram({ name: 'newspush_push_delivery_seconds', help: 'From the event to the push service accepting the alert', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers: [registry] });
  }

  /** Starts taking jobs; returns a function that stops and waits for the running ones. */
  start(workers = WORKERS): () => Promise<void> {
    return this.queue.process((job) => this.run(job), workers);
  }

  /**
   * Queues the fan-out of an event that calls for an alert, once per event: the same event queued again (its
   * history entry handed out again after a node died) is refused by job id, also for an hour after it ran.
   */
  async queueFanout(event: NewsEvent): Promise<void> {
    const relevant = event.type === 'article.retracted' || event.article.notify;
    if (!relevant) return;
    // Jobs carry what the payload needs, not the article body (up to 256 KiB).
    const slim: NewsEvent = { ...event, article: { ...event.article, body: null } };
    // Same Topic, so whichever reaches the push service last is what the reader keeps: the withdrawal must be last.
    const delayMs = event.type === 'article.retracted' ? RETRACTION_DELAY_MS : 0;
    await this.queue.add({ kind: 'fanout', event: slim }, { jobId: `fanout-${event.id}`, delayMs, rememberSeconds: 3_600 });
  }

  private async run(job: PushJob): Promise<void> {
    if (job.kind === 'fanout') return this.fanout(job.event);
    if (job.kind === 'batch') return this.sendBatch(job.event, job.ids, 0);
    return this.sendBatch(job.event, [job.id], job.attempt);
  }

  private async fanout(event: NewsEvent): Promise<void> {
    const chain = event.article.supersedes ?? event.article.id;
    let ids: string[];
    const rec = this.opts.reports?.recorder;
    if (event.type === 'article.retracted') {
      // Recorded first: an alert delivered after the read below sees it and asks for its own withdrawal.
      await this.subs.markWithdrawn(chain, event, this.opts.articleTtlSeconds);
      const split = await this.withdrawalFor(event, await this.subs.getMany(await this.subs.deliveredTo(chain)), `batch-${event.id}`);
      ids = split.withdrawn;
      await this.queue.addBulk(split.fallbacks);
      rec?.add(event, C.matched, ids.length);
    } else {
      const now = new Date(this.clock());
      const candidates = await this.subs.getMany(await this.subs.followersOf(audienceOf(event.topics)));
      ids = [];
      for (const s of candidates) {
        const why = refusal(s, event, now);
        if (why === null) ids.push(s.id);
        if (why === 'topic' || why === 'notify') continue;
        rec?.add(event, C.matched);
        if (why) rec?.add(event, `skip.${why}`);
      }
    }
    const batches = [];
    for (let i = 0; i < ids.length; i += BATCH) batches.push({ data: { kind: 'batch' as const, event, ids: ids.slice(i, i + BATCH) }, opts: { jobId: `batch-${event.id}-${i / BATCH}` } });
    await this.queue.addBulk(batches);
    if (rec) {
      rec.add(event, C.recipients, ids.length);
      rec.add(event, C.fanoutDone);
      await rec.flush();
    }
    this.logger.info({ eventId: event.id, type: event.type, recipients: ids.length, batches: batches.length }, 'push fan-out queued');
  }

  /**
   * What a withdrawal sends to readers who got the article (at its fan-out, or later, when their alert landed after
   * it): nothing to those a better translation replaced it for; to readers of a withdrawn translation who accept
   * another version of its story that is still live, that version in its place (batch jobs named after `jobId`);
   * to the others, the withdrawal itself (`withdrawn`).
   */
  private async withdrawalFor(event: NewsEvent, got: Subscription[], jobId: string): Promise<{ withdrawn: string[]; fallbacks: Array<{ data: PushJob; opts: { jobId: string } }> }> {
    const withdrawn: string[] = [];
    const groups = new Map<string, string[]>();
    for (const s of got) {
      if (!wantsWithdrawal(s, event)) continue;
      const to = fallbackFor(s, event);
      if (to) groups.set(to, [...(groups.get(to) ?? []), s.id]);
      else withdrawn.push(s.id);
    }
    const fallbacks = [];
    for (const [id, ids] of groups) {
      const article = await this.opts.current(id);
      // Gone too meanwhile: they are told of the withdrawal rather than left with the withdrawn version.
      if (!article || !('headline' in article) || article.status !== 'published') {
        withdrawn.push(...ids);
        continue;
      }
      const replacement: NewsEvent = { ...event, type: 'article.updated', topics: article.topics, article: { ...article, body: null } };
      fallbacks.push({ data: { kind: 'batch' as const, event: replacement, ids }, opts: { jobId: `${jobId}-fallback-${id}` } });
    }
    return { withdrawn, fallbacks };
  }

  private async sendBatch(event: NewsEvent, ids: string[], attempt: number): Promise<void> {
    // Each try has its own record of what is done, so a retry is not mistaken for a repeat of the first try.
    const key = attempt === 0 ? event.id : `${event.id}/${attempt}`;
    const todo = await this.subs.getMany(await this.subs.unsent(key, ids));
    const reports = this.opts.reports;
    const payload = buildPayload(event, reports ? RECEIPT_RESERVE : 0);
    const headers = { ttlSeconds: this.opts.ttlSeconds, urgency: pushUrgency(event.article.urgency), topic: pushTopic(event) };
    const chain = event.article.supersedes ?? event.article.id;
    let done: string[] = [];
    let delivered: string[] = [];
    // Progress is recorded as it goes, so a batch taken over after a crash repeats at most what was in flight.
    const flush = async () => {
      const [d, g] = [done, delivered];
      done = [];
      delivered = [];
      await this.subs.markSent(key, d, this.opts.ttlSeconds);
      if (event.type === 'article.retracted' || g.length === 0) return;
      await this.subs.markDelivered(chain, g, this.opts.articleTtlSeconds);
      // Alerts that landed after the withdrawal read who got the article: they get now, after them, what its fan-out
      // gives (the withdrawal, or for a withdrawn translation the next version they accept).
      const withdrawal = await this.subs.withdrawalOf(chain);
      if (!withdrawal) return;
      const late = new Set(g);
      const jobId = `batch-${withdrawal.id}-late-${event.id}-${g[0]}`;
      const split = await this.withdrawalFor(withdrawal, todo.filter((s) => late.has(s.id)), jobId);
      const batches = split.withdrawn.length > 0 ? [{ data: { kind: 'batch' as const, event: withdrawal, ids: split.withdrawn }, opts: { jobId } }] : [];
      await this.queue.addBulk([...split.fallbacks, ...batches]);
      // They are recipients of the withdrawal too (its report counted only those who had the alert when it fanned out).
      reports?.recorder.add(withdrawal, C.matched, split.withdrawn.length);
      reports?.recorder.add(withdrawal, C.recipients, split.withdrawn.length);
    };
    // An alert for an article withdrawn or replaced meanwhile is not worth sending any more.
    const obsolete = async () => {
      if (event.type === 'article.retracted') return false;
      const now = await this.opts.current(event.article.id);
      return !now || now.status === 'retracted' || !!now.supersededBy;
    };
    let dropped = false;
    let next = 0;
    /** Stops the batch: what is not sent yet is counted as obsolete (superseded in the report), once. */
    const drop = () => {
      if (dropped) return;
      dropped = true;
      this.sent.inc({ outcome: 'obsolete', status: '0' }, todo.length - next);
      reports?.recorder.add(event, C.superseded, todo.length - next);
    };
    if (await obsolete()) drop();
    // Looked at again before a send once RECHECK_MS have passed (one look shared by every worker): a slow push
    // service must not let a whole batch go out for an article withdrawn while its first requests were waiting.
    let checkedAt = this.clock();
    let checking: Promise<void> | null = null;
    const recheck = () => {
      if (!checking && !dropped && this.clock() - checkedAt >= RECHECK_MS) {
        checking = obsolete()
          .then((gone) => {
            if (gone) drop();
          })
          .finally(() => {
            checkedAt = this.clock();
            checking = null;
          });
      }
      return checking ?? Promise.resolve();
    };
    const worker = async () => {
      while (next < todo.length && !dropped) {
        await recheck();
        if (dropped || next >= todo.length) break;
        const s = todo[next++]!;
        if (attempt === 0) reports?.recorder.add(event, C.sent);
        const r = await this.sender.send(s.endpoint, s.keys, reports ? withReceipt(payload, reports.tokens.make(event.id, s.id)) : payload, headers);
        const outcome = await this.settle(event, r, attempt, s.id);
        done.push(s.id);
        if (outcome === 'delivered') delivered.push(s.id);
        if (done.length >= 16) {
          await flush();
          if (!dropped && (await obsolete())) drop();
        }
        // Give Socket.IO clients a turn between sends even when responses come back at once.
        if (next % 16 === 0) await new Promise((res) => setImmediate(res));
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, todo.length) }, worker));
    await flush();
    // Written in order behind any flush in progress; the next batch does not wait for the report store's round trip.
    void reports?.recorder.flush();
  }

  /** Counts and acts on one answer: removes gone subscriptions, queues retries. */
  private async settle(event: NewsEvent, r: SendResult, attempt: number, id: string): Promise<'delivered' | 'other'> {
    const status = String(r.status);
    const rec = this.opts.reports?.recorder;
    const failed = (c: FailureClass) => rec?.add(event, failedField(c));
    if (r.status >= 200 && r.status < 300) {
      this.sent.inc({ outcome: 'delivered', status });
      const ms = this.clock() - Date.parse(event.at);
      this.latency.observe(ms / 1000);
      this.opts.acceptance?.observe(ms / 1000);
      rec?.accepted(event, ms);
      return 'delivered';
    }
    if (r.blocked) {
      failed('refused');
      this.sent.inc({ outcome: 'blocked', status });
      this.logger.warn({ id, eventId: event.id, error: r.error }, 'push endpoint refused at send time');
      return 'other';
    }
    if (GONE.has(r.status)) {
      this.sent.inc({ outcome: 'gone', status });
      failed('gone');
      await this.subs.delete(id);
      return 'other';
    }
    if (retryable(r)) {
      const delay = Math.min(r.retryAfterMs ?? 1000 * 2 ** attempt, 3_600_000);
      const expired = this.clock() + delay > Date.parse(event.at) + this.opts.ttlSeconds * 1000;
      if (expired) {
        this.sent.inc({ outcome: 'expired', status });
        rec?.add(event, C.expired);
        failed(r.status === 0 ? 'network' : r.status === 429 ? 'otherClient' : 'server');
        this.logger.info({ id, eventId: event.id, status: r.status }, 'push given up: past its TTL');
      } else {
        this.sent.inc({ outcome: 'retry', status });
        rec?.add(event, C.retried);
        await this.queue.add({ kind: 'retry', event, id, attempt: attempt + 1 }, { delayMs: delay, jobId: `retry-${event.id}-${id}-${attempt + 1}` });
      }
      return 'other';
    }
    // 400, 401, 403, 413 and the like: our request is wrong for this service; retrying would not help.
    this.sent.inc({ outcome: 'rejected', status });
    failed(r.status === 413 ? 'tooLarge' : 'otherClient');
    this.logger.warn({ id, eventId: event.id, status: r.status, error: r.error }, 'push rejected by the push service');
    return 'other';
  }
}
