import { describeEditorApi } from './editor-scenarios.ts';

describeEditorApi('memory');
