// @featuresignals/sdk: the Node SDK (FlagClient) and the shared evaluation engine.
export * from './eval/index.js';
export { FlagClient, SdkError, type FlagClientOptions, type IncarnationEvent } from './client/flag-client.js';
