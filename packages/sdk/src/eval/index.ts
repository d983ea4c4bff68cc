// The pure evaluation engine shared by the server and the SDK ('@featuresignals/sdk/eval').
export * from './types.js';
export { murmur3x86_32, murmur3String } from './murmur3.js';
export { bucketUser, BUCKETS } from './bucket.js';
export { goFormatFloat, attributeText } from './go-format.js';
export { matchCondition, matchAll } from './conditions.js';
export { regexProblem, re2Matches } from './re2.js';
export { goParseFloat } from './go-parse-float.js';
export { evaluate, evaluateAll, type EvaluateOptions } from './evaluate.js';
