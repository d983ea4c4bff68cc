// @featuresignals/sdk: the Node SDK (FlagClient) and the shared evaluation engine.
export * from './eval/index.js';
export { FlagClient, SdkError, type FlagClientOptions, type IncarnationEvent, type ClientReason, type ClientResult } from './client/flag-client.js';
