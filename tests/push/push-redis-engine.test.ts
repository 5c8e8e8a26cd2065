import { describePushScenarios } from './scenarios.ts';

describePushScenarios('redis');
