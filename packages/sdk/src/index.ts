// @featuresignals/sdk: the Node SDK (FlagClient) and the shared evaluation engine.
export * from './eval/index.js';
