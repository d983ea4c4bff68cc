// Streaming archiving: pg_receivewal supervised (receiver.ts) into a spool that the shipper
// (shipper.ts) moves into the repository. The command layer (commands/stream) wires the push.
export { Receiver, type ReceiverOptions, type ReceiverState } from './receiver.js';
export { Shipper, type ShipperOptions, type StreamedState } from './shipper.js';
export { writtenExtent } from './wal-pages.js';
