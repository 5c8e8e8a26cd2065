/**
 * The local push service of the tests, in its own process for the push bench (so its work does not count
 * against the sender). It fully checks the first pushes (VAPID signature, decryption), then only counts.
 * IPC: { type: 'subscribers', n } -> { type: 'subscribers', list }; { type: 'count' } -> { type: 'count', accepted, rejected }.
 */
import { PushService } from '../../tests/support/push-service.ts';

const push = await PushService.start();
push.checkUpTo = 300;
process.send?.({ type: 'ready', host: push.host });
process.on('message', (m: { type: string; n?: number }) => {
  if (m.type === 'subscribers') {
    const list = Array.from({ length: m.n ?? 0 }, () => push.subscriber().subscription);
    process.send?.({ type: 'subscribers', list });
  } else if (m.type === 'count') {
    process.send?.({ type: 'count', accepted: push.accepted, rejected: push.rejected.length, checked: push.received.length });
  } else if (m.type === 'reset') {
    push.accepted = 0;
    push.received.length = 0;
    process.send?.({ type: 'reset' });
  }
});
process.on('disconnect', () => process.exit(0));
