// Loaded into a child with `node --import <this file>` (see maxRssOf in max-rss.ts): at exit the
// process writes its own peak resident set size (getrusage ru_maxrss, which counts every thread:
// worker threads share the process's memory) to FSDR_TEST_MAXRSS_FILE. Read at exit, the figure
// misses nothing, unlike sampling /proc from outside.
import { writeFileSync } from 'node:fs';

const out = process.env.FSDR_TEST_MAXRSS_FILE;
if (out) process.on('exit', () => writeFileSync(out, String(process.resourceUsage().maxRSS * 1024)));
