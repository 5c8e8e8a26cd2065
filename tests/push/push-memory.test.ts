import { describePushScenarios } from './scenarios.ts';

describePushScenarios('memory');
