import { MemorySubscriptions } from '../../src/push/subscriptions.ts';
import { describeSubscriptionsContract } from './subscriptions.contract.ts';

describeSubscriptionsContract('memory', async () => {
  const subs = new MemorySubscriptions();
  return { subs, cleanup: () => subs.close() };
});
