// A worker for the WorkerPool tests: echoes, or dies the way real workers can.
import { serveTasks } from '../../src/util/worker-main.js';

serveTasks<{ do: 'echo' | 'exit' | 'throw-async'; value?: number }, number>(async (m) => {
  if (m.do === 'exit') process.exit(3);
  if (m.do === 'throw-async') setImmediate(() => { throw new Error('uncaught in worker'); });
  if (m.do === 'throw-async') await new Promise(() => undefined);
  return m.value ?? 0;
});
